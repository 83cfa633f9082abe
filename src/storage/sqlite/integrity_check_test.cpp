#include "storage/sqlite/integrity_check.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/fake_clock.hpp"

namespace rtgw::storage::sqlite {
namespace {

// An IntegrityCheck on a FakeClock whose checks run only when the test says
// so: each started check parks its callback in `started`.
struct Harness {
  FakeClock clock;
  IntegrityCheck check{&clock};
  std::vector<Callback<StoreIntegrity>> started;
  std::vector<StoreIntegrity> answers;

  void Ask() {
    check.Check([this](Callback<StoreIntegrity> ran) { started.push_back(std::move(ran)); },
                [this](Result<StoreIntegrity> r) { answers.push_back(r.value()); });
  }
};

TEST(IntegrityCheckTest, ConcurrentCallersShareOneRun) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.Ask();
  ASSERT_EQ(h.started.size(), 1u);
  EXPECT_TRUE(h.answers.empty());
  h.started[0](StoreIntegrity{.ok = false, .detail = "page 7: bad"});
  ASSERT_EQ(h.answers.size(), 3u);
  for (const StoreIntegrity& a : h.answers) {
    EXPECT_FALSE(a.ok);
    EXPECT_EQ(a.detail, "page 7: bad");
  }
}

TEST(IntegrityCheckTest, ResultIsReusedFor30SecondsThenRunAgain) {
  Harness h;
  h.Ask();
  h.started.at(0)(StoreIntegrity{.ok = true, .detail = {}});
  h.clock.Advance(std::chrono::seconds(29));
  h.Ask();  // reused, answered at once
  EXPECT_EQ(h.started.size(), 1u);
  ASSERT_EQ(h.answers.size(), 2u);
  EXPECT_TRUE(h.answers[1].ok);
  h.clock.Advance(std::chrono::seconds(1));
  h.Ask();  // 30 s old: a new run
  ASSERT_EQ(h.started.size(), 2u);
  h.started[1](StoreIntegrity{.ok = false, .detail = "x"});
  ASSERT_EQ(h.answers.size(), 3u);
  EXPECT_FALSE(h.answers[2].ok);
}

TEST(IntegrityCheckTest, ARunTheStoreRefusedIsNotReused) {
  Harness h;
  h.Ask();
  h.started.at(0)(Unavailable("store overloaded"));
  ASSERT_EQ(h.answers.size(), 1u);
  EXPECT_FALSE(h.answers[0].ok);
  EXPECT_NE(h.answers[0].detail.find("store overloaded"), std::string::npos);
  h.Ask();  // not reused: runs again
  EXPECT_EQ(h.started.size(), 2u);
}

}  // namespace
}  // namespace rtgw::storage::sqlite
