#include "api/job_watch.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "api/lease_waiters.hpp"
#include "common/logging.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::api {
namespace {

using SteadyTime = std::chrono::steady_clock;

constexpr std::size_t kReadPageChanges = 1'000;  // JobFeedStore::ReadChanges' largest page
// ReadChanges after this returns no change, only the head.
constexpr std::int64_t kHeadOnly = std::numeric_limits<std::int64_t>::max();
// A watch catching up with more than half its buffer queued waits this long
// for the server to send some of it.
constexpr std::chrono::milliseconds kCatchUpPace{5};

constexpr std::string_view kCursorPrefix = "c1.";
constexpr std::size_t kFingerprintBytes = 8;
constexpr std::size_t kCursorBytes = kFingerprintBytes + 8;

std::string EncodeCursor(const std::string& fingerprint, std::int64_t seq) {
  std::array<char, kCursorBytes> raw{};
  std::copy(fingerprint.begin(), fingerprint.end(), raw.begin());
  auto value = static_cast<std::uint64_t>(seq);
  for (std::size_t i = kCursorBytes; i > kFingerprintBytes; --i) {
    raw[i - 1] = static_cast<char>(value & 0xffU);
    value >>= 8U;
  }
  std::string cursor(kCursorPrefix);
  cursor += crypto::Base64UrlEncode(std::string_view(raw.data(), raw.size()));
  return cursor;
}

// `payload` is compact JSON (one line); a line break in it still makes valid
// SSE: each line gets its own "data:" field, which the client joins with "\n".
std::string FormatEvent(const std::string& cursor, std::string_view payload) {
  std::string out;
  out.reserve(cursor.size() + payload.size() + 32);
  out += "id: ";
  out += cursor;
  out += "\nevent: job\n";
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = payload.find_first_of("\r\n", start);
    out += "data: ";
    out += payload.substr(start, end - start);
    out += '\n';
    if (end == std::string_view::npos) break;
    start = end + (payload.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
  out += '\n';
  return out;
}

// One committed change as the watchers see it, formatted once and shared by
// every stream that gets it.
struct Event {
  std::int64_t seq = 0;
  std::int64_t projection_version = 0;
  std::int64_t created_us = 0;
  std::string job_id;
  std::string workspace_id;
  std::string management_node_id;
  std::string requested_by;
  std::string sse;  // "id: ..\nevent: job\ndata: ..\n\n"
};
using EventPtr = std::shared_ptr<const Event>;

EventPtr MakeEvent(const std::string& fingerprint, storage::ChangeRecord& change) {
  auto event = std::make_shared<Event>();
  event->seq = change.seq;
  event->projection_version = change.projection_version;
  event->created_us = change.created_us;
  event->sse = FormatEvent(EncodeCursor(fingerprint, change.seq), change.payload_json);
  event->job_id = std::move(change.job_id);
  event->workspace_id = std::move(change.workspace_id);
  event->management_node_id = std::move(change.management_node_id);
  event->requested_by = std::move(change.requested_by);
  return event;
}

// WatchFilter's rule for a ChangeRecord or an Event (same field names).
template <class Change, class HasJob>
bool FilterMatches(const WatchFilter& filter, const Change& change, HasJob has_job) {
  if (filter.workspace_id && *filter.workspace_id != change.workspace_id) return false;
  if (filter.management_node_id && *filter.management_node_id != change.management_node_id) {
    return false;
  }
  if (filter.requested_by && *filter.requested_by != change.requested_by) return false;
  return filter.job_ids.empty() || has_job(change.job_id);
}

// A watcher's filter, prepared for the fan-out: job ids sorted (up to 100 per
// watch, checked for each change and watcher), and "matches everything" known.
class Selector {
 public:
  explicit Selector(WatchFilter filter) : filter_(std::move(filter)) {
    std::sort(filter_.job_ids.begin(), filter_.job_ids.end());
    all_ = !filter_.workspace_id && !filter_.management_node_id && !filter_.requested_by &&
           filter_.job_ids.empty();
  }
  bool all() const { return all_; }
  bool Matches(const Event& event) const {
    return all_ || FilterMatches(filter_, event, [this](const std::string& job_id) {
             return std::binary_search(filter_.job_ids.begin(), filter_.job_ids.end(), job_id);
           });
  }
  bool Matches(const storage::ChangeRecord& change) const { return filter_.Matches(change); }

 private:
  WatchFilter filter_;
  bool all_ = false;
};

std::string WaitKey(const std::string& tenant_id, const std::string& job_id) {
  std::string key = tenant_id;
  key += '\n';
  key += job_id;
  return key;
}

std::int64_t SystemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One SSE stream. The "step chain" (Advance and the store reads it starts,
// one at a time) owns `done`, `answered`, `validated`, `caught_up` and
// `position` until the watcher is attached; afterwards only the fan-out writes
// events to it.
struct Watcher {
  std::uint64_t id = 0;
  std::string tenant_id;
  std::string fingerprint;
  Selector selector;
  std::shared_ptr<http::ResponseStream> stream;
  std::function<void(Result<JobWatchHub::Started>)> done;
  std::string cursor_name;    // where the client sent after_seq, for error messages
  bool head_only = false;     // no after_seq: starts at the end of the feed
  bool validated = false;     // after_seq checked against the feed (or head_only positioned)
  bool caught_up = false;     // position == the head of the last store read
  bool answered = false;      // done was called
  std::int64_t position = 0;  // every change <= position was written or filtered out
  std::deque<storage::ChangeRecord> pending;  // read, not yet written (paced)
  std::int64_t read_head = 0;                 // head.last_seq of the last store read
  // Attached: the fan-out skips changes <= skip_through (the watcher's own
  // read went further than the hub's). Set before it joins the snapshot.
  std::int64_t skip_through = 0;
  std::atomic<bool> started{false};  // handed out: heartbeats go to it
  std::atomic<bool> ended{false};    // the stream ended (OnClosed ran)
  std::atomic<bool> drop_counted{false};
  bool registered = true;  // GUARDED_BY(mu_): counted against the limits
  bool attached = false;   // GUARDED_BY(mu_): in its tenant's fan-out list

  Watcher(std::string tenant, WatchFilter filter)
      : tenant_id(std::move(tenant)), selector(std::move(filter)) {}
};
using WatcherPtr = std::shared_ptr<Watcher>;
using Snapshot = std::shared_ptr<const std::vector<WatcherPtr>>;

// What the hub knows of one watched tenant.
struct TenantState {
  std::string fingerprint;
  bool initialized = false;   // last_seq is known
  bool initializing = false;  // a head read for parked polls is in flight
  std::int64_t last_seq = 0;  // every change <= last_seq was fanned out (or is being)
  // The most recent changes, contiguous, ending at last_seq: a watch catching
  // up attaches from here without reading the store.
  std::deque<EventPtr> ring;
  struct Recent {
    std::int64_t projection_version = 0;  // the newest in the ring
    std::size_t in_ring = 0;
  };
  std::unordered_map<std::string, Recent> recent_jobs;  // the ring's jobs
  std::vector<WatcherPtr> attached;
  Snapshot snapshot = std::make_shared<const std::vector<WatcherPtr>>();  // = attached
  std::size_t streams = 0;                                   // registered streams, attached or not
  std::size_t parked = 0;                                    // parked long polls
  std::unordered_map<std::string, std::size_t> parked_jobs;  // job_id -> parked polls
  bool reading = false;     // a ReadChanges of the fan-out is in flight
  bool read_again = false;  // a notification came meanwhile
  SteadyTime::time_point idle_since = SteadyTime::now();

  std::int64_t RingBase() const { return ring.empty() ? last_seq : ring.front()->seq - 1; }
  std::size_t Watchers() const { return streams + parked; }
  bool Idle() const { return Watchers() == 0; }
};

// What InitializeLocked leaves to do outside the lock.
struct Followup {
  std::vector<std::string> wake_keys;
  std::optional<std::int64_t> read_from;
};

}  // namespace

bool WatchFilter::Matches(const storage::ChangeRecord& change) const {
  return FilterMatches(*this, change, [this](const std::string& job_id) {
    return std::find(job_ids.begin(), job_ids.end(), job_id) != job_ids.end();
  });
}

std::string CursorTenantFingerprint(const std::string& tenant_id) {
  return crypto::Sha256(tenant_id).substr(0, kFingerprintBytes);
}

std::string EncodeChangeCursor(const std::string& tenant_id, std::int64_t seq) {
  return EncodeCursor(CursorTenantFingerprint(tenant_id), seq);
}

std::optional<std::int64_t> DecodeChangeCursor(const std::string& tenant_id,
                                               const std::string& cursor) {
  const std::string_view text(cursor);
  if (!text.starts_with(kCursorPrefix)) return std::nullopt;
  std::array<char, kCursorBytes> raw{};
  const std::string_view encoded = text.substr(kCursorPrefix.size());
  if (crypto::Base64UrlDecodedBytes(encoded.size()) != kCursorBytes) return std::nullopt;
  const auto decoded = crypto::Base64UrlDecodeInto(encoded, std::span<char>(raw));
  if (!decoded || *decoded != kCursorBytes) return std::nullopt;
  if (std::string_view(raw.data(), kFingerprintBytes) != CursorTenantFingerprint(tenant_id)) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (std::size_t i = kFingerprintBytes; i < kCursorBytes; ++i) {
    value = (value << 8U) | static_cast<std::uint64_t>(static_cast<unsigned char>(raw[i]));
  }
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(value);
}

class JobWatchHub::Impl {
 public:
  Impl(WatchOptions options, storage::JobFeedStore& feed, MetricsRegistry& metrics);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void Watch(std::string tenant_id, WatchFilter filter, std::optional<std::int64_t> after_seq,
             std::string_view cursor_name, std::function<void(Result<Started>)> done);
  Status ParkProjection(std::string tenant_id, std::string job_id, std::int64_t version,
                        SteadyTime::time_point deadline, std::function<void(bool)> wake);
  void Shutdown();
  std::size_t watchers() const;
  std::size_t tracked_tenants() const;

 private:
  // Callbacks that may outlive the hub (a stream's OnClosed, the store's
  // change listener) reach it through one of these; the destructor clears
  // `impl`. Two gates, because a stream's OnClosed can run inside a Write made
  // under mu_, while the listener takes mu_ inside its gate.
  struct Gate {
    std::mutex mu;
    Impl* impl = nullptr;  // GUARDED_BY(mu)
  };
  enum class DropReason { kSlow, kExpired, kStoreUnavailable, kShutdown };

  // Limits and tenant bookkeeping (mu_ held).
  std::optional<Error> CheckLimitsLocked(const std::string& tenant_id) const;
  TenantState& TenantLocked(const std::string& tenant_id);
  bool DeregisterLocked(const WatcherPtr& w);
  void AttachLocked(TenantState& t, const WatcherPtr& w);
  static void RebuildSnapshotLocked(TenantState& t);
  Followup InitializeLocked(const std::string& tenant_id, TenantState& t, std::int64_t last_seq);
  void AppendLocked(TenantState& t, std::vector<EventPtr>& batch) const;
  void SetGaugesLocked();

  // A watch's step chain.
  struct Step {
    bool shut = false;
    bool write_pending = false;
    bool write_failed = false;
    bool client_left = false;
    std::string piece;  // ring changes to write outside the lock, before attaching
    bool pace = false;
    std::optional<std::int64_t> read_from;
    Followup followup;
  };
  void Advance(const WatcherPtr& w);
  Step PlanStepLocked(const WatcherPtr& w, TenantState& t);
  void AttachFromRingLocked(const WatcherPtr& w, TenantState& t, Step& step);
  void OnCatchUpRead(const WatcherPtr& w, std::int64_t from, Result<storage::ChangePage> result);
  void WritePending(const WatcherPtr& w);
  void Fail(const WatcherPtr& w, Error error, std::optional<DropReason> reason);
  bool WriteCatchUp(const WatcherPtr& w, std::string bytes);
  void Answer(const WatcherPtr& w);
  std::size_t CatchUpRoom(const Watcher& w) const;
  void Pace(const WatcherPtr& w);

  // The fan-out.
  void OnNotify(const std::string& tenant_id);
  void StartRead(const std::string& tenant_id, std::int64_t from);
  void OnFeedRead(const std::string& tenant_id, std::int64_t from,
                  Result<storage::ChangePage> result);
  std::vector<WatcherPtr> FanOut(const std::vector<EventPtr>& batch,
                                 const std::vector<WatcherPtr>& watchers);
  void StartInitRead(const std::string& tenant_id);
  void OnInitRead(const std::string& tenant_id, Result<storage::ChangePage> result);
  void RunFollowup(const std::string& tenant_id, Followup followup);
  void Drop(const std::vector<WatcherPtr>& dropped, DropReason reason);
  void Unpark(const std::string& tenant_id, const std::string& job_id);

  // The hub thread: closed streams, paced catch-ups, heartbeats, rechecks.
  void Loop();
  void EnqueueClosed(const std::weak_ptr<Watcher>& w);
  void Heartbeat();
  void Recheck();

  // Store calls in flight; the destructor waits for them.
  void ReadFeed(const std::string& tenant_id, std::int64_t after_seq, int limit,
                std::function<void(Result<storage::ChangePage>)> then);
  void Post(std::function<void()> task);
  void BeginCall();
  void EndCall();

  void CountDrop(Watcher& w, DropReason reason);  // once per stream

  const WatchOptions options_;
  storage::JobFeedStore& feed_;
  Gauge* streams_gauge_;
  Gauge* polls_gauge_;
  Counter* events_;
  std::array<Counter*, 4> dropped_{};
  Histogram* lag_;
  std::shared_ptr<Gate> listener_gate_ = std::make_shared<Gate>();
  std::shared_ptr<Gate> closed_gate_ = std::make_shared<Gate>();

  mutable std::mutex mu_;
  std::unordered_map<std::string, TenantState> tenants_;         // GUARDED_BY(mu_)
  std::unordered_map<std::uint64_t, WatcherPtr> streams_by_id_;  // GUARDED_BY(mu_)
  std::size_t parked_total_ = 0;                                 // GUARDED_BY(mu_)
  std::uint64_t next_watcher_id_ = 1;                            // GUARDED_BY(mu_)
  bool shutdown_ = false;                                        // GUARDED_BY(mu_)

  std::mutex calls_mu_;
  std::condition_variable calls_cv_;
  int calls_in_flight_ = 0;  // GUARDED_BY(calls_mu_)

  // Lock order: mu_ before timer_mu_ (a stream's OnClosed may run inside a
  // Write made under mu_); the hub thread never holds timer_mu_ while taking mu_.
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::vector<std::function<void()>> tasks_;    // GUARDED_BY(timer_mu_): store answers to run
  std::vector<std::weak_ptr<Watcher>> closed_;  // GUARDED_BY(timer_mu_)
  std::vector<std::pair<SteadyTime::time_point, WatcherPtr>> paced_;  // GUARDED_BY(timer_mu_)
  bool poked_ = false;                                                // GUARDED_BY(timer_mu_)
  bool stop_ = false;                                                 // GUARDED_BY(timer_mu_)
  std::thread thread_;

  // Last: destroyed first, joining its thread, whose wakes call Unpark.
  LeaseWaiters waiters_;
};

JobWatchHub::Impl::Impl(WatchOptions options, storage::JobFeedStore& feed, MetricsRegistry& metrics)
    : options_(options),
      feed_(feed),
      streams_gauge_(metrics.GetGauge("rtgw_watchers",
                                      "Open job watches: SSE streams and parked long polls",
                                      {{"kind", "stream"}})),
      polls_gauge_(metrics.GetGauge("rtgw_watchers",
                                    "Open job watches: SSE streams and parked long polls",
                                    {{"kind", "long_poll"}})),
      events_(metrics.GetCounter("rtgw_watch_events_total",
                                 "Job change events written to watch streams", {})),
      lag_(metrics.GetHistogram("rtgw_change_feed_lag_seconds",
                                "Time from a job change's commit to its write to the watch streams",
                                {}, MetricsRegistry::LatencyBucketsSeconds())),
      waiters_(options.recheck, std::max<std::size_t>(options.max_watchers_per_tenant, 1)) {
  static constexpr std::array<const char*, 4> kReasons = {"slow", "expired", "store_unavailable",
                                                          "shutdown"};
  for (std::size_t i = 0; i < kReasons.size(); ++i) {
    dropped_[i] =
        metrics.GetCounter("rtgw_watch_dropped_total", "Watch streams the server ended, by reason",
                           {{"reason", kReasons[i]}});
  }
  listener_gate_->impl = this;
  closed_gate_->impl = this;
  feed_.SetChangeListener([gate = listener_gate_](const std::string& tenant_id) {
    std::lock_guard lock(gate->mu);
    if (gate->impl != nullptr) gate->impl->OnNotify(tenant_id);
  });
  thread_ = std::thread([this] { Loop(); });
}

JobWatchHub::Impl::~Impl() {
  Shutdown();
  if (thread_.joinable()) thread_.join();
  feed_.SetChangeListener(nullptr);
  for (const auto& gate : {listener_gate_, closed_gate_}) {
    std::lock_guard lock(gate->mu);
    gate->impl = nullptr;
  }
  std::unique_lock lock(calls_mu_);
  calls_cv_.wait(lock, [this] { return calls_in_flight_ == 0; });
}

void JobWatchHub::Impl::BeginCall() {
  std::lock_guard lock(calls_mu_);
  ++calls_in_flight_;
}

void JobWatchHub::Impl::EndCall() {
  std::lock_guard lock(calls_mu_);
  if (--calls_in_flight_ == 0) calls_cv_.notify_all();
}

// ---- Limits and bookkeeping

std::optional<Error> JobWatchHub::Impl::CheckLimitsLocked(const std::string& tenant_id) const {
  if (streams_by_id_.size() + parked_total_ >= options_.max_watchers) {
    return TooManyRequests("this server has its most watchers (--max-watchers " +
                               std::to_string(options_.max_watchers) + "); retry later",
                           "too_many_watchers");
  }
  const auto it = tenants_.find(tenant_id);
  const std::size_t mine = it == tenants_.end() ? 0 : it->second.Watchers();
  if (mine >= options_.max_watchers_per_tenant) {
    return TooManyRequests("this tenant has its most watchers (--max-watchers-per-tenant " +
                               std::to_string(options_.max_watchers_per_tenant) + "); retry later",
                           "too_many_watchers");
  }
  return std::nullopt;
}

TenantState& JobWatchHub::Impl::TenantLocked(const std::string& tenant_id) {
  auto [it, inserted] = tenants_.try_emplace(tenant_id);
  if (inserted) it->second.fingerprint = CursorTenantFingerprint(tenant_id);
  return it->second;
}

void JobWatchHub::Impl::SetGaugesLocked() {
  streams_gauge_->Set(static_cast<std::int64_t>(streams_by_id_.size()));
  polls_gauge_->Set(static_cast<std::int64_t>(parked_total_));
}

// False when `w` was no longer registered.
bool JobWatchHub::Impl::DeregisterLocked(const WatcherPtr& w) {
  if (!w->registered) return false;
  w->registered = false;
  streams_by_id_.erase(w->id);
  TenantState& t = tenants_.at(w->tenant_id);  // a registered watcher keeps its tenant
  --t.streams;
  if (w->attached) {
    w->attached = false;
    t.attached.erase(std::find(t.attached.begin(), t.attached.end(), w));
    RebuildSnapshotLocked(t);
  }
  if (t.Idle()) t.idle_since = SteadyTime::now();
  SetGaugesLocked();
  return true;
}

void JobWatchHub::Impl::AttachLocked(TenantState& t, const WatcherPtr& w) {
  w->skip_through = std::max(w->position, t.last_seq);
  w->attached = true;
  t.attached.push_back(w);
  RebuildSnapshotLocked(t);
}

// The fan-out iterates a snapshot without the lock; a (dis)connect, much rarer
// than a change, pays for the copy.
void JobWatchHub::Impl::RebuildSnapshotLocked(TenantState& t) {
  t.snapshot = std::make_shared<const std::vector<WatcherPtr>>(t.attached);
}

Followup JobWatchHub::Impl::InitializeLocked(const std::string& tenant_id, TenantState& t,
                                             std::int64_t last_seq) {
  Followup followup;
  t.initialized = true;
  t.last_seq = last_seq;
  t.ring.clear();
  t.recent_jobs.clear();
  // Polls parked before the hub knew where the feed was may have missed a
  // change between their read and now: they read again (and park again).
  for (const auto& [job_id, count] : t.parked_jobs) {
    followup.wake_keys.push_back(WaitKey(tenant_id, job_id));
  }
  // Notifications that came before are covered by one read from here.
  t.read_again = false;
  t.reading = true;
  followup.read_from = last_seq;
  return followup;
}

void JobWatchHub::Impl::AppendLocked(TenantState& t, std::vector<EventPtr>& batch) const {
  const std::size_t capacity = std::max<std::size_t>(options_.recent_per_tenant, 1);
  for (EventPtr& event : batch) {
    TenantState::Recent& recent = t.recent_jobs[event->job_id];
    recent.projection_version = std::max(recent.projection_version, event->projection_version);
    ++recent.in_ring;
    t.last_seq = event->seq;
    t.ring.push_back(event);
  }
  while (t.ring.size() > capacity) {
    const auto it = t.recent_jobs.find(t.ring.front()->job_id);
    if (it != t.recent_jobs.end() && --it->second.in_ring == 0) t.recent_jobs.erase(it);
    t.ring.pop_front();
  }
}

// ---- Watch: catch up, then attach

void JobWatchHub::Impl::Watch(std::string tenant_id, WatchFilter filter,
                              std::optional<std::int64_t> after_seq, std::string_view cursor_name,
                              std::function<void(Result<Started>)> done) {
  auto w = std::make_shared<Watcher>(std::move(tenant_id), std::move(filter));
  w->cursor_name = cursor_name;
  w->stream = std::make_shared<http::ResponseStream>(options_.buffer_bytes);
  w->done = std::move(done);
  w->head_only = !after_seq.has_value();
  w->position = after_seq.value_or(0);
  std::optional<Error> refused;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) {
      refused = Unavailable("the server is shutting down", "unavailable");
    } else {
      refused = CheckLimitsLocked(w->tenant_id);
    }
    if (!refused) {
      TenantState& t = TenantLocked(w->tenant_id);
      w->fingerprint = t.fingerprint;
      w->id = next_watcher_id_++;
      ++t.streams;
      streams_by_id_.emplace(w->id, w);
      SetGaugesLocked();
    }
  }
  if (refused) {
    w->done(std::move(*refused));
    return;
  }
  w->stream->Write("retry: " + std::to_string(options_.retry.count()) + "\n\n");
  w->stream->OnClosed([gate = closed_gate_, weak = std::weak_ptr<Watcher>(w)] {
    if (const WatcherPtr watcher = weak.lock()) watcher->ended = true;
    std::lock_guard lock(gate->mu);
    if (gate->impl != nullptr) gate->impl->EnqueueClosed(weak);
  });
  Advance(w);
}

