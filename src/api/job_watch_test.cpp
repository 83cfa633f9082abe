#include "api/job_watch.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

// The hub against a fake change feed: an in-memory vector of ChangeRecords
// that answers on its own thread (like the stores' executors) and calls the
// listener after each append (like SQLite after a commit). The streams are
// real http::ResponseStream objects, read the way the server reads them.
namespace rtgw::api {
namespace {

using namespace std::chrono_literals;
using storage::ChangePage;
using storage::ChangeRecord;

struct Change {
  std::string job_id = "j1";
  std::int64_t projection_version = 1;
  std::string workspace_id = "ws1";
  std::string management_node_id = "n1";
  std::string requested_by = "u1";
};

class FakeFeed final : public storage::JobFeedStore {
 public:
  FakeFeed() : worker_([this] { Work(); }) {}
  ~FakeFeed() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  FakeFeed(const FakeFeed&) = delete;
  FakeFeed& operator=(const FakeFeed&) = delete;

  // Commits one change and notifies (unless `notify` is off). Returns its seq.
  std::int64_t Append(const std::string& tenant, const Change& c = Change()) {
    std::int64_t seq = 0;
    std::function<void(const std::string&)> listener;
    {
      std::lock_guard lock(mu_);
      Feed& feed = feeds_[tenant];
      seq = ++feed.last_seq;
      ChangeRecord r;
      r.seq = seq;
      r.tenant_id = tenant;
      r.job_id = c.job_id;
      r.workspace_id = c.workspace_id;
      r.management_node_id = c.management_node_id;
      r.requested_by = c.requested_by;
      r.projection_version = c.projection_version;
      r.payload_json = R"({"tenant_id":")" + tenant + R"(","job_id":")" + c.job_id +
                       R"(","projection_version":)" + std::to_string(c.projection_version) + "}";
      r.created_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
      feed.changes.push_back(std::move(r));
      if (notify_) listener = listener_;
    }
    if (listener) listener(tenant);
    return seq;
  }
  // Retention: removes the tenant's changes <= through.
  void PruneThrough(const std::string& tenant, std::int64_t through) {
    std::lock_guard lock(mu_);
    Feed& feed = feeds_[tenant];
    feed.pruned_through = std::max(feed.pruned_through, through);
    while (!feed.changes.empty() && feed.changes.front().seq <= through) {
      feed.changes.pop_front();
    }
  }
  void Notify(const std::string& tenant) {
    std::function<void(const std::string&)> listener;
    {
      std::lock_guard lock(mu_);
      listener = listener_;
    }
    if (listener) listener(tenant);
  }
  void set_notify(bool on) {
    std::lock_guard lock(mu_);
    notify_ = on;
  }
  // Paused: store calls queue up until resumed.
  void set_paused(bool paused) {
    {
      std::lock_guard lock(mu_);
      paused_ = paused;
    }
    cv_.notify_all();
  }
  void set_fail_reads(bool fail) {
    std::lock_guard lock(mu_);
    fail_reads_ = fail;
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }
  bool has_listener() {
    std::lock_guard lock(mu_);
    return static_cast<bool>(listener_);
  }
  struct PruneCall {
    std::int64_t older_than_us;
    int max_rows;
  };
  std::vector<PruneCall> prune_calls() {
    std::lock_guard lock(mu_);
    return prune_calls_;
  }
  // What the next PruneChanges calls answer, in order (then 0).
  void set_prune_results(std::deque<std::int64_t> results) {
    std::lock_guard lock(mu_);
    prune_results_ = std::move(results);
  }

  void ListJobs(storage::JobListQuery, storage::Callback<storage::JobPage> done) override {
    Post([done = std::move(done)] { done(Unavailable("not in the fake")); });
  }
  void ReadChanges(std::string tenant_id, std::int64_t after_seq, int limit,
                   storage::Callback<ChangePage> done) override {
    EXPECT_GE(limit, 1);
    EXPECT_LE(limit, 1000);
    Post([this, tenant_id = std::move(tenant_id), after_seq, limit, done = std::move(done)] {
      ChangePage page;
      {
        std::lock_guard lock(mu_);
        ++reads_;
        if (fail_reads_) {
          page.head.last_seq = -1;
        } else {
          Feed& feed = feeds_[tenant_id];
          page.head = {feed.last_seq, feed.pruned_through};
          // Seqs are contiguous: the first one after after_seq is found by its index.
          std::size_t skip = 0;
          if (!feed.changes.empty() && after_seq >= feed.changes.front().seq) {
            skip = static_cast<std::size_t>(
                std::min<std::int64_t>(after_seq - feed.changes.front().seq + 1,
                                       static_cast<std::int64_t>(feed.changes.size())));
          }
          for (std::size_t i = skip; i < feed.changes.size(); ++i) {
            if (page.changes.size() >= static_cast<std::size_t>(limit)) break;
            page.changes.push_back(feed.changes[i]);
          }
        }
      }
      if (page.head.last_seq < 0) {
        done(Unavailable("database is locked", "store_unavailable"));
      } else {
        done(std::move(page));
      }
    });
  }
  void PruneChanges(std::int64_t older_than_us, int max_rows,
                    storage::Callback<std::int64_t> done) override {
    Post([this, older_than_us, max_rows, done = std::move(done)] {
      std::int64_t rows = 0;
      {
        std::lock_guard lock(mu_);
        prune_calls_.push_back({older_than_us, max_rows});
        if (!prune_results_.empty()) {
          rows = prune_results_.front();
          prune_results_.pop_front();
        }
      }
      done(rows);
    });
  }
  void SetChangeListener(std::function<void(const std::string&)> listener) override {
    std::lock_guard lock(mu_);
    listener_ = std::move(listener);
  }

 private:
  struct Feed {
    std::int64_t last_seq = 0;
    std::int64_t pruned_through = 0;
    std::deque<ChangeRecord> changes;
  };
  void Post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_all();
  }
  void Work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || (!paused_ && !tasks_.empty()); });
        if (stop_ && (tasks_.empty() || paused_)) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Feed> feeds_;
  std::function<void(const std::string&)> listener_;
  std::deque<std::function<void()>> tasks_;
  std::vector<PruneCall> prune_calls_;
  std::deque<std::int64_t> prune_results_;
  int reads_ = 0;
  bool notify_ = true;
  bool paused_ = false;
  bool fail_reads_ = false;
  bool stop_ = false;
  std::thread worker_;
};

