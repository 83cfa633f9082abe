// The relay against a real SQLite outbox. The HTTP side is a real sink on
// loopback where the wire is the point (delivery end to end, refused
// connections), and a fake client elsewhere; time is a fake clock wherever the
// test is about the relay's timing (polls, the lease check before a POST).
#include "relay/projection_relay.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/fake_clock.hpp"
#include "net/fake_http_client.hpp"
#include "net/loopback_server.hpp"
#include "relay/webhook_signer.hpp"
#include "storage/sqlite/sqlite_test_support.hpp"

namespace rtgw::relay {
namespace {

using namespace storage;  // NOLINT(google-build-using-namespace)
using storage::sqlite::SqliteDatabase;
using storage::sqlite::SqliteOptions;
using namespace storage::sqlite::test_support;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kFakeUrl = "http://sink.test/hook";

struct Received {
  std::string webhook_id;
  std::string tenant_id;
  std::string job_id;
  std::int64_t version = 0;
  std::string status;
};

// A product sink: verifies every signature, answers per `decide` (status
// code for the n-th request), and records what it accepted. Served either on
// loopback (Serve) or through a fake HTTP client (Install).
class RecordingSink {
 public:
  explicit RecordingSink(std::function<int(int)> decide = [](int) { return 200; })
      : decide_(std::move(decide)), signer_(WebhookSigner::Create(kSecret).value()) {}

  // Status for one delivery; `header` looks a (lowercase) header up.
  int Receive(const std::function<std::string(std::string_view)>& header, const std::string& body) {
    const int n = requests_.fetch_add(1);
    const std::string id = header("webhook-id");
    const std::string ts = header("webhook-timestamp");
    if (header("webhook-signature") != signer_.Sign(id, std::stoll(ts.empty() ? "0" : ts), body)) {
      bad_signatures_.fetch_add(1);
      return 401;
    }
    const int status = decide_(n);
    if (status >= 200 && status < 300) {
      boost::json::object o = boost::json::parse(body).as_object();
      std::lock_guard lock(mu_);
      accepted_.push_back(Received{.webhook_id = id,
                                   .tenant_id = std::string(o["tenant_id"].as_string()),
                                   .job_id = std::string(o["job_id"].as_string()),
                                   .version = o["projection_version"].as_int64(),
                                   .status = std::string(o["status"].as_string())});
    }
    return status;
  }

  net::FunctionHandler::HandleFunction Serve() {
    return [this](http::Request request, const http::Respond& respond) {
      auto header = [&](std::string_view name) { return std::string(request.Header(name)); };
      respond(http::Response{.status = Receive(header, request.body), .body = "{}"});
    };
  }

