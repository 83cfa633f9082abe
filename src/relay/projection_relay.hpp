#ifndef RTGW_RELAY_PROJECTION_RELAY_HPP_
#define RTGW_RELAY_PROJECTION_RELAY_HPP_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/metrics.hpp"
#include "net/http_client.hpp"
#include "storage/outbox_store.hpp"

namespace rtgw::relay {

struct RelayOptions {
  std::string url;        // the product sink (RTGW_PROJECTION_URL), http:// or https://
  std::string secret;     // Standard Webhooks key (RTGW_PROJECTION_SECRET)
  std::string owner;      // lease owner id; empty: "<hostname>:<pid>:<random>"
  int workers = 8;        // deliveries in flight at once (different jobs)
  int max_attempts = 10;  // failed attempts before an update becomes a dead letter
  std::chrono::milliseconds backoff_base{500};        // delay after the first failure
  std::chrono::milliseconds backoff_max{60'000};      // cap of the exponential delay
  std::chrono::milliseconds request_timeout{10'000};  // one POST, connect included
  std::chrono::milliseconds lease{30'000};            // must exceed request_timeout
  std::chrono::milliseconds poll_interval{1'000};     // claim at least this often
};

// Validates ranges and the URL scheme; InvalidArgument naming the option.
Status ValidateRelayOptions(const RelayOptions& options);

// What /api/health shows under checks.projection_relay.
struct RelayStatus {
  bool running = false;
  bool degraded = false;  // dead letters exist, or the last attempt failed
  std::string sink;       // scheme://host[:port] of the URL (no path, no secrets)
  std::int64_t in_flight = 0;
  std::int64_t delivered_total = 0;
  std::int64_t failed_attempts_total = 0;
  std::int64_t consecutive_failures = 0;
  std::optional<std::string> last_delivery_at;  // RFC 3339
  std::optional<std::string> last_error;
  // As of the last stats refresh (every few seconds); GetLiveStatus reads them now.
  storage::OutboxStats outbox;
};

// Delivers ProjectionUpdates from a transactional outbox to the product sink
// (docs/contracts/projection-update.md). A dispatcher thread claims heads of
// the outbox (one per job, leased to this relay) and hands them to `workers`
// delivery threads; each POSTs the stored payload signed per Standard
// Webhooks and then completes the row (2xx) or records the failure with an
// exponential backoff with full jitter, or as a dead letter after
// max_attempts. Because only heads are claimable, a job's updates go out one
// at a time in projection_version order; different jobs go in parallel.
//
// Metrics: rtgw_relay_deliveries_total{result="delivered|retry|dead"},
// rtgw_relay_attempt_seconds (one POST), rtgw_projection_lag_seconds (outbox
// row created -> sink answered 2xx), rtgw_outbox_backlog, rtgw_outbox_dead_letters,
// rtgw_outbox_oldest_undelivered_seconds.
//
// Time: the dispatcher's poll, the lease check before a queued POST and the
// stats refresh read `clock`; the backoff before a retry and the lease itself
// are kept by the store, on the store's clock.
//
// Thread-safety: Start/Stop from one owner thread; Wake, GetStatus and
// GetLiveStatus from any thread. `*store`, `*metrics`, `*http` and `*clock` must outlive the
// relay. A null `http` is the relay's own libcurl client (keep-alive: each
// worker's connection stays open between POSTs); a null `clock` is the steady
// clock.
class ProjectionRelay {
 public:
  static Result<std::unique_ptr<ProjectionRelay>> Create(RelayOptions options,
                                                         storage::OutboxStore& store,
                                                         MetricsRegistry* metrics,
                                                         net::HttpClient* http = nullptr,
                                                         Clock* clock = nullptr);
  ~ProjectionRelay();  // Stop()
  ProjectionRelay(const ProjectionRelay&) = delete;
  ProjectionRelay& operator=(const ProjectionRelay&) = delete;

  Status Start();
  // Stops claiming, lets in-flight POSTs finish (each bounded by
  // request_timeout), joins. Rows claimed but not sent keep their lease until
  // it expires, then any relay takes them.
  void Stop();
  // New outbox rows were committed: claim now rather than at the next poll.
  void Wake();
  RelayStatus GetStatus() const;
  // GetStatus with the outbox counts (backlog, dead letters, oldest age) read
  // from the store now rather than at the last refresh, which lags up to 5 s;
  // the gauges are refreshed too. Callers asking while a read runs share it
  // (one store read however many ask). `done` runs once, on a store thread;
  // it must not block. If the read fails, the counts are the last refresh's.
  void GetLiveStatus(std::function<void(RelayStatus)> done);

 private:
  class Impl;
  explicit ProjectionRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Delay before attempt `failed_attempts + 1`: uniform in [d/2, d] where
// d = min(base * 2^(failed_attempts - 1), max) ("equal jitter"). `unit_random`
// is in [0, 1).
std::chrono::milliseconds BackoffDelay(int failed_attempts, std::chrono::milliseconds base,
                                       std::chrono::milliseconds max, double unit_random);

}  // namespace rtgw::relay

#endif  // RTGW_RELAY_PROJECTION_RELAY_HPP_