struct SseEvent {
  std::string id;
  std::string data;
};

// Reads a stream the way the server does (Take) and parses the SSE blocks.
class StreamReader {
 public:
  StreamReader(std::shared_ptr<http::ResponseStream> stream, std::string tenant)
      : stream_(std::move(stream)), tenant_(std::move(tenant)) {}

  void Poll() {
    http::ResponseStream::Taken taken = stream_->Take();
    buffer_ += taken.data;
    ended_ = ended_ || taken.ended;
    aborted_ = aborted_ || taken.aborted;
    for (std::size_t end = buffer_.find("\n\n"); end != std::string::npos;
         end = buffer_.find("\n\n")) {
      Parse(buffer_.substr(0, end + 1));
      buffer_.erase(0, end + 2);
    }
  }
  // Polls until `done()` or 10 s.
  bool WaitFor(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      Poll();
      if (done()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
  }
  bool WaitForEvents(std::size_t n) {
    return WaitFor([&] { return events_.size() >= n; });
  }
  // The seqs of the events received, decoded from their ids.
  std::vector<std::int64_t> Seqs() const {
    std::vector<std::int64_t> seqs;
    for (const SseEvent& e : events_) {
      const auto seq = DecodeChangeCursor(tenant_, e.id);
      seqs.push_back(seq ? *seq : -1);
    }
    return seqs;
  }

  std::optional<std::int64_t> LastSeq() const {
    if (events_.empty()) return std::nullopt;
    return DecodeChangeCursor(tenant_, events_.back().id);
  }

  const std::vector<SseEvent>& events() const { return events_; }
  const std::string& retry() const { return retry_; }
  int keepalives() const { return keepalives_; }
  bool ended() const { return ended_; }
  bool aborted() const { return aborted_; }
  const std::string& malformed() const { return malformed_; }

 private:
  void Parse(const std::string& block) {
    if (block == ": keepalive\n") {
      ++keepalives_;
    } else if (block.starts_with("retry: ")) {
      retry_ = block.substr(7, block.size() - 8);
    } else if (block.starts_with("id: ")) {
      const std::size_t id_end = block.find('\n');
      const std::string rest = block.substr(id_end + 1);
      if (!rest.starts_with("event: job\ndata: ")) malformed_ += block;
      events_.push_back({block.substr(4, id_end - 4), rest.substr(17, rest.size() - 18)});
    } else {
      malformed_ += block;
    }
  }

  std::shared_ptr<http::ResponseStream> stream_;
  std::string tenant_;
  std::string buffer_;
  std::vector<SseEvent> events_;
  std::string retry_;
  int keepalives_ = 0;
  bool ended_ = false;
  bool aborted_ = false;
  std::string malformed_;
};

Result<JobWatchHub::Started> StartWatch(JobWatchHub& hub, const std::string& tenant,
                                        WatchFilter filter = {},
                                        std::optional<std::int64_t> after = std::nullopt) {
  auto promise = std::make_shared<std::promise<Result<JobWatchHub::Started>>>();
  auto future = promise->get_future();
  hub.Watch(tenant, std::move(filter), after, "after",
            [promise](Result<JobWatchHub::Started> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(10s) != std::future_status::ready) {
    return Internal("the watch was not answered");
  }
  return future.get();
}

std::vector<std::int64_t> Range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> seqs;
  for (std::int64_t s = first; s <= last; ++s) seqs.push_back(s);
  return seqs;
}

bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Appends `n` changes to t1, letting `reader` (of a watch from the start)
// catch up every `step`, as a client that keeps up would.
bool AppendKeepingUp(FakeFeed& feed, StreamReader& reader, std::size_t n, std::size_t step) {
  for (std::size_t i = 1; i <= n; ++i) {
    feed.Append("t1");
    if ((i % step == 0 || i == n) && !reader.WaitForEvents(i)) return false;
  }
  return true;
}

WatchOptions TestOptions() {
  WatchOptions o;
  o.heartbeat = 1h;
  o.recheck = 1h;
  return o;
}

// Declared before the hub, so that it outlives the hub's threads and callbacks.
struct Fixture {
  MetricsRegistry metrics;
  FakeFeed feed;
};

std::uint64_t CounterValue(MetricsRegistry& m, const std::string& name, const MetricLabels& l) {
  return m.GetCounter(name, "", l)->Value();
}

TEST(ChangeCursorTest, RoundTripsAndRefusesOtherTenantsAndGarbage) {
  for (const std::int64_t seq : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1} << 40,
                                 std::numeric_limits<std::int64_t>::max()}) {
    const std::string cursor = EncodeChangeCursor("acme", seq);
    EXPECT_TRUE(cursor.starts_with("c1.")) << cursor;
    EXPECT_EQ(DecodeChangeCursor("acme", cursor), seq);
    EXPECT_EQ(DecodeChangeCursor("other", cursor), std::nullopt);
  }
  const std::string good = EncodeChangeCursor("acme", 42);
  const std::vector<std::string> garbage = {"",
                                            "c1.",
                                            "42",
                                            "c2." + good.substr(3),
                                            good.substr(0, good.size() - 1),
                                            good + "A",
                                            good + "=",
                                            "c1.!!!!!!!!!!!!!!!!!!!!!!",
                                            good.substr(3)};
  for (const std::string& bad : garbage) {
    EXPECT_EQ(DecodeChangeCursor("acme", bad), std::nullopt) << bad;
  }
}