// Catch-up may use half the stream's buffer; the other half is for the live
// events that come while it is sent.
std::size_t JobWatchHub::Impl::CatchUpRoom(const Watcher& w) const {
  const std::size_t half = options_.buffer_bytes / 2;
  return half - std::min(half, w.stream->queued_bytes());
}

// The watcher's next step: attach (writing the ring's changes after its
// position, under the lock, so that the fan-out's next batch follows them),
// or write a paced piece of the ring, or read the store.
void JobWatchHub::Impl::Advance(const WatcherPtr& w) {
  bool answer = false;
  Step step;
  {
    std::lock_guard lock(mu_);
    // Shutdown deregisters every watch; one not answered yet gets its error
    // here. Otherwise an unregistered watch has ended (dropped, closed).
    if (shutdown_) {
      step.shut = true;
    } else if (!w->registered) {
      return;
    } else {
      step = PlanStepLocked(w, tenants_.at(w->tenant_id));
      answer = !step.write_failed && w->validated && !w->answered;
    }
  }
  if (step.shut) {
    Fail(w, Unavailable("the server is shutting down", "unavailable"), DropReason::kShutdown);
    return;
  }
  if (answer) Answer(w);
  if (step.write_pending) {
    WritePending(w);
    return;
  }
  if (step.write_failed) {
    Fail(w, Unavailable("watch stream ended while catching up"),
         step.client_left ? std::nullopt : std::optional(DropReason::kSlow));
  } else if (!WriteCatchUp(w, std::move(step.piece))) {
    // Ended.
  } else if (step.pace) {
    Pace(w);
  } else if (step.read_from) {
    // A page the room can take, roughly: a slow reader's watch holds less.
    const int limit =
        static_cast<int>(std::clamp<std::size_t>(CatchUpRoom(*w) / 64, 16, kReadPageChanges));
    ReadFeed(w->tenant_id, *step.read_from, *step.read_from == kHeadOnly ? 1 : limit,
             [this, w, from = *step.read_from](Result<storage::ChangePage> result) {
               OnCatchUpRead(w, from, std::move(result));
             });
  }
  RunFollowup(w->tenant_id, std::move(step.followup));
}

