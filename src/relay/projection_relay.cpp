#include "relay/projection_relay.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <boost/url/parse.hpp>

#include "common/await.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"
#include "net/curl_http_client.hpp"
#include "relay/webhook_signer.hpp"

namespace rtgw::relay {
namespace {

using std::chrono::milliseconds;

constexpr auto kStatsInterval = std::chrono::seconds(5);
constexpr int kClaimAheadPerWorker = 32;         // claimed updates per worker, at most
constexpr std::size_t kErrorBodyBytesMax = 512;  // of a sink's error answer, kept for the logs

std::string DefaultOwner() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host[0] != '\0' ? host : "relay") + ":" + std::to_string(::getpid()) + ":" +
         RandomHex(4);
}

Result<std::string> SinkOrigin(const std::string& url) {
  boost::system::result<boost::urls::url_view> parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return InvalidArgument("projection URL is not an absolute URL: '" + url + "'");
  const std::string scheme(parsed->scheme());
  if (scheme != "http" && scheme != "https") {
    return InvalidArgument("projection URL must be http:// or https://, got '" + scheme + "://'");
  }
  if (parsed->host().empty()) return InvalidArgument("projection URL has no host");
  if (parsed->has_userinfo()) {
    return InvalidArgument("projection URL must not carry credentials (use the secret)");
  }
  std::string origin = scheme + "://" + std::string(parsed->encoded_host_and_port());
  return origin;
}

std::vector<double> LagBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace

Status ValidateRelayOptions(const RelayOptions& o) {
  if (Result<std::string> origin = SinkOrigin(o.url); !origin) return std::move(origin).error();
  if (Result<WebhookSigner> s = WebhookSigner::Create(o.secret); !s) return std::move(s).error();
  if (o.workers < 1 || o.workers > 256) return InvalidArgument("relay workers must be 1..256");
  if (o.max_attempts < 1 || o.max_attempts > 1000) {
    return InvalidArgument("relay max attempts must be 1..1000");
  }
  if (o.backoff_base.count() < 1 || o.backoff_max < o.backoff_base) {
    return InvalidArgument("relay backoff: base must be >= 1ms and max >= base");
  }
  if (o.request_timeout.count() < 10)
    return InvalidArgument("relay request timeout must be >= 10ms");
  if (o.lease < o.request_timeout * 2) {
    // A POST still running when its lease runs out could reach the sink after
    // a newer version delivered by another relay.
    return InvalidArgument("relay lease must be at least twice the request timeout");
  }
  if (o.poll_interval.count() < 1) return InvalidArgument("relay poll interval must be >= 1ms");
  return Ok{};
}

milliseconds BackoffDelay(int failed_attempts, milliseconds base, milliseconds max,
                          double unit_random) {
  const int exponent = std::clamp(failed_attempts - 1, 0, 40);
  const double full = std::min(static_cast<double>(base.count()) * std::ldexp(1.0, exponent),
                               static_cast<double>(max.count()));
  const double jittered = full / 2 + full / 2 * std::clamp(unit_random, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(jittered));
}

class ProjectionRelay::Impl {
 public:
  Impl(RelayOptions o, std::string origin, WebhookSigner signer, storage::OutboxStore& store,
       MetricsRegistry* metrics, net::HttpClient* http, Clock* clock)
      : o_(std::move(o)),
        signer_(std::move(signer)),
        store_(store),
        own_http_(http != nullptr
                      ? nullptr
                      : std::make_unique<net::CurlHttpClient>(net::CurlHttpClientOptions{
                            .keep_alive = true, .user_agent = "rtgw-relay"})),
        http_(http != nullptr ? *http : *own_http_),
        clock_(clock != nullptr ? *clock : steady_clock_) {
    status_.sink = std::move(origin);
    if (o_.owner.empty()) o_.owner = DefaultOwner();
    if (metrics != nullptr) {
      const char* help = "ProjectionUpdate delivery attempts by outcome.";
      delivered_ =
          metrics->GetCounter("rtgw_relay_deliveries_total", help, {{"result", "delivered"}});
      retried_ = metrics->GetCounter("rtgw_relay_deliveries_total", help, {{"result", "retry"}});
      dead_ = metrics->GetCounter("rtgw_relay_deliveries_total", help, {{"result", "dead"}});
      attempt_seconds_ = metrics->GetHistogram("rtgw_relay_attempt_seconds",
                                               "Duration of one POST to the projection sink.", {},
                                               MetricsRegistry::LatencyBucketsSeconds());
      lag_seconds_ = metrics->GetHistogram(
          "rtgw_projection_lag_seconds",
          "Time from the state change's commit (outbox row) to the sink's 2xx.", {}, LagBuckets());
      backlog_ = metrics->GetGauge("rtgw_outbox_backlog",
                                   "Undelivered ProjectionUpdates that are not dead letters.", {});
      dead_letters_ = metrics->GetGauge("rtgw_outbox_dead_letters",
                                        "ProjectionUpdates the relay gave up on.", {});
      oldest_ = metrics->GetGauge("rtgw_outbox_oldest_undelivered_seconds",
                                  "Age of the oldest undelivered ProjectionUpdate.", {});
    }
  }