TEST(WatchFilterTest, AllGivenFieldsMustMatch) {
  ChangeRecord c;
  c.job_id = "j1";
  c.workspace_id = "ws1";
  c.management_node_id = "n1";
  c.requested_by = "u1";
  struct Case {
    WatchFilter filter;
    bool matches;
  };
  const std::vector<Case> cases = {
      {{}, true},
      {{.workspace_id = "ws1"}, true},
      {{.workspace_id = "ws2"}, false},
      {{.job_ids = {"j0", "j1"}}, true},
      {{.job_ids = {"j0", "j2"}}, false},
      {{.management_node_id = "n1"}, true},
      {{.management_node_id = "n2"}, false},
      {{.requested_by = "u1"}, true},
      {{.requested_by = "u2"}, false},
      {{.workspace_id = "ws1", .job_ids = {"j1"}, .management_node_id = "n1", .requested_by = "u1"},
       true},
      {{.workspace_id = "ws1", .job_ids = {"j1"}, .management_node_id = "n1", .requested_by = "u9"},
       false},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(cases[i].filter.Matches(c), cases[i].matches) << "case " << i;
  }
}

TEST(JobWatchHubTest, StartsAtTheEndWithRetryThenSendsEachNewChange) {
  Fixture f;
  f.feed.Append("t1");
  f.feed.Append("t1");
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  auto started = StartWatch(hub, "t1");
  ASSERT_TRUE(started.ok()) << started.error().message;
  StreamReader reader(started->stream, "t1");
  f.feed.Append("t1", {.job_id = "j7", .projection_version = 3});
  f.feed.Append("t1");
  ASSERT_TRUE(reader.WaitForEvents(2));
  EXPECT_EQ(reader.retry(), "3000");
  EXPECT_EQ(reader.Seqs(), Range(3, 4));
  EXPECT_EQ(reader.events()[0].id, EncodeChangeCursor("t1", 3));
  EXPECT_EQ(reader.events()[0].data, R"({"tenant_id":"t1","job_id":"j7","projection_version":3})");
  EXPECT_EQ(reader.malformed(), "");
  EXPECT_EQ(hub.watchers(), 1u);
  EXPECT_EQ(f.metrics.GetGauge("rtgw_watchers", "", {{"kind", "stream"}})->Value(), 1);
  EXPECT_EQ(CounterValue(f.metrics, "rtgw_watch_events_total", {}), 2u);
  std::vector<std::uint64_t> buckets;
  double sum = 0;
  std::uint64_t count = 0;
  f.metrics.GetHistogram("rtgw_change_feed_lag_seconds", "", {}, {})->Snapshot(buckets, sum, count);
  EXPECT_EQ(count, 2u);
}

TEST(JobWatchHubTest, EventsAreFormattedExactly) {
  Fixture f;
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  auto started = StartWatch(hub, "t1");
  ASSERT_TRUE(started.ok());
  f.feed.Append("t1");
  std::string bytes;
  ASSERT_TRUE(Eventually([&] {
    bytes += started->stream->Take().data;
    return bytes.size() > 20 && bytes.ends_with("}\n\n");
  }));
  EXPECT_EQ(bytes, "retry: 3000\n\nid: " + EncodeChangeCursor("t1", 1) +
                       "\nevent: job\ndata: "
                       R"({"tenant_id":"t1","job_id":"j1","projection_version":1})"
                       "\n\n");
}