JobWatchHub::Impl::Step JobWatchHub::Impl::PlanStepLocked(const WatcherPtr& w, TenantState& t) {
  Step step;
  if (!w->pending.empty()) {
    step.write_pending = true;
    return step;
  }
  if (!w->validated && w->head_only && t.initialized) {
    w->position = t.last_seq;
    w->validated = true;
    w->caught_up = true;
  }
  if (!w->validated) {
    step.read_from = w->head_only ? kHeadOnly : w->position;
  } else if (t.initialized && w->position >= t.RingBase()) {
    AttachFromRingLocked(w, t, step);
  } else if (!t.initialized && w->caught_up) {
    // The first watch of this tenant to reach the end of the feed starts the fan-out there.
    step.followup = InitializeLocked(w->tenant_id, t, w->position);
    AttachLocked(t, w);
  } else {
    step.read_from = w->position;
  }
  return step;
}

// The ring holds every change after the watcher's position: write them and
// attach, when they fit in the catch-up room; else write the part that fits
// (outside the lock) and come back when the server has sent some.
void JobWatchHub::Impl::AttachFromRingLocked(const WatcherPtr& w, TenantState& t, Step& step) {
  const std::size_t room = CatchUpRoom(*w);
  std::string tail;
  std::int64_t through = w->position;
  for (auto i = static_cast<std::size_t>(w->position - t.RingBase()); i < t.ring.size(); ++i) {
    const Event& event = *t.ring[i];
    if (w->selector.Matches(event)) {
      if (!tail.empty() && tail.size() + event.sse.size() > room) {
        w->position = through;
        step.piece = std::move(tail);
        step.pace = true;
        return;
      }
      tail += event.sse;
    }
    through = event.seq;
  }
  if (!tail.empty()) {
    // Checked before: an overflowing Write ends the stream too.
    step.client_left = w->ended;
    if (step.client_left || !w->stream->Write(std::move(tail))) {
      step.write_failed = true;
      return;
    }
  }
  AttachLocked(t, w);
}