  ~Impl() { Stop(); }

  Status Start() {
    std::lock_guard lock(mu_);
    if (started_) return Ok{};
    try {
      for (int i = 0; i < o_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
      dispatcher_ = std::thread([this] { DispatcherLoop(); });
    } catch (const std::exception& e) {
      stopping_ = true;
      work_cv_.notify_all();
      return Unavailable(std::string("relay: cannot start threads: ") + e.what());
    }
    started_ = true;
    status_.running = true;
    LogInfo("projection relay started", {{"sink", status_.sink},
                                         {"owner", o_.owner},
                                         {"workers", o_.workers},
                                         {"max_attempts", o_.max_attempts}});
    return Ok{};
  }

  // Idempotent; also joins whatever threads a failed Start() got going.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    work_cv_.notify_all();
    if (dispatcher_.joinable()) dispatcher_.join();
    for (std::thread& t : workers_) {
      if (t.joinable()) t.join();
    }
    std::unique_lock lock(mu_);
    // The store answers every call exactly once (also when it closes), and
    // those callbacks use this object: wait for them.
    cv_.wait(lock, [this] { return store_ops_ == 0; });
    if (started_) LogInfo("projection relay stopped", {{"owner", o_.owner}});
    started_ = false;
    status_.running = false;
  }

  void Wake() {
    {
      std::lock_guard lock(mu_);
      wake_ = true;
    }
    cv_.notify_one();
  }

  RelayStatus GetStatus() const {
    std::lock_guard lock(mu_);
    return StatusLocked();
  }

  void GetLiveStatus(std::function<void(RelayStatus)> done) {
    {
      std::lock_guard lock(mu_);
      live_waiters_.push_back(std::move(done));
      if (live_waiters_.size() > 1) return;  // a read is running: its answer serves this one too
      ++store_ops_;                          // Stop() waits for the answer
    }
    store_.GetOutboxStats([this](Result<storage::OutboxStats> stats) {
      if (stats) ApplyStats(*stats);
      std::vector<std::function<void(RelayStatus)>> waiters;
      RelayStatus s;
      {
        std::lock_guard lock(mu_);
        waiters.swap(live_waiters_);
        s = StatusLocked();
      }
      for (auto& w : waiters) w(s);
      EndStoreOp();
    });
  }

 private:
  void DispatcherLoop() {
    auto next_stats = clock_.Now();
    for (;;) {
      int want = 0;
      {
        std::unique_lock lock(mu_);
        clock_.WaitUntil(lock, cv_, clock_.Now() + o_.poll_interval,
                         [this] { return stopping_ || wake_; });
        if (stopping_) return;
        wake_ = false;
        // Claim well ahead of the workers: a claim is one store round trip
        // (a commit), so a small batch would cap deliveries at batch / commit
        // latency under load. Queued rows wait milliseconds, far below the lease.
        want = o_.workers * kClaimAheadPerWorker - busy_ - static_cast<int>(queue_.size());
      }
      if (want > 0) Claim(want);
      if (clock_.Now() >= next_stats) {
        RefreshStats();
        next_stats = clock_.Now() + kStatsInterval;
      }
    }
  }

  void Claim(int want) {
    // A queued row must still be ours when its POST ends: start it only while
    // at least one request timeout of the lease is left (counted from before
    // the claim). The lease is at least two request timeouts long.
    const Clock::TimePoint start_by = clock_.Now() + o_.lease - o_.request_timeout;
    Result<std::vector<storage::OutboxItem>> items = Await<std::vector<storage::OutboxItem>>(
        [&](auto cb) { store_.ClaimOutbox(o_.owner, o_.lease, want, std::move(cb)); });
    if (!items) {
      LogWarn("projection relay: claim failed", {{"error", items.error().message}});
      return;
    }
    if (items->empty()) return;
    {
      std::lock_guard lock(mu_);
      for (storage::OutboxItem& item : *items) queue_.push_back({std::move(item), start_by});
    }
    work_cv_.notify_all();
  }

  // Failing NOW: one failed attempt since the last delivery is enough (a
  // health probe must not say "ok" while every POST fails).
  RelayStatus StatusLocked() const {
    RelayStatus s = status_;
    s.in_flight = busy_ + static_cast<std::int64_t>(queue_.size());
    s.degraded = s.outbox.dead > 0 || s.consecutive_failures > 0;
    return s;
  }