// Every resume point, with a ring that holds all of the history and with one
// that holds almost none (catch-up from the store, then from the ring).
TEST(JobWatchHubTest, ResumesFromEveryPositionWithoutGapOrDuplicate) {
  for (const std::size_t ring : {std::size_t{4096}, std::size_t{3}}) {
    Fixture f;
    WatchOptions options = TestOptions();
    options.recent_per_tenant = ring;
    JobWatchHub hub(options, f.feed, f.metrics);
    auto live = StartWatch(hub, "t1");  // makes the hub follow t1 (and fill its ring)
    ASSERT_TRUE(live.ok());
    for (int i = 0; i < 20; ++i) f.feed.Append("t1", {.job_id = "j" + std::to_string(i % 4)});
    StreamReader live_reader(live->stream, "t1");
    ASSERT_TRUE(live_reader.WaitForEvents(20));
    std::int64_t last = 20;
    for (std::int64_t after = 0; after <= 20; ++after) {
      auto started = StartWatch(hub, "t1", {}, after);
      ASSERT_TRUE(started.ok()) << "after " << after << ": " << started.error().message;
      StreamReader reader(started->stream, "t1");
      ASSERT_TRUE(reader.WaitForEvents(static_cast<std::size_t>(last - after)));
      last = f.feed.Append("t1");
      ASSERT_TRUE(reader.WaitForEvents(static_cast<std::size_t>(last - after)));
      reader.Poll();
      EXPECT_EQ(reader.Seqs(), Range(after + 1, last)) << "ring " << ring << " after " << after;
      started->stream->Abort();  // the client goes away
    }
    EXPECT_TRUE(Eventually([&] { return hub.watchers() == 1; }));
  }
}

// The core promise: a watch started at any point while another thread
// commits sees exactly the changes after its cursor, each once, in order.
TEST(JobWatchHubTest, CatchUpThenLiveUnderConcurrentAppends) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.recent_per_tenant = 64;
  options.buffer_bytes = 64 << 20;
  JobWatchHub hub(options, f.feed, f.metrics);
  constexpr std::int64_t kChanges = 4000;
  std::atomic<std::int64_t> appended{0};
  std::thread writer([&] {
    for (std::int64_t i = 0; i < kChanges; ++i) {
      appended = f.feed.Append("t1", {.job_id = "j" + std::to_string(i % 50)});
      if (i % 10 == 0) std::this_thread::sleep_for(1ms);
    }
  });
  struct Watch {
    std::optional<std::int64_t> after;
    std::unique_ptr<StreamReader> reader;
    std::int64_t first_expected = 0;
  };
  std::vector<Watch> watches;
  for (int i = 0; i < 24; ++i) {
    const std::int64_t now = appended.load();
    Watch w;
    if (i % 3 != 0) w.after = i % 3 == 1 ? now : now / 2;  // recent, or far back
    auto started = StartWatch(hub, "t1", {}, w.after);
    ASSERT_TRUE(started.ok()) << started.error().message;
    w.reader = std::make_unique<StreamReader>(started->stream, "t1");
    watches.push_back(std::move(w));
    std::this_thread::sleep_for(2ms);
  }
  writer.join();
  for (Watch& w : watches) {
    ASSERT_TRUE(w.reader->WaitFor([&] { return w.reader->LastSeq() == kChanges; }))
        << "after " << w.after.value_or(-1);
    const std::vector<std::int64_t> seqs = w.reader->Seqs();
    // Without a cursor the watch starts wherever the end was: contiguous from there.
    const std::int64_t first = w.after ? *w.after + 1 : seqs.front();
    EXPECT_EQ(seqs, Range(first, kChanges)) << "after " << w.after.value_or(-1);
    EXPECT_FALSE(w.reader->ended());
  }
  EXPECT_EQ(CounterValue(f.metrics, "rtgw_watch_dropped_total", {{"reason", "slow"}}), 0u);
}

TEST(JobWatchHubTest, ExpiredCursorIsGoneAndAheadOfTheFeedIsInvalid) {
  Fixture f;
  for (int i = 0; i < 10; ++i) f.feed.Append("t1");
  f.feed.PruneThrough("t1", 5);
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  auto gone = StartWatch(hub, "t1", {}, 3);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kGone);
  EXPECT_EQ(gone.error().api_code, "cursor_expired");
  auto ahead = StartWatch(hub, "t1", {}, 11);
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ahead.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(ahead.error().message.starts_with("after:")) << ahead.error().message;
  auto at_the_edge = StartWatch(hub, "t1", {}, 5);
  ASSERT_TRUE(at_the_edge.ok());
  StreamReader reader(at_the_edge->stream, "t1");
  ASSERT_TRUE(reader.WaitForEvents(5));
  EXPECT_EQ(reader.Seqs(), Range(6, 10));
  auto at_the_end = StartWatch(hub, "t1", {}, 10);
  ASSERT_TRUE(at_the_end.ok());
  EXPECT_EQ(hub.watchers(), 2u);  // the refused ones hold nothing
}

TEST(JobWatchHubTest, StoreFailureAtTheStartIsUnavailable) {
  Fixture f;
  f.feed.set_fail_reads(true);
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  auto started = StartWatch(hub, "t1", {}, 0);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(hub.watchers(), 0u);
}