void JobWatchHub::Impl::OnCatchUpRead(const WatcherPtr& w, std::int64_t from,
                                      Result<storage::ChangePage> result) {
  if (w->ended) {
    Fail(w, Unavailable("the client left"), std::nullopt);
    return;
  }
  if (!result) {
    Fail(w, std::move(result).error(), DropReason::kStoreUnavailable);
    return;
  }
  storage::ChangePage& page = *result;
  if (from == kHeadOnly) {
    w->position = page.head.last_seq;
    w->validated = true;
    w->caught_up = true;
    Advance(w);
    return;
  }
  if (page.head.pruned_through > w->position) {
    Fail(w,
         Gone(w->cursor_name +
                  ": the changes after this cursor were deleted (--change-retention); list the "
                  "jobs again and watch from its watch_from",
              "cursor_expired"),
         DropReason::kExpired);
    return;
  }
  if (!w->validated && w->position > page.head.last_seq) {
    Fail(w, InvalidArgument(w->cursor_name + ": cursor is ahead of the feed"), std::nullopt);
    return;
  }
  w->validated = true;
  w->read_head = page.head.last_seq;
  w->pending.assign(std::make_move_iterator(page.changes.begin()),
                    std::make_move_iterator(page.changes.end()));
  WritePending(w);
}

