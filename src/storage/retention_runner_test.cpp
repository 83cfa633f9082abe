#include "storage/retention_runner.hpp"

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/time_format.hpp"

namespace rtgw::storage {
namespace {

using namespace std::chrono_literals;

// Records PruneChanges calls and answers them from a script (then 0).
class ScriptedFeed final : public JobFeedStore {
 public:
  struct Call {
    std::int64_t older_than_us;
    int max_rows;
  };
  explicit ScriptedFeed(std::deque<std::int64_t> answers) : answers_(std::move(answers)) {}
  void ListJobs(JobListQuery, Callback<JobPage> done) override { done(JobPage{}); }
  void ReadChanges(std::string, std::int64_t, int, Callback<ChangePage> done) override {
    done(ChangePage{});
  }
  void PruneChanges(std::int64_t older_than_us, int max_rows,
                    Callback<std::int64_t> done) override {
    std::int64_t answer = 0;
    {
      std::lock_guard lock(mu_);
      calls_.push_back({older_than_us, max_rows});
      if (!answers_.empty()) {
        answer = answers_.front();
        answers_.pop_front();
      }
    }
    done(answer);
  }
  void SetChangeListener(std::function<void(const std::string&)>) override {}
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::deque<std::int64_t> answers_;
  std::vector<Call> calls_;
};

// Records the cutoffs the job walks asked with; nothing to prune.
class RecordingRetention final : public JobRetentionStore {
 public:
  void ReadPrunable(PruneFilter filter, std::optional<PruneKey>, int,
                    Callback<PrunableBatch> done) override {
    {
      std::lock_guard lock(mu_);
      filters_.push_back(filter);
    }
    done(PrunableBatch{});
  }
  void DeletePruned(PruneFilter, std::vector<PrunableJob>, Callback<PruneDeleted> done) override {
    done(PruneDeleted{});
  }
  void CountPrunable(PruneFilter, Callback<PruneCounts> done) override { done(PruneCounts{}); }
  std::vector<PruneFilter> filters() {
    std::lock_guard lock(mu_);
    return filters_;
  }

 private:
  std::mutex mu_;
  std::vector<PruneFilter> filters_;
};

template <class F>
bool Eventually(F&& f, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return f();
}

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(RetentionRunnerTest, PrunesChangesInBatchesUntilFewerRowsComeBackThenAgainLater) {
  ScriptedFeed feed({10'000, 10'000, 3});
  RecordingRetention jobs;
  RetentionOptions o;
  o.change_retention = 1s;
  const std::int64_t now_us = NowUs();
  RetentionRunner runner(feed, jobs, nullptr, o);
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return feed.calls().size() >= 3; }));
  for (const auto& call : feed.calls()) {
    EXPECT_EQ(call.max_rows, 10'000);
    EXPECT_NEAR(static_cast<double>(call.older_than_us), static_cast<double>(now_us - 1'000'000),
                2e6);
  }
  // The next round comes after retention / 10.
  ASSERT_TRUE(Eventually([&] { return feed.calls().size() >= 4; }));
  runner.Stop();
  EXPECT_TRUE(jobs.filters().empty());  // job retention off
}

TEST(RetentionRunnerTest, KeepForeverNeverPrunes) {
  ScriptedFeed feed({});
  RecordingRetention jobs;
  {
    RetentionRunner runner(feed, jobs, nullptr, RetentionOptions{});
    runner.Start();
    std::this_thread::sleep_for(30ms);
  }
  EXPECT_TRUE(feed.calls().empty());
  EXPECT_TRUE(jobs.filters().empty());
}

TEST(RetentionRunnerTest, WalksJobsEveryIntervalWithTheCutoffOfTheRetention) {
  ScriptedFeed feed({});
  RecordingRetention jobs;
  RetentionOptions o;
  o.job_retention = std::chrono::hours(24 * 30);
  o.job_interval = 20ms;
  o.keep_undelivered = false;
  RetentionRunner runner(feed, jobs, nullptr, o);
  const std::string low = FormatRfc3339(std::chrono::system_clock::now() - o.job_retention);
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return jobs.filters().size() >= 3; }));
  runner.Stop();
  const std::string high = FormatRfc3339(std::chrono::system_clock::now() - o.job_retention);
  for (const PruneFilter& f : jobs.filters()) {
    EXPECT_GE(f.cutoff, low);
    EXPECT_LE(f.cutoff, high);
    EXPECT_FALSE(f.keep_undelivered);
  }
  EXPECT_TRUE(feed.calls().empty());  // change retention off
}

}  // namespace
}  // namespace rtgw::storage