TEST(JobWatchHubTest, LimitsPerTenantAndPerProcessCountLongPolls) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.max_watchers = 4;
  options.max_watchers_per_tenant = 2;
  JobWatchHub hub(options, f.feed, f.metrics);
  auto a = StartWatch(hub, "t1");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(
      hub.ParkProjection("t1", "j1", 5, std::chrono::steady_clock::now() + 1h, [](bool) {}).ok());
  auto refused = StartWatch(hub, "t1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kTooManyRequests);
  EXPECT_EQ(refused.error().api_code, "too_many_watchers");
  const Status poll = hub.ParkProjection("t1", "j2", 0, std::chrono::steady_clock::now() + 1h,
                                         [](bool) { ADD_FAILURE() << "refused polls never wake"; });
  ASSERT_FALSE(poll.ok());
  EXPECT_EQ(poll.error().api_code, "too_many_watchers");

  auto b = StartWatch(hub, "t2");
  auto c = StartWatch(hub, "t3");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(c.ok());
  auto over = StartWatch(hub, "t4");  // 4 in the process
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().api_code, "too_many_watchers");
  EXPECT_EQ(hub.watchers(), 4u);

  a->stream->Abort();  // the client left: its place is free again
  ASSERT_TRUE(Eventually([&] { return hub.watchers() == 3; }));
  EXPECT_TRUE(StartWatch(hub, "t1").ok());
}

TEST(JobWatchHubTest, FiltersSelectChanges) {
  Fixture f;
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  struct Case {
    WatchFilter filter;
    std::vector<std::int64_t> seqs;
  };
  std::vector<Case> cases = {
      {{}, {1, 2, 3, 4, 5}},
      {{.workspace_id = "ws2"}, {2}},
      {{.job_ids = {"j3", "j1"}}, {1, 3, 5}},
      {{.management_node_id = "n2"}, {4}},
      {{.requested_by = "u2"}, {5}},
      {{.job_ids = {"j1"}, .requested_by = "u2"}, {5}},
  };
  std::vector<std::unique_ptr<StreamReader>> readers;
  for (const Case& c : cases) {
    auto started = StartWatch(hub, "t1", c.filter);
    ASSERT_TRUE(started.ok());
    readers.push_back(std::make_unique<StreamReader>(started->stream, "t1"));
  }
  f.feed.Append("t1", {.job_id = "j1"});
  f.feed.Append("t1", {.job_id = "j2", .workspace_id = "ws2"});
  f.feed.Append("t1", {.job_id = "j3"});
  f.feed.Append("t1", {.job_id = "j4", .management_node_id = "n2"});
  f.feed.Append("t1", {.job_id = "j1", .projection_version = 2, .requested_by = "u2"});
  f.feed.Append("t2", {.job_id = "j1"});  // another tenant: nobody here sees it
  ASSERT_TRUE(readers[0]->WaitForEvents(5));
  // The same filters from the store (catch-up) instead of the fan-out.
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto resumed = StartWatch(hub, "t1", cases[i].filter, 0);
    ASSERT_TRUE(resumed.ok());
    StreamReader from_store(resumed->stream, "t1");
    ASSERT_TRUE(readers[i]->WaitForEvents(cases[i].seqs.size()));
    ASSERT_TRUE(from_store.WaitForEvents(cases[i].seqs.size()));
    std::this_thread::sleep_for(20ms);
    readers[i]->Poll();
    from_store.Poll();
    EXPECT_EQ(readers[i]->Seqs(), cases[i].seqs) << "case " << i;
    EXPECT_EQ(from_store.Seqs(), cases[i].seqs) << "case " << i;
  }
}

TEST(JobWatchHubTest, SteadyStateReadsTheStoreOncePerNotificationNotPerWatcher) {
  Fixture f;
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  std::vector<std::unique_ptr<StreamReader>> readers;
  for (int i = 0; i < 50; ++i) {
    auto started = StartWatch(hub, "t1");
    ASSERT_TRUE(started.ok());
    readers.push_back(std::make_unique<StreamReader>(started->stream, "t1"));
  }
  std::this_thread::sleep_for(50ms);  // the first watch's follow-up read
  const int before = f.feed.reads();
  f.feed.Append("t1");
  for (auto& r : readers) ASSERT_TRUE(r->WaitForEvents(1));
  EXPECT_EQ(f.feed.reads() - before, 1);
}

TEST(JobWatchHubTest, NotificationsDuringAReadAreCoalesced) {
  Fixture f;
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  auto started = StartWatch(hub, "t1");
  ASSERT_TRUE(started.ok());
  StreamReader reader(started->stream, "t1");
  std::this_thread::sleep_for(50ms);  // the watch's follow-up read
  const int before = f.feed.reads();
  f.feed.set_paused(true);
  for (int i = 0; i < 100; ++i) f.feed.Append("t1");
  f.feed.set_paused(false);
  ASSERT_TRUE(reader.WaitForEvents(100));
  EXPECT_LE(f.feed.reads() - before, 2);  // the one in flight, then one for all the rest
  EXPECT_EQ(reader.Seqs(), Range(1, 100));
}