// Writes the read changes that fit in the catch-up room (at least one, so
// that a watch always moves on); the rest wait for the server to send some.
void JobWatchHub::Impl::WritePending(const WatcherPtr& w) {
  const std::size_t room = CatchUpRoom(*w);
  std::string out;
  while (!w->pending.empty()) {
    const storage::ChangeRecord& change = w->pending.front();
    if (w->selector.Matches(change)) {
      std::string event =
          FormatEvent(EncodeCursor(w->fingerprint, change.seq), change.payload_json);
      if (!out.empty() && out.size() + event.size() > room) break;
      out += event;
    }
    w->position = change.seq;
    w->pending.pop_front();
  }
  if (!WriteCatchUp(w, std::move(out))) return;
  if (!w->pending.empty()) {
    bool answer = false;
    {
      std::lock_guard lock(mu_);
      answer = w->registered && !w->answered;
    }
    if (answer) Answer(w);
    Pace(w);
    return;
  }
  w->caught_up = w->position >= w->read_head;
  Advance(w);
}

void JobWatchHub::Impl::Answer(const WatcherPtr& w) {
  w->answered = true;
  w->started = true;
  auto done = std::move(w->done);
  w->done = nullptr;
  done(Started{w->stream});
}

// Ends a watch: before it was answered with the error, afterwards by ending
// the stream (the client resumes from its last event and gets the error then).
void JobWatchHub::Impl::Fail(const WatcherPtr& w, Error error, std::optional<DropReason> reason) {
  bool was_registered = false;
  {
    std::lock_guard lock(mu_);
    was_registered = DeregisterLocked(w);
  }
  if (!w->answered) {
    w->answered = true;
    auto done = std::move(w->done);
    w->done = nullptr;
    done(std::move(error));
    return;
  }
  // Unregistered: it had ended already (the client left), unless a write of
  // ours overflowed it, which ends it at once.
  if (reason && (was_registered || *reason == DropReason::kSlow)) CountDrop(*w, *reason);
  w->stream->Close();
}