  void RefreshStats() {
    Result<storage::OutboxStats> stats =
        Await<storage::OutboxStats>([&](auto cb) { store_.GetOutboxStats(std::move(cb)); });
    if (stats) ApplyStats(*stats);
  }

  void ApplyStats(const storage::OutboxStats& stats) {
    if (backlog_ != nullptr) backlog_->Set(stats.pending);
    if (dead_letters_ != nullptr) dead_letters_->Set(stats.dead);
    if (oldest_ != nullptr) {
      oldest_->Set(static_cast<std::int64_t>(stats.oldest_pending_age_seconds));
    }
    std::lock_guard lock(mu_);
    status_.outbox = stats;
  }

  void WorkerLoop() {
    std::mt19937_64 rng(std::random_device{}());
    for (;;) {
      Queued queued;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;  // queued rows keep their lease until it expires
        queued = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
      }
      if (clock_.Now() <= queued.start_by) {
        Deliver(rng, queued.item);
      } else {
        // Waited too long behind a slow sink: sending now could outlive the
        // lease and race whoever takes the row next (and an older version
        // could then arrive after a newer one). Left to be claimed again.
        LogInfo("projection update left for re-claim (lease too short to send)",
                {{"tenant_id", queued.item.tenant_id},
                 {"job_id", queued.item.job_id},
                 {"projection_version", static_cast<long long>(queued.item.projection_version)}});
      }
      {
        std::lock_guard lock(mu_);
        --busy_;
      }
      Wake();  // the job's next version may be a head now
    }
  }

  void Deliver(std::mt19937_64& rng, const storage::OutboxItem& item) {
    const std::string webhook_id =
        ProjectionWebhookId(item.tenant_id, item.job_id, item.projection_version);
    const std::int64_t timestamp = UnixNow<std::chrono::seconds>();
    // A measurement of the sink, not a decision: real time, not clock_.
    const auto start = std::chrono::steady_clock::now();
    const net::HttpResponse post = http_.Send(
        {.method = "POST",
         .url = o_.url,
         .headers = {{"Content-Type", "application/json"},
                     {"webhook-id", webhook_id},
                     {"webhook-timestamp", std::to_string(timestamp)},
                     {"webhook-signature", signer_.Sign(webhook_id, timestamp, item.payload_json)}},
         .body = item.payload_json,
         .timeout = o_.request_timeout,
         .body_bytes_max = kErrorBodyBytesMax,
         .truncate_body = true});
    if (attempt_seconds_ != nullptr) {
      attempt_seconds_->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (post.status >= 200 && post.status < 300) {
      Delivered(item);
      return;
    }
    const std::string error = post.status == 0 ? post.error
                                               : "HTTP " + std::to_string(post.status) +
                                                     (post.body.empty() ? "" : ": " + post.body);
    const int failed = item.attempts + 1;
    const bool dead = failed >= o_.max_attempts;
    const milliseconds delay = BackoffDelay(failed, o_.backoff_base, o_.backoff_max,
                                            std::uniform_real_distribution<double>(0.0, 1.0)(rng));
    if (Counter* c = dead ? dead_ : retried_; c != nullptr) c->Add();
    {
      std::lock_guard lock(mu_);
      ++status_.failed_attempts_total;
      ++status_.consecutive_failures;
      status_.last_error = error;
      if (dead) ++status_.outbox.dead;
    }
    const std::initializer_list<LogField> fields = {
        {"tenant_id", item.tenant_id},
        {"job_id", item.job_id},
        {"projection_version", static_cast<long long>(item.projection_version)},
        {"webhook_id", webhook_id},
        {"attempt", failed},
        {"error", error},
        {"retry_in_ms", static_cast<long long>(dead ? -1 : delay.count())}};
    if (dead) {
      LogError("projection update dead-lettered", fields);
    } else {
      LogWarn("projection delivery failed", fields);
    }
    // Recorded asynchronously: the row keeps our lease until the store has
    // it, so nobody claims it meanwhile.
    BeginStoreOp();
    store_.FailOutbox(
        o_.owner, item.id, error, delay, dead, [this, id = item.id](Result<bool> recorded) {
          if (!recorded.ok() || !*recorded) {
            LogWarn(
                "projection failure not recorded",
                {{"outbox_id", static_cast<long long>(id)},
                 {"reason", recorded.ok() ? std::string("lease lost") : recorded.error().message}});
          }
          EndStoreOp();
        });
  }

  void Delivered(const storage::OutboxItem& item) {
    const auto now = std::chrono::system_clock::now();
    if (std::optional<SystemTime> created = ParseRfc3339(item.created_at)) {
      if (lag_seconds_ != nullptr) {
        lag_seconds_->Observe(std::max(0.0, std::chrono::duration<double>(now - *created).count()));
      }
    }
    if (delivered_ != nullptr) delivered_->Add();
    {
      std::lock_guard lock(mu_);
      ++status_.delivered_total;
      status_.consecutive_failures = 0;
      status_.last_delivery_at = FormatRfc3339(now);
    }
    // Completed asynchronously, so this worker takes its next update at once;
    // the job's next version becomes a head when the delete commits, and the
    // callback wakes the dispatcher to claim it.
    BeginStoreOp();
    store_.CompleteOutbox(
        o_.owner, item.id,
        [this, tenant = item.tenant_id, job = item.job_id,
         version = item.projection_version](Result<bool> done) {
          if (!done.ok() || !*done) {
            // Delivered, but the row stays: another relay holds it now (or
            // the store is down) and sends it again; the sink dedupes.
            LogWarn("projection delivered but not completed",
                    {{"tenant_id", tenant},
                     {"job_id", job},
                     {"projection_version", static_cast<long long>(version)},
                     {"reason", done.ok() ? std::string("lease lost") : done.error().message}});
          }
          EndStoreOp();
        });
  }

  void BeginStoreOp() {
    std::lock_guard lock(mu_);
    ++store_ops_;
  }

  // Called on a store thread once a completion/failure is durable. Notifies while holding mu_:
  // Stop() returns (and ~Impl destroys cv_) as soon as it sees store_ops_ == 0, so a notify
  // after the unlock could touch a destroyed condition variable (ThreadSanitizer saw it:
  // pthread_cond_broadcast racing pthread_cond_destroy).
  void EndStoreOp() {
    std::lock_guard lock(mu_);
    --store_ops_;
    wake_ = true;
    cv_.notify_all();
  }

  RelayOptions o_;
  const WebhookSigner signer_;
  storage::OutboxStore& store_;
  std::unique_ptr<net::HttpClient> own_http_;  // when Create got none
  net::HttpClient& http_;
  SteadyClock steady_clock_;
  Clock& clock_;  // steady_clock_ when Create got none
  Counter* delivered_ = nullptr;
  Counter* retried_ = nullptr;
  Counter* dead_ = nullptr;
  Histogram* attempt_seconds_ = nullptr;
  Histogram* lag_seconds_ = nullptr;
  Gauge* backlog_ = nullptr;
  Gauge* dead_letters_ = nullptr;
  Gauge* oldest_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // dispatcher: wake or stop
  std::condition_variable work_cv_;  // workers: queue or stop
  struct Queued {
    storage::OutboxItem item;
    Clock::TimePoint start_by;  // after this, too little lease is left to send
  };
  std::deque<Queued> queue_;  // GUARDED_BY(mu_)
  int busy_ = 0;              // GUARDED_BY(mu_)
  int store_ops_ = 0;         // GUARDED_BY(mu_): completions/failures the store has not answered
  bool wake_ = true;          // GUARDED_BY(mu_): claim once at start
  bool stopping_ = false;     // GUARDED_BY(mu_)
  bool started_ = false;      // GUARDED_BY(mu_)
  RelayStatus status_;        // GUARDED_BY(mu_)
  // GUARDED_BY(mu_): callers of GetLiveStatus waiting for the running outbox read.
  std::vector<std::function<void(RelayStatus)>> live_waiters_;
  std::thread dispatcher_;
  std::vector<std::thread> workers_;
};

