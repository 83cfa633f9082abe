#ifndef RTGW_API_JOB_WATCH_HPP_
#define RTGW_API_JOB_WATCH_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "http/response_stream.hpp"
#include "storage/job_feed_store.hpp"

// Watching a tenant's job changes (GET /api/runtime/jobs:watch, Server-Sent
// Events) and the projection long poll, served from the store's change feed
// (storage/job_feed_store.hpp). docs/contracts/http-api.md "Watching jobs".
namespace rtgw::api {

// Every limit is a serve flag (config/serve_config.cpp).
struct WatchOptions {
  std::size_t max_watchers = 10'000;            // --max-watchers: streams + long polls, process
  std::size_t max_watchers_per_tenant = 2'000;  // --max-watchers-per-tenant
  std::chrono::milliseconds heartbeat{15'000};  // --watch-heartbeat: ": keepalive" comment
  std::chrono::milliseconds retry{3'000};       // the `retry:` field sent first
  std::size_t buffer_bytes = 256 << 10;         // --watch-buffer-bytes: per stream, then dropped
  std::size_t recent_per_tenant = 4'096;        // changes kept in memory per watched tenant
  // A safety re-read of every watched tenant, in case a notification was lost.
  std::chrono::milliseconds recheck{5'000};
};

// What a watch selects: all given fields must match (job_ids: any of them).
struct WatchFilter {
  std::optional<std::string> workspace_id;
  std::vector<std::string> job_ids;
  std::optional<std::string> management_node_id;
  std::optional<std::string> requested_by;
  bool Matches(const storage::ChangeRecord& change) const;
};

// What an opaque cursor (this file's change cursors, job_queries.cpp's list
// cursors) carries to name its tenant without showing it: the first 8 bytes of
// SHA-256(tenant_id), so one tenant's cursor does not decode for another.
std::string CursorTenantFingerprint(const std::string& tenant_id);

// Opaque change cursors: "c1." + base64url of (tenant fingerprint, seq). A
// cursor made for another tenant, or not made by this server, is invalid.
std::string EncodeChangeCursor(const std::string& tenant_id, std::int64_t seq);
// nullopt: malformed or another tenant's.
std::optional<std::int64_t> DecodeChangeCursor(const std::string& tenant_id,
                                               const std::string& cursor);

// The fan-out of committed changes to watchers. Per watched tenant it reads
// the feed once per notification (JobFeedStore::SetChangeListener, which the
// hub installs; one read at a time, notifications during it coalesced into
// the next) and writes each change to every matching stream; a stream whose
// buffer overflows is dropped (its client resumes with Last-Event-ID). Each
// change's SSE bytes are formatted once; writes to streams happen outside the
// hub's lock. The last `recent_per_tenant` changes stay in memory, so a watch
// that catches up (from the store, paced by what its stream has sent) attaches
// from there without a gap or a duplicate. Every `recheck` each followed
// tenant is read again (a lost notification delays a change by at most that),
// and a tenant with no watcher for a whole `recheck` is forgotten.
//
// Metrics: rtgw_watchers{kind=stream|long_poll} (gauge),
// rtgw_watch_events_total (events written, summed over streams),
// rtgw_watch_dropped_total{reason=slow|expired|store_unavailable|shutdown}
// (streams the hub ended after answering), rtgw_change_feed_lag_seconds
// (histogram: commit time, ChangeRecord::created_us, to the write of the
// change to all its streams).
//
// Thread-safety: safe for concurrent use. One thread of its own runs the
// fan-out and the catch-ups (the store's answers are handed to it, so watch
// load never holds a store thread), heartbeats, rechecks and pruning; its
// LeaseWaiters has another. The store must outlive the hub; the destructor
// waits for the hub's store calls. Shutdown() (also the destructor) closes
// every stream and answers every long poll; it does not block.
class JobWatchHub {
 public:
  JobWatchHub(WatchOptions options, storage::JobFeedStore& feed, MetricsRegistry& metrics);
  ~JobWatchHub();
  JobWatchHub(const JobWatchHub&) = delete;
  JobWatchHub& operator=(const JobWatchHub&) = delete;

  // Starts a watch of `tenant_id` from `after_seq` (nullopt: from the current
  // end, no history). `done` is called once, on any thread, with either the
  // stream to put in a 200 text/event-stream response (its first bytes, the
  // `retry:` field and the first catch-up events, are already queued; the
  // rest follows as the server sends, then the live changes), or an error:
  // Gone("..", "cursor_expired") when changes after `after_seq` were pruned,
  // InvalidArgument when `after_seq` is ahead of the feed (both messages
  // start with `cursor_name`, where the client sent the cursor),
  // TooManyRequests(.., "too_many_watchers") at a limit, Unavailable when the
  // store fails or the hub is shut down.
  struct Started {
    std::shared_ptr<http::ResponseStream> stream;
  };
  void Watch(std::string tenant_id, WatchFilter filter, std::optional<std::int64_t> after_seq,
             std::string_view cursor_name, std::function<void(Result<Started>)> done);

  // Long poll: `wake` is called once, on any thread, when a change of
  // (tenant_id, job_id) with projection_version > `version` may have
  // committed (final=false: read the projection again and park again if it
  // did not), or at `deadline` or Shutdown (final=true: answer with what is
  // there). Error TooManyRequests at a watcher limit (wake is then not called).
  // Call it after reading the projection: a change committed in between is
  // caught (at once from the recent changes, or once the hub has found where
  // a tenant it did not follow yet stands: one extra wake(false)); in the worst
  // case, more than recent_per_tenant changes in between, by `recheck`.
  // `wake` may run on the calling thread.
  Status ParkProjection(std::string tenant_id, std::string job_id, std::int64_t version,
                        std::chrono::steady_clock::time_point deadline,
                        std::function<void(bool final)> wake);

  void Shutdown();

  // Streams (from Watch until their end) plus parked long polls.
  std::size_t watchers() const;
  // Tenants the hub follows (a watcher, a parked poll, or one within `recheck` of the last).
  std::size_t TrackedTenantsForTest() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtgw::api

#endif  // RTGW_API_JOB_WATCH_HPP_