// False when the watch ended: its client left (not a drop), or the write
// overflowed the stream's buffer.
bool JobWatchHub::Impl::WriteCatchUp(const WatcherPtr& w, std::string bytes) {
  if (bytes.empty()) return true;
  if (w->ended) {
    Fail(w, Unavailable("the client left"), std::nullopt);
    return false;
  }
  if (!w->stream->Write(std::move(bytes))) {
    Fail(w, Unavailable("watch stream overflowed while catching up"), DropReason::kSlow);
    return false;
  }
  return true;
}

// `dropped`: streams a write of the fan-out or a heartbeat found full.
void JobWatchHub::Impl::Drop(const std::vector<WatcherPtr>& dropped, DropReason reason) {
  {
    std::lock_guard lock(mu_);
    for (const WatcherPtr& w : dropped) DeregisterLocked(w);
  }
  for (const WatcherPtr& w : dropped) {
    CountDrop(*w, reason);
    w->stream->Close();
  }
}

void JobWatchHub::Impl::CountDrop(Watcher& w, DropReason reason) {
  if (!w.drop_counted.exchange(true)) dropped_[static_cast<std::size_t>(reason)]->Add();
}

void JobWatchHub::Impl::Pace(const WatcherPtr& w) {
  {
    std::lock_guard lock(timer_mu_);
    if (!stop_) {
      paced_.emplace_back(SteadyTime::now() + kCatchUpPace, w);
      poked_ = true;
      timer_cv_.notify_one();
      return;
    }
  }
  Advance(w);  // shut down: it ends (answered with the error if it was not)
}

void JobWatchHub::Impl::EnqueueClosed(const std::weak_ptr<Watcher>& w) {
  std::lock_guard lock(timer_mu_);
  closed_.push_back(w);
  timer_cv_.notify_one();
}

// ---- The fan-out

void JobWatchHub::Impl::OnNotify(const std::string& tenant_id) {
  std::vector<std::pair<std::string, std::int64_t>> reads;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return;
    const auto request = [&reads](const std::string& id, TenantState& t) {
      if (!t.initialized || t.reading) {
        t.read_again = true;
      } else {
        t.reading = true;
        reads.emplace_back(id, t.last_seq);
      }
    };
    if (tenant_id.empty()) {
      // The notification connection was re-established: anything may have changed.
      for (auto& [id, t] : tenants_) request(id, t);
    } else if (const auto it = tenants_.find(tenant_id); it != tenants_.end()) {
      request(it->first, it->second);
    }
  }
  for (const auto& [id, from] : reads) StartRead(id, from);
}

void JobWatchHub::Impl::StartRead(const std::string& tenant_id, std::int64_t from) {
  ReadFeed(tenant_id, from, static_cast<int>(kReadPageChanges),
           [this, tenant_id, from](Result<storage::ChangePage> result) {
             OnFeedRead(tenant_id, from, std::move(result));
           });
}

// The answer runs on the hub's thread, not on the store's: formatting and
// fan-out must not hold a store thread that serves requests.
void JobWatchHub::Impl::ReadFeed(const std::string& tenant_id, std::int64_t after_seq, int limit,
                                 std::function<void(Result<storage::ChangePage>)> then) {
  BeginCall();
  feed_.ReadChanges(tenant_id, after_seq, limit,
                    [this, then = std::move(then)](Result<storage::ChangePage> result) mutable {
                      Post([this, then = std::move(then), r = std::move(result)]() mutable {
                        then(std::move(r));
                        EndCall();
                      });
                    });
}

void JobWatchHub::Impl::Post(std::function<void()> task) {
  {
    std::lock_guard lock(timer_mu_);
    if (!stop_) {
      tasks_.push_back(std::move(task));
      timer_cv_.notify_one();
      return;
    }
  }
  task();  // the hub thread has stopped (Shutdown): what is left is short
}

void JobWatchHub::Impl::OnFeedRead(const std::string& tenant_id, std::int64_t from,
                                   Result<storage::ChangePage> result) {
  if (!result) {
    LogWarn("job watch: reading the change feed failed; retried at the next recheck",
            {{"tenant_id", tenant_id}, {"error", result.error().message}});
    std::lock_guard lock(mu_);
    if (const auto it = tenants_.find(tenant_id); it != tenants_.end()) {
      it->second.reading = false;
    }
    return;
  }
  storage::ChangePage& page = *result;
  const bool full = page.changes.size() >= kReadPageChanges;
  const std::string fingerprint = CursorTenantFingerprint(tenant_id);
  std::vector<EventPtr> batch;
  batch.reserve(page.changes.size());
  for (storage::ChangeRecord& change : page.changes)
    batch.push_back(MakeEvent(fingerprint, change));

  Snapshot snapshot;
  std::vector<std::string> wake_keys;
  std::vector<WatcherPtr> expired;
  {
    std::lock_guard lock(mu_);
    const auto it = tenants_.find(tenant_id);
    if (it == tenants_.end()) return;  // cannot happen: a reading tenant is kept
    TenantState& t = it->second;
    if (shutdown_ || t.last_seq != from) {
      t.reading = false;
      return;
    }
    if (page.head.pruned_through > t.last_seq ||
        (!batch.empty() && batch.front()->seq != t.last_seq + 1)) {
      // The hub fell behind the retention (or the feed has a gap): its
      // watchers missed changes. They end, and their clients resume from their
      // last event, which answers 410 and makes them list again.
      LogWarn("job watch: changes were deleted before the watchers got them",
              {{"tenant_id", tenant_id}, {"last_seq", static_cast<long long>(t.last_seq)}});
      expired = t.attached;
      for (const WatcherPtr& w : expired) DeregisterLocked(w);
      t.ring.clear();
      t.recent_jobs.clear();
      t.last_seq =
          batch.empty() ? std::max(t.last_seq, page.head.pruned_through) : batch.front()->seq - 1;
      for (const auto& [job_id, count] : t.parked_jobs) {
        wake_keys.push_back(WaitKey(tenant_id, job_id));
      }
    }
    AppendLocked(t, batch);
    snapshot = t.snapshot;
    if (!t.parked_jobs.empty()) {
      for (const EventPtr& event : batch) {
        if (t.parked_jobs.contains(event->job_id)) {
          wake_keys.push_back(WaitKey(tenant_id, event->job_id));
        }
      }
    }
  }
  for (const WatcherPtr& w : expired) {
    CountDrop(*w, DropReason::kExpired);
    w->stream->Close();
  }

  if (!batch.empty() && !snapshot->empty()) {
    const std::vector<WatcherPtr> slow = FanOut(batch, *snapshot);
    const std::int64_t now_us = SystemNowUs();
    for (const EventPtr& event : batch) {
      lag_->Observe(static_cast<double>(std::max<std::int64_t>(now_us - event->created_us, 0)) /
                    1e6);
    }
    if (!slow.empty()) Drop(slow, DropReason::kSlow);
  }
  std::sort(wake_keys.begin(), wake_keys.end());
  wake_keys.erase(std::unique(wake_keys.begin(), wake_keys.end()), wake_keys.end());
  for (const std::string& key : wake_keys) waiters_.Notify(key);

  // The next read starts only now, so that batches reach each stream in order.
  std::optional<std::int64_t> next;
  {
    std::lock_guard lock(mu_);
    TenantState& t = tenants_.at(tenant_id);
    if (!shutdown_ && (full || t.read_again)) {
      t.read_again = false;
      next = t.last_seq;
    } else {
      t.reading = false;
    }
  }
  if (next) StartRead(tenant_id, *next);
}