Result<std::unique_ptr<ProjectionRelay>> ProjectionRelay::Create(RelayOptions options,
                                                                 storage::OutboxStore& store,
                                                                 MetricsRegistry* metrics,
                                                                 net::HttpClient* http,
                                                                 Clock* clock) {
  if (Status s = ValidateRelayOptions(options); !s) return std::move(s).error();
  Result<std::string> origin = SinkOrigin(options.url);
  if (!origin) return std::move(origin).error();
  Result<WebhookSigner> signer = WebhookSigner::Create(options.secret);
  if (!signer) return std::move(signer).error();
  return std::unique_ptr<ProjectionRelay>(new ProjectionRelay(
      std::make_unique<Impl>(std::move(options), std::move(origin).value(),
                             std::move(signer).value(), store, metrics, http, clock)));
}

ProjectionRelay::ProjectionRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProjectionRelay::~ProjectionRelay() = default;
Status ProjectionRelay::Start() { return impl_->Start(); }
void ProjectionRelay::Stop() { impl_->Stop(); }
void ProjectionRelay::Wake() { impl_->Wake(); }
RelayStatus ProjectionRelay::GetStatus() const { return impl_->GetStatus(); }
void ProjectionRelay::GetLiveStatus(std::function<void(RelayStatus)> done) {
  impl_->GetLiveStatus(std::move(done));
}

}  // namespace rtgw::relay