TEST(JobWatchHubTest, RingOverflowFallsBackToStoreReads) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.recent_per_tenant = 4;
  options.buffer_bytes = 4 << 20;
  JobWatchHub hub(options, f.feed, f.metrics);
  auto live = StartWatch(hub, "t1");
  ASSERT_TRUE(live.ok());
  for (int i = 0; i < 2500; ++i) f.feed.Append("t1");  // more than a store page too
  StreamReader live_reader(live->stream, "t1");
  ASSERT_TRUE(live_reader.WaitForEvents(2500));
  const int before = f.feed.reads();
  auto resumed = StartWatch(hub, "t1", {}, 10);
  ASSERT_TRUE(resumed.ok());
  StreamReader reader(resumed->stream, "t1");
  ASSERT_TRUE(reader.WaitForEvents(2490));
  EXPECT_EQ(reader.Seqs(), Range(11, 2500));
  EXPECT_GE(f.feed.reads() - before, 3);  // 2490 changes: three pages
}

TEST(JobWatchHubTest, SlowWatcherIsDroppedOthersContinue) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.buffer_bytes = 4096;
  JobWatchHub hub(options, f.feed, f.metrics);
  auto slow = StartWatch(hub, "t1");
  auto fast = StartWatch(hub, "t1");
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE(fast.ok());
  StreamReader fast_reader(fast->stream, "t1");
  ASSERT_TRUE(AppendKeepingUp(f.feed, fast_reader, 200, 10));
  EXPECT_EQ(fast_reader.Seqs(), Range(1, 200));
  EXPECT_TRUE(slow->stream->closed());
  StreamReader slow_reader(slow->stream, "t1");
  slow_reader.Poll();
  EXPECT_TRUE(slow_reader.aborted());  // the server drops the connection; the client resumes
  EXPECT_TRUE(Eventually([&] { return hub.watchers() == 1; }));
  EXPECT_EQ(CounterValue(f.metrics, "rtgw_watch_dropped_total", {{"reason", "slow"}}), 1u);
}

// A far-behind watch on a small buffer is paced by what the server sends
// instead of overflowing.
TEST(JobWatchHubTest, CatchUpIsPacedByTheStreamBuffer) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.buffer_bytes = 8192;  // ~100 events
  options.recent_per_tenant = 500;
  JobWatchHub hub(options, f.feed, f.metrics);
  auto live = StartWatch(hub, "t1");
  ASSERT_TRUE(live.ok());
  StreamReader live_reader(live->stream, "t1");
  ASSERT_TRUE(AppendKeepingUp(f.feed, live_reader, 3000, 20));
  auto resumed = StartWatch(hub, "t1", {}, 0);
  ASSERT_TRUE(resumed.ok());
  StreamReader reader(resumed->stream, "t1");
  ASSERT_TRUE(reader.WaitForEvents(3000));
  EXPECT_EQ(reader.Seqs(), Range(1, 3000));
  EXPECT_FALSE(reader.ended());
}

TEST(JobWatchHubTest, AClientLeavingDuringCatchUpIsNotADrop) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.buffer_bytes = 8192;
  JobWatchHub hub(options, f.feed, f.metrics);
  for (int i = 0; i < 1000; ++i) f.feed.Append("t1");
  auto started = StartWatch(hub, "t1", {}, 0);  // nobody reads: it waits for room
  ASSERT_TRUE(started.ok());
  started->stream->Abort();
  ASSERT_TRUE(Eventually([&] { return hub.watchers() == 0; }));
  std::this_thread::sleep_for(20ms);  // a paced step that was due
  EXPECT_EQ(CounterValue(f.metrics, "rtgw_watch_dropped_total", {{"reason", "slow"}}), 0u);
}

TEST(JobWatchHubTest, ChangesPrunedDuringCatchUpEndTheStream) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.buffer_bytes = 8192;  // catch-up goes in small paced steps
  JobWatchHub hub(options, f.feed, f.metrics);
  for (int i = 0; i < 1000; ++i) f.feed.Append("t1");
  auto started = StartWatch(hub, "t1", {}, 0);
  ASSERT_TRUE(started.ok());
  f.feed.PruneThrough("t1", 900);
  StreamReader reader(started->stream, "t1");
  ASSERT_TRUE(reader.WaitFor([&] { return reader.ended(); }));
  EXPECT_FALSE(reader.aborted());  // a clean end: the client resumes from its last event
  const std::vector<std::int64_t> seqs = reader.Seqs();
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs, Range(1, seqs.back()));
  EXPECT_LT(seqs.back(), 900);
  EXPECT_EQ(CounterValue(f.metrics, "rtgw_watch_dropped_total", {{"reason", "expired"}}), 1u);
  auto resumed = StartWatch(hub, "t1", {}, seqs.back());
  ASSERT_FALSE(resumed.ok());
  EXPECT_EQ(resumed.error().api_code, "cursor_expired");
}