// Writes each change once per stream that selects it. A watcher that selects
// every change of the batch gets the batch's bytes, built once; the others get
// their matching events concatenated. No lock is held: the snapshot is
// immutable, and a stream's own lock orders its writes.
std::vector<WatcherPtr> JobWatchHub::Impl::FanOut(const std::vector<EventPtr>& batch,
                                                  const std::vector<WatcherPtr>& watchers) {
  std::string all;
  std::size_t all_bytes = 0;
  for (const EventPtr& event : batch) all_bytes += event->sse.size();
  all.reserve(all_bytes);
  for (const EventPtr& event : batch) all += event->sse;

  std::vector<WatcherPtr> slow;
  std::uint64_t written = 0;
  std::string own;
  for (const WatcherPtr& w : watchers) {
    if (w->ended.load(std::memory_order_relaxed)) continue;
    bool ok = true;
    if (w->selector.all() && w->skip_through < batch.front()->seq) {
      ok = w->stream->Write(all);
      written += ok ? batch.size() : 0;
    } else {
      own.clear();
      std::size_t matched = 0;
      for (const EventPtr& event : batch) {
        if (event->seq > w->skip_through && w->selector.Matches(*event)) {
          own += event->sse;
          ++matched;
        }
      }
      if (matched == 0) continue;
      ok = matched == batch.size() ? w->stream->Write(all) : w->stream->Write(own);
      written += ok ? matched : 0;
    }
    if (!ok) slow.push_back(w);
  }
  events_->Add(written);
  return slow;
}

void JobWatchHub::Impl::StartInitRead(const std::string& tenant_id) {
  ReadFeed(tenant_id, kHeadOnly, 1, [this, tenant_id](Result<storage::ChangePage> r) {
    OnInitRead(tenant_id, std::move(r));
  });
}

void JobWatchHub::Impl::OnInitRead(const std::string& tenant_id,
                                   Result<storage::ChangePage> result) {
  Followup followup;
  {
    std::lock_guard lock(mu_);
    const auto it = tenants_.find(tenant_id);
    if (it == tenants_.end()) return;
    TenantState& t = it->second;
    t.initializing = false;
    if (!result) {
      LogWarn("job watch: reading the change feed head failed; retried at the next recheck",
              {{"tenant_id", tenant_id}, {"error", result.error().message}});
      return;
    }
    if (shutdown_ || t.initialized) return;  // a watch caught up first
    followup = InitializeLocked(tenant_id, t, result->head.last_seq);
  }
  RunFollowup(tenant_id, std::move(followup));
}

void JobWatchHub::Impl::RunFollowup(const std::string& tenant_id, Followup followup) {
  for (const std::string& key : followup.wake_keys) waiters_.Notify(key);
  if (followup.read_from) StartRead(tenant_id, *followup.read_from);
}

// ---- Long poll

Status JobWatchHub::Impl::ParkProjection(std::string tenant_id, std::string job_id,
                                         std::int64_t version, SteadyTime::time_point deadline,
                                         std::function<void(bool)> wake) {
  std::string key = WaitKey(tenant_id, job_id);
  std::uint64_t seen = 0;
  bool initialize = false;
  std::optional<bool> wake_now;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) {
      wake_now = true;
    } else {
      if (auto refused = CheckLimitsLocked(tenant_id)) return *std::move(refused);
      TenantState& t = TenantLocked(tenant_id);
      const auto recent = t.recent_jobs.find(job_id);
      if (recent != t.recent_jobs.end() && recent->second.projection_version > version) {
        // Fanned out between the caller's read and now: read again.
        wake_now = false;
      } else {
        // Counted under the lock that also covers the fan-out's look at
        // parked_jobs, and `seen` read under it: a change appended after
        // this point Notifies the key and moves the version Park compares.
        ++t.parked_jobs[job_id];
        ++t.parked;
        ++parked_total_;
        SetGaugesLocked();
        seen = waiters_.Version(key);
        if (!t.initialized && !t.initializing) {
          t.initializing = true;
          initialize = true;
        }
      }
    }
  }
  if (wake_now) {
    wake(*wake_now);
    return Ok{};
  }
  if (initialize) StartInitRead(tenant_id);
  waiters_.Park(key, seen, deadline,
                [this, tenant_id = std::move(tenant_id), job_id = std::move(job_id),
                 wake = std::move(wake)](bool final) {
                  Unpark(tenant_id, job_id);
                  wake(final);
                });
  return Ok{};
}

void JobWatchHub::Impl::Unpark(const std::string& tenant_id, const std::string& job_id) {
  std::lock_guard lock(mu_);
  --parked_total_;
  SetGaugesLocked();
  const auto it = tenants_.find(tenant_id);
  if (it == tenants_.end()) return;
  TenantState& t = it->second;
  --t.parked;
  const auto job = t.parked_jobs.find(job_id);
  if (job != t.parked_jobs.end() && --job->second == 0) {
    t.parked_jobs.erase(job);
    waiters_.Forget(WaitKey(tenant_id, job_id));
  }
  if (t.Idle()) t.idle_since = SteadyTime::now();
}

