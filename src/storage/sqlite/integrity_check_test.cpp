#include "storage/sqlite/integrity_check.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/fake_clock.hpp"

namespace rtgw::storage::sqlite {
namespace {

// A check that runs only when the test says so: Check's `start` parks here.
struct ParkedChecks {
  std::vector<Callback<StoreIntegrity>> started;
  IntegrityCheck::StartFn Start() {
    return [this](Callback<StoreIntegrity> ran) { started.push_back(std::move(ran)); };
  }
};

TEST(IntegrityCheckTest, ConcurrentCallersShareOneRun) {
  FakeClock clock;
  IntegrityCheck check(&clock);
  ParkedChecks runs;
  std::vector<StoreIntegrity> answers;
  for (int i = 0; i < 3; ++i) {
    check.Check(runs.Start(), [&](Result<StoreIntegrity> r) { answers.push_back(r.value()); });
  }
  ASSERT_EQ(runs.started.size(), 1u);
  EXPECT_TRUE(answers.empty());
  runs.started[0](StoreIntegrity{.ok = false, .detail = "page 7: bad"});
  ASSERT_EQ(answers.size(), 3u);
  for (const StoreIntegrity& a : answers) {
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(a.detail, "page 7: bad");
  }
}

TEST(IntegrityCheckTest, ResultIsReusedFor30SecondsThenRunAgain) {
  FakeClock clock;
  IntegrityCheck check(&clock);
  ParkedChecks runs;
  std::vector<bool> answers;
  auto ask = [&] {
    check.Check(runs.Start(), [&](Result<StoreIntegrity> r) { answers.push_back(r->ok); });
  };
  ask();
  runs.started.at(0)(StoreIntegrity{.ok = true, .detail = {}});
  clock.Advance(std::chrono::seconds(29));
  ask();  // reused, answered at once
  EXPECT_EQ(runs.started.size(), 1u);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_TRUE(answers[1]);
  clock.Advance(std::chrono::seconds(1));
  ask();  // 30 s old: a new run
  ASSERT_EQ(runs.started.size(), 2u);
  runs.started[1](StoreIntegrity{.ok = false, .detail = "x"});
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_FALSE(answers[2]);
}

TEST(IntegrityCheckTest, ARunTheStoreRefusedIsNotReused) {
  FakeClock clock;
  IntegrityCheck check(&clock);
  ParkedChecks runs;
  std::vector<StoreIntegrity> answers;
  auto ask = [&] {
    check.Check(runs.Start(), [&](Result<StoreIntegrity> r) { answers.push_back(r.value()); });
  };
  ask();
  runs.started.at(0)(Unavailable("store overloaded"));
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_FALSE(answers[0].ok);
  EXPECT_NE(answers[0].detail.find("store overloaded"), std::string::npos);
  ask();  // not reused: runs again
  EXPECT_EQ(runs.started.size(), 2u);
}

}  // namespace
}  // namespace rtgw::storage::sqlite
