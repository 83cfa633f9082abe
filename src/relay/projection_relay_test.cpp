// The relay against a real SQLite outbox and a real HTTP sink on loopback.
#include "relay/projection_relay.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "http/server.hpp"
#include "relay/webhook_signer.hpp"
#include "storage/sqlite/sqlite_test_support.hpp"

namespace rtgw::relay {
namespace {

using namespace storage;  // NOLINT(google-build-using-namespace)
using storage::sqlite::SqliteJobStore;
using storage::sqlite::SqliteOptions;
using namespace storage::sqlite::test_support;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Received {
  std::string webhook_id;
  std::string tenant_id;
  std::string job_id;
  std::int64_t version = 0;
  std::string status;
};

// A product sink: verifies every signature, answers per `decide` (status
// code for the n-th request), and records what it accepted.
class RecordingSink final : public http::Handler {
 public:
  explicit RecordingSink(std::function<int(int)> decide = [](int) { return 200; })
      : decide_(std::move(decide)), signer_(WebhookSigner::Create(kSecret).value()) {}

  void Handle(http::Request request, http::Respond respond) override {
    const int n = requests_.fetch_add(1);
    const std::string id(request.Header("webhook-id"));
    const std::string ts(request.Header("webhook-timestamp"));
    const std::string sig(request.Header("webhook-signature"));
    if (sig != signer_.Sign(id, std::stoll(ts.empty() ? "0" : ts), request.body)) {
      bad_signatures_.fetch_add(1);
      respond(http::Response{.status = 401, .body = R"({"error":"bad signature"})"});
      return;
    }
    const int status = decide_(n);
    if (status >= 200 && status < 300) {
      boost::json::object o = boost::json::parse(request.body).as_object();
      std::lock_guard lock(mu_);
      accepted_.push_back(Received{.webhook_id = id,
                                   .tenant_id = std::string(o["tenant_id"].as_string()),
                                   .job_id = std::string(o["job_id"].as_string()),
                                   .version = o["projection_version"].as_int64(),
                                   .status = std::string(o["status"].as_string())});
    }
    respond(http::Response{.status = status, .body = "{}"});
  }
  http::Response MakeProtocolError(int status, std::string_view, std::string_view,
                                   const http::Request&) override {
    return http::Response{.status = status};
  }

  std::vector<Received> Accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  int requests() const { return requests_.load(); }
  int bad_signatures() const { return bad_signatures_.load(); }

 private:
  std::function<int(int)> decide_;
  WebhookSigner signer_;
  std::atomic<int> requests_{0};
  std::atomic<int> bad_signatures_{0};
  std::mutex mu_;
  std::vector<Received> accepted_;
};

// Runs a sink on 127.0.0.1:<free port> for the test's lifetime.
class SinkServer {
 public:
  explicit SinkServer(RecordingSink& sink) : server_(Options(), sink) {
    EXPECT_TRUE(server_.Listen().ok());
    thread_ = std::thread([this] { server_.Run(/*handle_signals=*/false); });
  }
  ~SinkServer() {
    server_.Stop();
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_.Port()) + "/hook"; }