// ---- The hub thread

void JobWatchHub::Impl::Loop() {
  const auto heartbeat = std::max(options_.heartbeat, std::chrono::milliseconds(1));
  const auto recheck = std::max(options_.recheck, std::chrono::milliseconds(1));
  SteadyTime::time_point next_heartbeat = SteadyTime::now() + heartbeat;
  SteadyTime::time_point next_recheck = SteadyTime::now() + recheck;
  for (;;) {
    std::vector<std::function<void()>> tasks;
    std::vector<std::weak_ptr<Watcher>> closed;
    std::vector<WatcherPtr> due;
    bool beat = false;
    bool check = false;
    {
      std::unique_lock lock(timer_mu_);
      SteadyTime::time_point next = std::min(next_heartbeat, next_recheck);
      for (const auto& entry : paced_) next = std::min(next, entry.first);
      timer_cv_.wait_until(
          lock, next, [this] { return stop_ || poked_ || !closed_.empty() || !tasks_.empty(); });
      tasks.swap(tasks_);
      if (stop_) {
        // Later ones run where they are posted (Post, Pace).
        std::vector<std::pair<SteadyTime::time_point, WatcherPtr>> paced;
        paced.swap(paced_);
        lock.unlock();
        for (auto& task : tasks) task();
        for (const auto& entry : paced) Advance(entry.second);
        return;
      }
      poked_ = false;
      closed.swap(closed_);
      const SteadyTime::time_point now = SteadyTime::now();
      for (auto it = paced_.begin(); it != paced_.end();) {
        if (it->first <= now) {
          due.push_back(std::move(it->second));
          it = paced_.erase(it);
        } else {
          ++it;
        }
      }
      if (now >= next_heartbeat) {
        beat = true;
        next_heartbeat = now + heartbeat;
      }
      if (now >= next_recheck) {
        check = true;
        next_recheck = now + recheck;
      }
    }
    for (auto& task : tasks) task();
    if (!closed.empty()) {
      std::lock_guard lock(mu_);
      for (const auto& weak : closed) {
        if (const WatcherPtr w = weak.lock()) DeregisterLocked(w);
      }
    }
    for (const WatcherPtr& w : due) Advance(w);
    if (beat) Heartbeat();
    if (check) Recheck();
  }
}

void JobWatchHub::Impl::Heartbeat() {
  std::vector<WatcherPtr> streams;
  {
    std::lock_guard lock(mu_);
    streams.reserve(streams_by_id_.size());
    for (const auto& [id, w] : streams_by_id_) {
      if (w->started && !w->ended) streams.push_back(w);
    }
  }
  std::vector<WatcherPtr> slow;
  for (const WatcherPtr& w : streams) {
    if (!w->stream->Write(": keepalive\n\n")) slow.push_back(w);
  }
  if (!slow.empty()) Drop(slow, DropReason::kSlow);
}

// The safety net: re-reads every followed tenant (a lost notification delays
// a change by at most `recheck`), retries failed head reads, and forgets the
// tenants nobody watched for a whole period.
void JobWatchHub::Impl::Recheck() {
  std::vector<std::pair<std::string, std::int64_t>> reads;
  std::vector<std::string> inits;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return;
    const SteadyTime::time_point now = SteadyTime::now();
    for (auto it = tenants_.begin(); it != tenants_.end();) {
      TenantState& t = it->second;
      if (t.Idle() && !t.reading && !t.initializing && now - t.idle_since >= options_.recheck) {
        it = tenants_.erase(it);
        continue;
      }
      if (t.initialized && !t.reading) {
        t.reading = true;
        t.read_again = false;
        reads.emplace_back(it->first, t.last_seq);
      } else if (t.initialized) {
        t.read_again = true;
      } else if (!t.initializing && t.parked > 0) {
        t.initializing = true;
        inits.push_back(it->first);
      }
      ++it;
    }
  }
  for (const auto& [id, from] : reads) StartRead(id, from);
  for (const std::string& id : inits) StartInitRead(id);
}

// ---- Shutdown and counts

void JobWatchHub::Impl::Shutdown() {
  std::vector<WatcherPtr> streams;
  {
    std::lock_guard lock(mu_);
    if (!shutdown_) {
      shutdown_ = true;
      for (const auto& [id, w] : streams_by_id_) streams.push_back(w);
      for (const WatcherPtr& w : streams) DeregisterLocked(w);
    }
  }
  for (const WatcherPtr& w : streams) {
    if (w->started) CountDrop(*w, DropReason::kShutdown);
    w->stream->Close();
  }
  waiters_.Shutdown();
  std::lock_guard lock(timer_mu_);
  stop_ = true;
  timer_cv_.notify_one();
}

std::size_t JobWatchHub::Impl::watchers() const {
  std::lock_guard lock(mu_);
  return streams_by_id_.size() + parked_total_;
}

std::size_t JobWatchHub::Impl::tracked_tenants() const {
  std::lock_guard lock(mu_);
  return tenants_.size();
}

// ---- JobWatchHub

JobWatchHub::JobWatchHub(WatchOptions options, storage::JobFeedStore& feed,
                         MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(options, feed, metrics)) {}

JobWatchHub::~JobWatchHub() = default;

void JobWatchHub::Watch(std::string tenant_id, WatchFilter filter,
                        std::optional<std::int64_t> after_seq, std::string_view cursor_name,
                        std::function<void(Result<Started>)> done) {
  impl_->Watch(std::move(tenant_id), std::move(filter), after_seq, cursor_name, std::move(done));
}

Status JobWatchHub::ParkProjection(std::string tenant_id, std::string job_id, std::int64_t version,
                                   std::chrono::steady_clock::time_point deadline,
                                   std::function<void(bool final)> wake) {
  return impl_->ParkProjection(std::move(tenant_id), std::move(job_id), version, deadline,
                               std::move(wake));
}

void JobWatchHub::Shutdown() { impl_->Shutdown(); }

std::size_t JobWatchHub::watchers() const { return impl_->watchers(); }

std::size_t JobWatchHub::TrackedTenantsForTest() const { return impl_->tracked_tenants(); }

}  // namespace rtgw::api