TEST(JobWatchHubTest, ShutdownAnswersAWatchStillStarting) {
  Fixture f;
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  f.feed.set_paused(true);
  std::promise<Result<JobWatchHub::Started>> answered;
  hub.Watch("t1", {}, 0, "after",
            [&](Result<JobWatchHub::Started> r) { answered.set_value(std::move(r)); });
  hub.Shutdown();
  f.feed.set_paused(false);
  auto future = answered.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  const Result<JobWatchHub::Started> r = future.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(JobWatchHubTest, HeartbeatIsAComment) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.heartbeat = 20ms;
  JobWatchHub hub(options, f.feed, f.metrics);
  auto started = StartWatch(hub, "t1");
  ASSERT_TRUE(started.ok());
  StreamReader reader(started->stream, "t1");
  ASSERT_TRUE(reader.WaitFor([&] { return reader.keepalives() >= 2; }));
  EXPECT_EQ(reader.malformed(), "");
}

TEST(JobWatchHubTest, RecheckFindsChangesWithoutNotification) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.recheck = 30ms;
  JobWatchHub hub(options, f.feed, f.metrics);
  auto started = StartWatch(hub, "t1");
  ASSERT_TRUE(started.ok());
  f.feed.set_notify(false);
  f.feed.Append("t1");
  StreamReader reader(started->stream, "t1");
  ASSERT_TRUE(reader.WaitForEvents(1));
}

TEST(JobWatchHubTest, ReconnectedListenerRereadsEveryTenant) {
  Fixture f;
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  auto a = StartWatch(hub, "t1");
  auto b = StartWatch(hub, "t2");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  f.feed.set_notify(false);
  f.feed.Append("t1");
  f.feed.Append("t2");
  f.feed.Notify("");
  StreamReader ra(a->stream, "t1");
  StreamReader rb(b->stream, "t2");
  ASSERT_TRUE(ra.WaitForEvents(1));
  ASSERT_TRUE(rb.WaitForEvents(1));
}

TEST(JobWatchHubTest, WatchersMissingPrunedChangesAreEnded) {
  Fixture f;
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  auto started = StartWatch(hub, "t1");
  ASSERT_TRUE(started.ok());
  f.feed.set_notify(false);
  for (int i = 0; i < 5; ++i) f.feed.Append("t1");
  f.feed.PruneThrough("t1", 3);  // before the hub read them
  f.feed.Notify("t1");
  StreamReader reader(started->stream, "t1");
  ASSERT_TRUE(reader.WaitFor([&] { return reader.ended(); }));
  EXPECT_TRUE(reader.events().empty());
  EXPECT_EQ(CounterValue(f.metrics, "rtgw_watch_dropped_total", {{"reason", "expired"}}), 1u);
  // Its client resumes from its last cursor: 410.
  auto resumed = StartWatch(hub, "t1", {}, 0);
  ASSERT_FALSE(resumed.ok());
  EXPECT_EQ(resumed.error().api_code, "cursor_expired");
}

TEST(JobWatchHubTest, TenantsWithoutWatchersAreForgotten) {
  Fixture f;
  WatchOptions options = TestOptions();
  options.recheck = 20ms;
  JobWatchHub hub(options, f.feed, f.metrics);
  auto a = StartWatch(hub, "t1");
  auto b = StartWatch(hub, "t2");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(hub.TrackedTenantsForTest(), 2u);
  a->stream->Abort();
  ASSERT_TRUE(Eventually([&] { return hub.TrackedTenantsForTest() == 1; }));
  EXPECT_EQ(hub.watchers(), 1u);
}

// Parks a long poll on t1's `job_id`; the future gets its wake's `final`.
std::future<bool> ParkPoll(JobWatchHub& hub, const std::string& job_id, std::int64_t version,
                           std::chrono::steady_clock::duration timeout = 1h) {
  auto promise = std::make_shared<std::promise<bool>>();
  std::future<bool> woken = promise->get_future();
  const Status parked =
      hub.ParkProjection("t1", job_id, version, std::chrono::steady_clock::now() + timeout,
                         [promise](bool final) { promise->set_value(final); });
  EXPECT_TRUE(parked.ok());
  return woken;
}

