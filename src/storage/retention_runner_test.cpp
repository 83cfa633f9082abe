#include "storage/retention_runner.hpp"

#include <atomic>
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

// One prunable run per walk; records the cutoffs and what was deleted.
class OneRunPerWalk final : public ValidatorRunRetentionStore {
 public:
  void ReadPrunableRuns(std::string cutoff, std::optional<RunPruneKey>, int,
                        Callback<PrunableRunBatch> done) override {
    PrunableRunBatch batch;
    batch.runs.resize(1);
    batch.runs[0].run.run_id = "vr-" + cutoff;
    batch.runs[0].executions.resize(1);
    {
      std::lock_guard lock(mu_);
      cutoffs_.push_back(std::move(cutoff));
    }
    done(std::move(batch));
  }
  void DeletePrunedRuns(std::string, std::vector<PrunableRun> runs,
                        Callback<RunPruneCounts> done) override {
    {
      std::lock_guard lock(mu_);
      for (const PrunableRun& r : runs) deleted_.push_back(r.run.run_id);
    }
    done(RunPruneCounts{static_cast<std::int64_t>(runs.size()), 1});
  }
  void CountPrunableRuns(std::string, Callback<RunPruneCounts> done) override {
    done(RunPruneCounts{});
  }
  std::vector<std::string> cutoffs() {
    std::lock_guard lock(mu_);
    return cutoffs_;
  }
  std::vector<std::string> deleted() {
    std::lock_guard lock(mu_);
    return deleted_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> cutoffs_;
  std::vector<std::string> deleted_;
};

class CountingMedia final : public RunMediaDeleter {
 public:
  Status DeleteMedia(const PrunableRun&) override {
    ++calls;
    return Ok{};
  }
  std::atomic<int> calls{0};
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
  ScriptedFeed feed({1'000, 1'000, 3});
  RecordingRetention jobs;
  RetentionOptions o;
  o.change_retention = 1s;
  const std::int64_t now_us = NowUs();
  RetentionRunner runner(feed, jobs, nullptr, o);
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return feed.calls().size() >= 3; }));
  for (const auto& call : feed.calls()) {
    EXPECT_EQ(call.max_rows, 1'000);
    EXPECT_NEAR(static_cast<double>(call.older_than_us), static_cast<double>(now_us - 1'000'000),
                2e6);
  }
  // The next round comes after retention / 10.
  ASSERT_TRUE(Eventually([&] { return feed.calls().size() >= 4; }));
  runner.Stop();
  EXPECT_TRUE(jobs.filters().empty());  // job retention off
}

// The duty cycle of a walk: a step that took t is followed by t * (100 - p) / p of sleep.
TEST(PaceAfterTest, SleepsInProportionToTheStepAndNotAtAllAtOneHundredPercent) {
  EXPECT_EQ(PaceAfter(10ms, 100), 0us);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(PaceAfter(10ms, 25), 30ms);
  EXPECT_EQ(PaceAfter(8ms, 50), 8ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 38ms);
  RecordingRetention jobs;
  PruneRun run;
  run.busy_percent = 0;
  Result<PruneReport> refused = PruneJobs(jobs, nullptr, run);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(jobs.filters().empty());  // refused before any read
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

TEST(RetentionRunnerTest, WalksValidatorRunsAfterEachJobWalkWithTheSameRetention) {
  ScriptedFeed feed({});
  RecordingRetention jobs;
  OneRunPerWalk runs;
  CountingMedia media;
  RetentionOptions o;
  o.job_retention = std::chrono::hours(24);
  o.job_interval = 20ms;
  RetentionRunner runner(feed, jobs, nullptr, o);
  runner.AddValidatorRuns(runs, nullptr, media);
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return runs.cutoffs().size() >= 2; }));
  runner.Stop();
  const std::vector<std::string> cutoffs = runs.cutoffs();
  const std::vector<PruneFilter> filters = jobs.filters();
  ASSERT_GE(filters.size(), cutoffs.size());
  // Each run walk right after its job walk, its cutoff now - the same retention.
  for (std::size_t i = 0; i < cutoffs.size(); ++i) {
    EXPECT_GE(cutoffs[i], filters[i].cutoff);
    if (i + 1 < filters.size()) {
      EXPECT_LE(cutoffs[i], filters[i + 1].cutoff);
    }
  }
  // Media first, then the rows: every run read was deleted after its media.
  EXPECT_EQ(runs.deleted().size(), cutoffs.size());
  EXPECT_EQ(media.calls.load(), static_cast<int>(cutoffs.size()));
}

}  // namespace
}  // namespace rtgw::storage