 private:
  static http::ServerOptions Options() {
    http::ServerOptions o;
    o.port = 0;
    o.io_threads = 2;
    return o;
  }
  http::Server server_;
  std::thread thread_;
};

RelayOptions FastOptions(const std::string& url) {
  RelayOptions o;
  o.url = url;
  o.secret = kSecret;
  o.workers = 4;
  o.max_attempts = 3;
  o.backoff_base = milliseconds(5);
  o.backoff_max = milliseconds(20);
  o.request_timeout = milliseconds(2'000);
  o.lease = milliseconds(5'000);
  o.poll_interval = milliseconds(20);
  return o;
}

std::unique_ptr<SqliteJobStore> OpenOutboxStore(const TempDir& dir) {
  SqliteOptions o = OptionsFor(dir);
  o.write_outbox = true;
  return OpenOrDie(o);
}

// Submit + queued + running + completed for `jobs` jobs: 4 updates each.
void WriteLifecycles(SqliteJobStore& store, int jobs) {
  for (int i = 0; i < jobs; ++i) {
    SubmitRecord job = MakeSubmit("t1", "job-" + std::to_string(i), "key-" + std::to_string(i));
    ASSERT_TRUE(SubmitSync(store, job).ok());
    ASSERT_TRUE(AppendSync(store, MakeEvent(job, "q", JobState::kQueued)).ok());
    ASSERT_TRUE(AppendSync(store, MakeEvent(job, "r", JobState::kRunning)).ok());
    ASSERT_TRUE(AppendSync(store, MakeEvent(job, "c", JobState::kCompleted)).ok());
  }
}

// Every job's accepted versions are exactly 1..n, in order, each once.
void ExpectOrderedExactlyOnce(const std::vector<Received>& got, int jobs, int per_job) {
  std::map<std::string, std::vector<std::int64_t>> by_job;
  for (const Received& r : got) by_job[r.job_id].push_back(r.version);
  ASSERT_EQ(static_cast<int>(by_job.size()), jobs);
  for (const auto& [job, versions] : by_job) {
    std::vector<std::int64_t> want;
    for (int v = 1; v <= per_job; ++v) want.push_back(v);
    EXPECT_EQ(versions, want) << job;
  }
}

template <class Pred>
bool Eventually(Pred pred, milliseconds limit = milliseconds(15'000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

TEST(ProjectionRelay, DeliversEveryUpdateSignedInOrderPerJob) {
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  ASSERT_TRUE(store);
  RecordingSink sink;
  SinkServer server(sink);
  MetricsRegistry metrics;
  auto relay = ProjectionRelay::Create(FastOptions(server.Url()), *store, &metrics);
  ASSERT_TRUE(relay.ok()) << relay.error().message;
  store->SetOutboxListener([r = relay->get()] { r->Wake(); });
  ASSERT_TRUE((*relay)->Start().ok());
  WriteLifecycles(*store, 20);
  ASSERT_TRUE(Eventually([&] { return sink.Accepted().size() >= 80; })) << sink.Accepted().size();
  (*relay)->Stop();
  ExpectOrderedExactlyOnce(sink.Accepted(), 20, 4);
  EXPECT_EQ(sink.bad_signatures(), 0);
  for (const Received& r : sink.Accepted()) {
    EXPECT_EQ(r.webhook_id, ProjectionWebhookId(r.tenant_id, r.job_id, r.version));
    if (r.version == 4) {
      EXPECT_EQ(r.status, "finished");
    }
  }
  EXPECT_EQ((*relay)->GetStatus().delivered_total, 80);
  const std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("rtgw_relay_deliveries_total{result=\"delivered\"} 80"), std::string::npos);
  EXPECT_NE(text.find("rtgw_projection_lag_seconds_count 80"), std::string::npos) << text;
}

// A slow sink behind a long claim queue: an update that waited in the queue
// until too little of its lease was left is not sent (it could outlive the
// lease and race the next owner); it is claimed again and sent once, in order.
TEST(ProjectionRelay, QueuedUpdatesWhoseLeaseRanShortAreReclaimedNotSentLate) {
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  ASSERT_TRUE(store);
  RecordingSink sink([](int) {
    std::this_thread::sleep_for(milliseconds(25));
    return 200;
  });
  SinkServer server(sink);
  RelayOptions o = FastOptions(server.Url());
  o.workers = 1;
  o.request_timeout = milliseconds(60);
  o.lease = milliseconds(120);
  auto relay = ProjectionRelay::Create(o, *store, nullptr);
  ASSERT_TRUE(relay.ok()) << relay.error().message;
  WriteLifecycles(*store, 10);  // 10 heads claimable at once, far more than 120 ms of work
  ASSERT_TRUE((*relay)->Start().ok());
  ASSERT_TRUE(Eventually([&] { return sink.Accepted().size() >= 40; }, milliseconds(60'000)))
      << sink.Accepted().size();
  std::this_thread::sleep_for(milliseconds(300));  // anything sent late would show up now
  (*relay)->Stop();
  ExpectOrderedExactlyOnce(sink.Accepted(), 10, 4);
  EXPECT_EQ(sink.requests(), 40);
}

TEST(ProjectionRelay, RetriesThroughSinkErrorsWithoutReordering) {
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  ASSERT_TRUE(store);
  // Every third request fails: 500s interleave with successes.
  RecordingSink sink([](int n) { return n % 3 == 0 ? 500 : 200; });
  SinkServer server(sink);
  RelayOptions options = FastOptions(server.Url());
  options.max_attempts = 50;
  auto relay = ProjectionRelay::Create(options, *store, nullptr);
  ASSERT_TRUE(relay.ok());
  store->SetOutboxListener([r = relay->get()] { r->Wake(); });
  ASSERT_TRUE((*relay)->Start().ok());
  WriteLifecycles(*store, 10);
  ASSERT_TRUE(Eventually([&] { return sink.Accepted().size() >= 40; }));
  (*relay)->Stop();
  ExpectOrderedExactlyOnce(sink.Accepted(), 10, 4);
  EXPECT_GT((*relay)->GetStatus().failed_attempts_total, 0);
}

TEST(ProjectionRelay, DeadLetterAfterMaxAttemptsBlocksTheJobUntilReplayed) {
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  ASSERT_TRUE(store);
  std::atomic<bool> sink_up{false};
  RecordingSink sink([&](int) { return sink_up.load() ? 200 : 503; });
  SinkServer server(sink);
  auto relay = ProjectionRelay::Create(FastOptions(server.Url()), *store, nullptr);
  ASSERT_TRUE(relay.ok());
  store->SetOutboxListener([r = relay->get()] { r->Wake(); });
  ASSERT_TRUE((*relay)->Start().ok());
  WriteLifecycles(*store, 1);
  auto dead_letters = [&] {
    return Await<std::vector<OutboxItem>>([&](Callback<std::vector<OutboxItem>> cb) {
             store->ListDeadLetters(std::nullopt, 10, cb);
           })
        .value();
  };
  ASSERT_TRUE(Eventually([&] { return dead_letters().size() == 1; }));
  EXPECT_EQ(sink.requests(), 3);  // max_attempts, then it stopped trying
  std::vector<OutboxItem> dead = dead_letters();
  EXPECT_EQ(dead[0].projection_version, 1);
  EXPECT_EQ(dead[0].attempts, 3);
  EXPECT_EQ(dead[0].last_error, "HTTP 503: {}");
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(sink.requests(), 3) << "versions 2..4 wait behind the dead head";

  sink_up = true;
  ASSERT_TRUE(Await<bool>([&](Callback<bool> cb) {
                store->ReplayDeadLetter(std::nullopt, dead[0].id, cb);
              }).value());
  (*relay)->Wake();
  ASSERT_TRUE(Eventually([&] { return sink.Accepted().size() >= 4; }));
  (*relay)->Stop();
  ExpectOrderedExactlyOnce(sink.Accepted(), 1, 4);
}

TEST(ProjectionRelay, RefusedConnectionsAreRetriedUntilTheSinkComesUp) {
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  ASSERT_TRUE(store);
  WriteLifecycles(*store, 3);
  RecordingSink sink;
  std::string url;
  {
    SinkServer probe(sink);  // learn a free port, then close it
    url = probe.Url();
  }
  RelayOptions options = FastOptions(url);
  options.max_attempts = 1000;
  auto relay = ProjectionRelay::Create(options, *store, nullptr);
  ASSERT_TRUE(relay.ok());
  ASSERT_TRUE((*relay)->Start().ok());
  ASSERT_TRUE(Eventually([&] { return (*relay)->GetStatus().failed_attempts_total >= 3; }));
  EXPECT_TRUE((*relay)->GetStatus().last_error.has_value());
  (*relay)->Stop();
  EXPECT_TRUE(sink.Accepted().empty());
}

TEST(ProjectionRelay, OptionsAreValidated) {
  RelayOptions o = FastOptions("http://127.0.0.1:1/hook");
  EXPECT_TRUE(ValidateRelayOptions(o).ok());
  RelayOptions bad = o;
  bad.url = "ftp://x/y";
  EXPECT_FALSE(ValidateRelayOptions(bad).ok());
  bad = o;
  bad.url = "http://user:pw@host/x";
  EXPECT_FALSE(ValidateRelayOptions(bad).ok());
  bad = o;
  bad.lease = bad.request_timeout;
  EXPECT_FALSE(ValidateRelayOptions(bad).ok());
  bad = o;
  bad.secret = "short";
  EXPECT_FALSE(ValidateRelayOptions(bad).ok());
}

TEST(ProjectionRelay, BackoffGrowsExponentiallyWithJitterAndCaps) {
  using std::chrono::milliseconds;
  EXPECT_EQ(BackoffDelay(1, milliseconds(100), milliseconds(10'000), 0.0), milliseconds(50));
  EXPECT_EQ(BackoffDelay(1, milliseconds(100), milliseconds(10'000), 0.999), milliseconds(99));
  EXPECT_EQ(BackoffDelay(4, milliseconds(100), milliseconds(10'000), 0.0), milliseconds(400));
  EXPECT_EQ(BackoffDelay(30, milliseconds(100), milliseconds(10'000), 0.0), milliseconds(5'000));
  EXPECT_EQ(BackoffDelay(1000, milliseconds(100), milliseconds(10'000), 1.0), milliseconds(10'000));
}

}  // namespace
}  // namespace rtgw::relay