TEST(JobWatchHubTest, LongPollWakesOnItsJobsNewerVersionOnly) {
  Fixture f;
  f.feed.Append("t1", {.job_id = "j1", .projection_version = 1});
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  // The hub learns where the feed is, then asks the poll to read again once
  // (a change may have come between its read and the park): it parks again.
  std::future<bool> first = ParkPoll(hub, "j1", 1);
  ASSERT_EQ(first.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(first.get());
  EXPECT_TRUE(Eventually([&] { return hub.watchers() == 0; }));

  std::future<bool> second = ParkPoll(hub, "j1", 1);
  EXPECT_EQ(hub.watchers(), 1u);
  EXPECT_EQ(f.metrics.GetGauge("rtgw_watchers", "", {{"kind", "long_poll"}})->Value(), 1);
  f.feed.Append("t1", {.job_id = "j2", .projection_version = 5});  // another job
  EXPECT_EQ(second.wait_for(100ms), std::future_status::timeout);
  f.feed.Append("t1", {.job_id = "j1", .projection_version = 2});
  ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(second.get());
  EXPECT_TRUE(Eventually([&] { return hub.watchers() == 0; }));

  // Already fanned out when it parks (committed after the caller's read): at once.
  std::future<bool> third = ParkPoll(hub, "j1", 1);
  ASSERT_EQ(third.wait_for(1s), std::future_status::ready);
  EXPECT_FALSE(third.get());
}

TEST(JobWatchHubTest, LongPollTimesOutAndShutdownAnswersIt) {
  Fixture f;
  JobWatchHub hub(TestOptions(), f.feed, f.metrics);
  auto started = StartWatch(hub, "t1");  // the hub follows t1: polls park at once
  ASSERT_TRUE(started.ok());
  const auto start = std::chrono::steady_clock::now();
  std::future<bool> timed = ParkPoll(hub, "j1", 0, 50ms);
  ASSERT_EQ(timed.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(timed.get());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);

  std::future<bool> at_shutdown = ParkPoll(hub, "j1", 0);
  hub.Shutdown();
  ASSERT_EQ(at_shutdown.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(at_shutdown.get());
  StreamReader reader(started->stream, "t1");
  ASSERT_TRUE(reader.WaitFor([&] { return reader.ended(); }));
  EXPECT_FALSE(reader.aborted());  // a clean end of the body
  auto refused = StartWatch(hub, "t1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  std::future<bool> after_shutdown = ParkPoll(hub, "j1", 0);  // answered on this thread
  ASSERT_EQ(after_shutdown.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(after_shutdown.get());
  EXPECT_EQ(hub.watchers(), 0u);
}

TEST(JobWatchHubTest, DestructionUnsetsTheListener) {
  Fixture f;
  {
    JobWatchHub hub(TestOptions(), f.feed, f.metrics);
    EXPECT_TRUE(f.feed.has_listener());
    auto started = StartWatch(hub, "t1");
    ASSERT_TRUE(started.ok());
  }
  EXPECT_FALSE(f.feed.has_listener());
  f.feed.Append("t1");  // nothing to call
}

// Manual: the hub's share of the issue's watch target (1,000 watchers of one
// tenant, 5,000 changes/s), on the fake feed, with one thread taking every
// stream's bytes like the server does. Prints lag p50/p99 and CPU, for
// watchers of everything and for bench/list_watch's shape (one workspace per
// watcher, plus 2 of everything).
// build/.../rtgw_job_watch_test --gtest_also_run_disabled_tests --gtest_filter=*Bench*
TEST(JobWatchHubTest, DISABLED_BenchFanOutThousandWatchers) {
  for (const bool by_workspace : {false, true}) {
    Fixture f;
    JobWatchHub hub(TestOptions(), f.feed, f.metrics);
    std::vector<std::shared_ptr<http::ResponseStream>> streams;
    for (int i = 0; i < 1002; ++i) {
      WatchFilter filter;
      if (by_workspace && i < 1000) filter.workspace_id = "ws-" + std::to_string(i);
      auto started = StartWatch(hub, "t1", filter);
      ASSERT_TRUE(started.ok());
      streams.push_back(started->stream);
    }
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> bytes{0};
    std::thread drain([&] {
      while (!stop) {
        for (auto& s : streams) bytes += s->Take().data.size();
        std::this_thread::sleep_for(1ms);
      }
    });
    const auto cpu_start = std::clock();
    const auto start = std::chrono::steady_clock::now();
    constexpr int kRate = 5000;
    constexpr int kSeconds = 3;
    const std::string job = "job-0000000000000000000000000000000000000000";
    for (int i = 0; i < kRate * kSeconds; ++i) {
      f.feed.Append("t1", {.job_id = job + std::to_string(i % 1000),
                           .workspace_id = "ws-" + std::to_string(i % 1000)});
      std::this_thread::sleep_until(
          start + std::chrono::microseconds(static_cast<std::int64_t>(i) * 1'000'000 / kRate));
    }
    std::this_thread::sleep_for(200ms);
    stop = true;
    drain.join();
    const double cpu_s = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::vector<std::uint64_t> buckets;
    double sum = 0;
    std::uint64_t count = 0;
    Histogram* lag = f.metrics.GetHistogram("rtgw_change_feed_lag_seconds", "", {}, {});
    lag->Snapshot(buckets, sum, count);
    const auto quantile = [&](double q) {
      for (std::size_t i = 0; i < lag->bounds().size(); ++i) {
        if (static_cast<double>(buckets[i]) >= q * static_cast<double>(count)) {
          return lag->bounds()[i];
        }
      }
      return 1e9;
    };
    std::printf(
        "%s: changes %llu, events %llu, MB %.0f, lag p50 <= %.4f s, p99 <= %.4f s, "
        "CPU %.2f s over %d s (process, incl. the drain and append threads)\n",
        by_workspace ? "1,000 by workspace + 2 of all" : "1,002 of all",
        static_cast<unsigned long long>(count),
        static_cast<unsigned long long>(CounterValue(f.metrics, "rtgw_watch_events_total", {})),
        static_cast<double>(bytes.load()) / 1e6, quantile(0.5), quantile(0.99), cpu_s, kSeconds);
    EXPECT_EQ(CounterValue(f.metrics, "rtgw_watch_dropped_total", {{"reason", "slow"}}), 0u);
  }
}

}  // namespace
}  // namespace rtgw::api