  void Install(net::FakeHttpClient& http) {
    http.SetDefault([this](const net::HttpRequest& request) {
      auto header = [&](std::string_view name) {
        for (const auto& [k, v] : request.headers) {
          if (k == name) return v;
        }
        return std::string();
      };
      return net::FakeHttpClient::Status(Receive(header, request.body), "{}");
    });
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

// `clock`: the clock of the outbox's leases and retry times (the relay's FakeClock), else the
// system clock.
std::unique_ptr<SqliteDatabase> OpenOutboxStore(const TempDir& dir, const Clock* clock = nullptr) {
  SqliteOptions o = OptionsFor(dir);
  o.write_outbox = true;
  o.outbox_clock = clock;
  return OpenOrDie(o);
}

// Submit + queued + running + completed for `jobs` jobs: 4 updates each.
void WriteLifecycles(JobStore& store, int jobs) {
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

// Moves the relay's fake clock one poll interval at a time until `pred`. Real
// time passes only for the store's own clock (backoff, leases: milliseconds).
template <class Pred>
bool DriveUntil(FakeClock& clock, Pred pred, milliseconds poll = milliseconds(20)) {
  return Eventually([&] {
    clock.Advance(poll);
    return pred();
  });
}

// Lets the dispatcher run one whole claim, started by the clock reaching its
// next poll, and waits until it waits again.
void OnePoll(FakeClock& clock, milliseconds poll = milliseconds(20)) {
  const std::uint64_t seen = clock.waits_started();
  clock.Advance(poll);
  ASSERT_TRUE(clock.AwaitWaitAfter(seen));
}

std::vector<OutboxItem> DeadLetters(OutboxStore& store) {
  return Await<std::vector<OutboxItem>>([&](Callback<std::vector<OutboxItem>> cb) {
           store.ListDeadLetters(std::nullopt, 10, std::move(cb));
         })
      .value();
}

// The relay on a fresh outbox, posting through a fake client to `sink`, on a
// fake clock. Started; with `wake_on_commit`, every outbox commit wakes it.
struct FakeSinkRelay {
  explicit FakeSinkRelay(
      RelayOptions options = FastOptions(kFakeUrl),
      std::function<int(int)> decide = [](int) { return 200; }, bool wake_on_commit = true)
      : store(OpenOutboxStore(dir, &clock)), sink(std::move(decide)) {
    sink.Install(http);
    relay = ProjectionRelay::Create(std::move(options), store->outbox(), nullptr, &http, &clock)
                .value();
    if (wake_on_commit) store->outbox().SetOutboxListener([r = relay.get()] { r->Wake(); });
    EXPECT_TRUE(relay->Start().ok());
  }

  TempDir dir;
  FakeClock clock;  // the relay's, and the store's for leases and retry times
  std::unique_ptr<SqliteDatabase> store;
  net::FakeHttpClient http;
  RecordingSink sink;
  std::unique_ptr<ProjectionRelay> relay;
};

// End to end on the real clock: a real sink on loopback, libcurl, keep-alive.
TEST(ProjectionRelay, DeliversEveryUpdateSignedInOrderPerJob) {
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  ASSERT_TRUE(store);
  RecordingSink sink;
  net::FunctionHandler handler(sink.Serve());
  net::LoopbackServer server(handler);
  MetricsRegistry metrics;
  auto relay = ProjectionRelay::Create(FastOptions(server.Url("/hook")), store->outbox(), &metrics);
  ASSERT_TRUE(relay.ok()) << relay.error().message;
  store->outbox().SetOutboxListener([r = relay->get()] { r->Wake(); });
  ASSERT_TRUE((*relay)->Start().ok());
  WriteLifecycles(store->jobs(), 20);
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

TEST(ProjectionRelay, PostsTheStoredPayloadAsSignedJsonWithinTheRequestLimits) {
  FakeSinkRelay f;
  WriteLifecycles(f.store->jobs(), 1);
  ASSERT_TRUE(Eventually([&] { return f.sink.Accepted().size() >= 4; }));
  f.relay->Stop();
  EXPECT_EQ(f.sink.bad_signatures(), 0);
  const net::HttpRequest first = f.http.Requests().at(0);
  EXPECT_EQ(first.method, "POST");
  EXPECT_EQ(first.url, kFakeUrl);
  EXPECT_EQ(first.headers.at(0),
            (std::pair<std::string, std::string>{"Content-Type", "application/json"}));
  EXPECT_EQ(first.timeout, milliseconds(2'000));
  EXPECT_TRUE(first.truncate_body) << "a sink's long error answer is cut, not a failure";
  EXPECT_EQ(first.body_bytes_max, 512u);
  EXPECT_EQ(boost::json::parse(first.body).at("projection_version").as_int64(), 1);
}

// Only a 2xx completes an update; any other answer, or none, is a failed
// attempt, recorded with what the sink said (max_attempts 1: a dead letter).
TEST(ProjectionRelay, EveryAnswerButA2xxIsAFailedAttemptRecordedWithTheReason) {
  const struct {
    net::HttpResponse answer;
    std::string last_error;  // empty: delivered
  } cases[] = {
      {net::FakeHttpClient::Status(200, "{}"), ""},
      {net::FakeHttpClient::Status(204), ""},
      {net::FakeHttpClient::Status(299), ""},
      {net::FakeHttpClient::Status(301), "HTTP 301"},
      {net::FakeHttpClient::Status(400, R"({"error":"bad"})"), R"(HTTP 400: {"error":"bad"})"},
      {net::FakeHttpClient::Status(404), "HTTP 404"},
      {net::FakeHttpClient::Status(409, "conflict"), "HTTP 409: conflict"},
      {net::FakeHttpClient::Status(503, "{}"), "HTTP 503: {}"},
      {net::FakeHttpClient::TransportError("Couldn't connect to server"),
       "Couldn't connect to server"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.answer.status);
    RelayOptions o = FastOptions(kFakeUrl);
    o.max_attempts = 1;
    FakeSinkRelay f(o);
    f.http.SetDefault([&](const net::HttpRequest&) { return c.answer; });
    ASSERT_TRUE(SubmitSync(f.store->jobs(), MakeSubmit("t1", "job-0", "key-0")).ok());
    if (c.last_error.empty()) {
      ASSERT_TRUE(Eventually([&] { return f.relay->GetStatus().delivered_total == 1; }));
      EXPECT_EQ(f.relay->GetStatus().failed_attempts_total, 0);
    } else {
      ASSERT_TRUE(Eventually([&] { return DeadLetters(f.store->outbox()).size() == 1; }));
      EXPECT_EQ(DeadLetters(f.store->outbox())[0].last_error, c.last_error);
      EXPECT_EQ(f.relay->GetStatus().last_error, c.last_error);
      EXPECT_EQ(f.relay->GetStatus().delivered_total, 0);
    }
    f.relay->Stop();
    EXPECT_EQ(f.http.RequestCount(), 1);
  }
}

// Without a wake (no outbox listener) the relay claims when its poll interval
// has passed on its clock, and not before.
TEST(ProjectionRelay, ClaimsAtEachPollIntervalOfItsClock) {
  FakeSinkRelay f(
      FastOptions(kFakeUrl), [](int) { return 200; }, /*wake_on_commit=*/false);
  ASSERT_TRUE(f.clock.AwaitWaitAfter(1));  // the claim at start is done; the dispatcher waits
  WriteLifecycles(f.store->jobs(), 2);
  f.clock.Advance(milliseconds(19));
  EXPECT_EQ(f.http.RequestCount(), 0);
  OnePoll(f.clock, milliseconds(1));
  // Each completion wakes the dispatcher for the job's next version: no more polls needed.
  ASSERT_TRUE(Eventually([&] { return f.sink.Accepted().size() >= 8; }));
  f.relay->Stop();
  ExpectOrderedExactlyOnce(f.sink.Accepted(), 2, 4);
}

// A slow sink behind a long claim queue: an update that waited in the queue
// until too little of its lease was left is not sent (it could outlive the
// lease and race the next owner); it is claimed again and sent once, in order.
// Each POST takes 400 ms of the relay's clock, and a claimed update may start
// for lease - request timeout = 1 s after its claim: of the 10 heads claimed at
// start, the first three are sent (at 0, 400 and 800 ms) and seven are left
// until their lease runs out at 2 s. The store's lease follows the same clock,
// so the test does not depend on how fast the machine is.
TEST(ProjectionRelay, QueuedUpdatesWhoseLeaseRanShortAreReclaimedNotSentLate) {
  RelayOptions o = FastOptions(kFakeUrl);
  o.workers = 1;
  o.request_timeout = milliseconds(1'000);
  o.lease = milliseconds(2'000);
  FakeSinkRelay* fixture = nullptr;  // the sink's POSTs advance the fixture's clock
  std::mutex mu;
  std::vector<Clock::TimePoint> sent_at;  // per request, in order (one worker)
  FakeSinkRelay f(
      o,
      [&](int) {
        {
          std::lock_guard lock(mu);
          sent_at.push_back(fixture->clock.Now());
        }
        fixture->clock.Advance(milliseconds(400));
        return 200;
      },
      /*wake_on_commit=*/false);
  fixture = &f;
  ASSERT_TRUE(f.clock.AwaitWaitAfter(1));
  WriteLifecycles(f.store->jobs(), 10);
  const Clock::TimePoint claimed = f.clock.Now() + milliseconds(20);
  OnePoll(f.clock, milliseconds(20));  // claims the 10 heads at once, at `claimed`
  // Only the sink's POSTs move the clock until 12 are in (each completion wakes the next claim),
  // past the lease's end at 2 s; then polls pick up whatever is left.
  ASSERT_TRUE(Eventually([&] { return f.sink.Accepted().size() >= 12; }));
  ASSERT_TRUE(DriveUntil(f.clock, [&] { return f.sink.Accepted().size() >= 40; }))
      << f.sink.Accepted().size();
  f.relay->Stop();
  ExpectOrderedExactlyOnce(f.sink.Accepted(), 10, 4);
  ASSERT_EQ(f.sink.requests(), 40) << "each update sent once";
  const std::vector<Received> got = f.sink.Accepted();
  std::lock_guard lock(mu);
  ASSERT_EQ(sent_at.size(), got.size());
  std::set<std::string> early;  // jobs whose first update left from the first claim
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].version != 1) continue;
    const auto after = sent_at[i] - claimed;
    if (after < o.lease) {
      EXPECT_LE(after, o.lease - o.request_timeout) << got[i].job_id << " was sent late";
      early.insert(got[i].job_id);
    }
  }
  EXPECT_EQ(early, (std::set<std::string>{"job-0", "job-1", "job-2"}))
      << "seven heads wait for their lease to run out, then are claimed again";
}

TEST(ProjectionRelay, RetriesThroughSinkErrorsWithoutReordering) {
  RelayOptions options = FastOptions(kFakeUrl);
  options.max_attempts = 50;
  // Every third request fails: 500s interleave with successes.
  FakeSinkRelay f(options, [](int n) { return n % 3 == 0 ? 500 : 200; });
  WriteLifecycles(f.store->jobs(), 10);
  ASSERT_TRUE(DriveUntil(f.clock, [&] { return f.sink.Accepted().size() >= 40; }));
  f.relay->Stop();
  ExpectOrderedExactlyOnce(f.sink.Accepted(), 10, 4);
  EXPECT_GT(f.relay->GetStatus().failed_attempts_total, 0);
}

TEST(ProjectionRelay, DeadLetterAfterMaxAttemptsBlocksTheJobUntilReplayed) {
  std::atomic<bool> sink_up{false};
  FakeSinkRelay f(FastOptions(kFakeUrl), [&](int) { return sink_up.load() ? 200 : 503; });
  WriteLifecycles(f.store->jobs(), 1);
  ASSERT_TRUE(DriveUntil(f.clock, [&] { return DeadLetters(f.store->outbox()).size() == 1; }));
  EXPECT_EQ(f.sink.requests(), 3);  // max_attempts, then it stopped trying
  std::vector<OutboxItem> dead = DeadLetters(f.store->outbox());
  EXPECT_EQ(dead[0].projection_version, 1);
  EXPECT_EQ(dead[0].attempts, 3);
  EXPECT_EQ(dead[0].last_error, "HTTP 503: {}");
  for (int i = 0; i < 5; ++i) OnePoll(f.clock);
  EXPECT_EQ(f.sink.requests(), 3) << "versions 2..4 wait behind the dead head";

  sink_up = true;
  ASSERT_TRUE(Await<bool>([&](Callback<bool> cb) {
                f.store->outbox().ReplayDeadLetter(std::nullopt, dead[0].id, std::move(cb));
              }).value());
  f.relay->Wake();
  ASSERT_TRUE(Eventually([&] { return f.sink.Accepted().size() >= 4; }));
  f.relay->Stop();
  ExpectOrderedExactlyOnce(f.sink.Accepted(), 1, 4);
}

RelayStatus LiveStatus(ProjectionRelay& relay) {
  std::promise<RelayStatus> answer;
  std::future<RelayStatus> status = answer.get_future();
  relay.GetLiveStatus([&answer](RelayStatus s) { answer.set_value(std::move(s)); });
  return status.get();
}

// What /api/health shows: failing from the first failed attempt, with the
// backlog read when asked (the stats refresh runs every 5 s of the relay's
// clock, which this test never advances); healthy again after a delivery.
TEST(ProjectionRelay, LiveStatusReadsTheBacklogWhenAskedAndOneFailureDegrades) {
  RelayOptions options = FastOptions(kFakeUrl);
  options.max_attempts = 1000;
  std::atomic<bool> sink_up{false};
  FakeSinkRelay f(options, [&](int) { return sink_up.load() ? 200 : 503; });
  RelayStatus idle = LiveStatus(*f.relay);
  EXPECT_FALSE(idle.degraded);
  EXPECT_EQ(idle.outbox.pending, 0);

  WriteLifecycles(f.store->jobs(), 1);  // 4 updates; the first one fails
  ASSERT_TRUE(Eventually([&] { return f.relay->GetStatus().failed_attempts_total >= 1; }));
  RelayStatus failing = LiveStatus(*f.relay);
  EXPECT_TRUE(failing.degraded);
  EXPECT_GE(failing.consecutive_failures, 1);
  EXPECT_EQ(failing.outbox.pending, 4);
  EXPECT_EQ(f.relay->GetStatus().outbox.pending, 4) << "the live read refreshes the status";

  sink_up = true;  // the retry waits for a poll
  ASSERT_TRUE(DriveUntil(f.clock, [&] { return f.sink.Accepted().size() >= 4; }));
  ASSERT_TRUE(Eventually([&] { return LiveStatus(*f.relay).outbox.pending == 0; }));
  RelayStatus recovered = LiveStatus(*f.relay);
  EXPECT_FALSE(recovered.degraded);
  EXPECT_EQ(recovered.consecutive_failures, 0);
  f.relay->Stop();
}

TEST(ProjectionRelay, ConcurrentLiveStatusCallersEachGetOneAnswer) {
  FakeSinkRelay f;
  WriteLifecycles(f.store->jobs(), 2);
  std::atomic<int> answers{0};
  std::vector<std::thread> callers;
  callers.reserve(8);
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        std::promise<void> done;
        f.relay->GetLiveStatus([&](const RelayStatus&) {
          answers.fetch_add(1);
          done.set_value();
        });
        done.get_future().wait();
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(answers.load(), 8 * 50);
  f.relay->Stop();
}

// The real client against a port where nothing listens, on the real clock.
TEST(ProjectionRelay, RefusedConnectionsAreRetriedUntilTheSinkComesUp) {
  TempDir dir;
  auto store = OpenOutboxStore(dir);
  ASSERT_TRUE(store);
  WriteLifecycles(store->jobs(), 3);
  RelayOptions options = FastOptions(net::UnusedLoopbackUrl("/hook"));
  options.max_attempts = 1000;
  auto relay = ProjectionRelay::Create(options, store->outbox(), nullptr);
  ASSERT_TRUE(relay.ok());
  ASSERT_TRUE((*relay)->Start().ok());
  ASSERT_TRUE(Eventually([&] { return (*relay)->GetStatus().failed_attempts_total >= 3; }));
  EXPECT_TRUE((*relay)->GetStatus().last_error.has_value());
  (*relay)->Stop();
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
