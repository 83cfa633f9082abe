#include "agent/journal/journal.hpp"

#include <gtest/gtest.h>

#include "common/temp_dir.hpp"

namespace rtgw::agent {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<Journal> Open() {
    auto j = Journal::Open(path_);
    EXPECT_TRUE(j.ok()) << j.error().message;
    return std::move(*j);
  }
  JobSpec Spec(const std::string& sid) {
    JobSpec s;
    s.submission_id = sid;
    s.job_id = "job-" + sid;
    s.tenant_id = "t1";
    s.input_uri = "inline://x";
    s.partition = "debug";
    s.max_walltime_minutes = 30;
    return s;
  }
  TempDir dir_{"rtgw-journal"};
  const std::string path_ = dir_.File("journal.db");
};

TEST_F(JournalTest, LifecycleSurvivesReopen) {
  {
    auto j = Open();
    auto row = j->RecordLease(Spec("s1"), "lease-1");
    ASSERT_TRUE(row.ok());
    EXPECT_EQ(row->phase, JournalPhase::kLeased);
    ASSERT_TRUE(j->MarkSubmitting("s1", 1000).ok());
  }  // "crash" between intent and sbatch result
  {
    auto j = Open();
    auto row = j->Get("s1");
    ASSERT_TRUE(row.ok());
    ASSERT_TRUE(row->has_value());
    EXPECT_EQ((*row)->phase, JournalPhase::kSubmitting);
    EXPECT_EQ((*row)->intent_at_ms, 1000);
    EXPECT_EQ((*row)->spec.partition, "debug");
    EXPECT_EQ((*row)->spec.max_walltime_minutes, 30);
    ASSERT_TRUE(j->MarkSubmitted("s1", "42").ok());
    auto active = j->Active();
    ASSERT_TRUE(active.ok());
    ASSERT_EQ(active->size(), 1u);
    EXPECT_EQ((*active)[0].backend_id, "42");
  }
}

TEST_F(JournalTest, ValidatorCallSurvivesReopen) {
  JobSpec spec = Spec("v1");
  spec.validator = ValidatorCall{"json-rules", "1.0.0", "vr-1", "cb-1", "http://gw/cb"};
  {
    auto j = Open();
    ASSERT_TRUE(j->RecordLease(spec, "lease-1").ok());
    ASSERT_TRUE(j->RecordLease(Spec("plain"), "lease-2").ok());
  }
  auto j = Open();
  auto row = j->Get("v1");
  ASSERT_TRUE(row.ok() && row->has_value());
  ASSERT_TRUE((*row)->spec.validator.has_value());
  EXPECT_EQ((*row)->spec.validator->name, "json-rules");
  EXPECT_EQ((*row)->spec.validator->version, "1.0.0");
  EXPECT_EQ((*row)->spec.validator->run_id, "vr-1");
  EXPECT_EQ((*row)->spec.validator->callback_id, "cb-1");
  EXPECT_EQ((*row)->spec.validator->callback_url, "http://gw/cb");
  auto plain = j->Get("plain");
  ASSERT_TRUE(plain.ok() && plain->has_value());
  EXPECT_FALSE((*plain)->spec.validator.has_value());
}

TEST_F(JournalTest, ReleaseOnlyUnsubmittedAndReLeaseKeepsPhase) {
  auto j = Open();
  ASSERT_TRUE(j->RecordLease(Spec("a"), "l1").ok());
  ASSERT_TRUE(j->RecordLease(Spec("b"), "l2").ok());
  ASSERT_TRUE(j->MarkSubmitting("b", 1).ok());
  ASSERT_TRUE(j->MarkSubmitted("b", "7").ok());
  ASSERT_TRUE(j->MarkReleased("a").ok());
  ASSERT_TRUE(j->MarkReleased("b").ok());  // no effect: submitted
  EXPECT_EQ((*j->Get("a"))->phase, JournalPhase::kReleased);
  EXPECT_EQ((*j->Get("b"))->phase, JournalPhase::kSubmitted);
  // The gateway leases b again (its lease expired): the row stays submitted.
  auto again = j->RecordLease(Spec("b"), "l3");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->phase, JournalPhase::kSubmitted);
  EXPECT_EQ(again->backend_id, "7");
  EXPECT_EQ(again->lease_id, "l3");
  EXPECT_EQ(j->RecordLease(Spec("a"), "l4")->phase, JournalPhase::kLeased);
}

TEST_F(JournalTest, EventsAreDeterministicAndOnce) {
  auto j = Open();
  ASSERT_TRUE(j->RecordLease(Spec("s"), "l").ok());
  ASSERT_TRUE(j->RecordEvent("s", "queued", "{\"a\":1}", false).ok());
  ASSERT_TRUE(j->RecordEvent("s", "queued", "{\"a\":2}", false).ok());  // same id: ignored
  ASSERT_TRUE(j->RecordEvent("s", "completed", "{\"b\":1}", true).ok());
  auto due = j->DueEvents(0, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);  // one per job: the oldest
  EXPECT_EQ((*due)[0].event_id, "s:queued");
  EXPECT_EQ((*due)[0].body, "{\"a\":1}");
  ASSERT_TRUE(j->MarkDelivered("s:queued", 1).ok());
  due = j->DueEvents(0, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].event_id, "s:completed");
  EXPECT_EQ((*j->Get("s"))->phase, JournalPhase::kTerminal);
  EXPECT_EQ((*j->Get("s"))->last_state, "completed");
  EXPECT_FALSE(j->RecordEvent("nosuch", "queued", "{}", false).ok());
}

TEST_F(JournalTest, RetryDeliveryAndReannounce) {
  auto j = Open();
  ASSERT_TRUE(j->RecordLease(Spec("s"), "l").ok());
  ASSERT_TRUE(j->MarkSubmitting("s", 1).ok());
  ASSERT_TRUE(j->MarkSubmitted("s", "1").ok());
  ASSERT_TRUE(j->RecordEvent("s", "queued", "{}", false).ok());
  ASSERT_TRUE(j->MarkRetry("s:queued", 1, 5000).ok());
  EXPECT_TRUE(j->DueEvents(4999, 10)->empty());
  EXPECT_EQ(j->DueEvents(5000, 10)->size(), 1u);
  ASSERT_TRUE(j->MarkDelivered("s:queued", 6000).ok());
  EXPECT_TRUE(j->DueEvents(10000, 10)->empty());
  EXPECT_EQ(*j->UndeliveredCount(), 0);
  ASSERT_TRUE(j->ReannounceInFlight().ok());
  EXPECT_EQ(j->DueEvents(0, 10)->size(), 1u);
  ASSERT_TRUE(j->MarkDead("s:queued", "404").ok());
  EXPECT_TRUE(j->DueEvents(10000, 10)->empty());
}

TEST_F(JournalTest, ALaterEventNeverOvertakesAnEarlierOneInBackoff) {
  auto j = Open();
  ASSERT_TRUE(j->RecordLease(Spec("a"), "l").ok());
  ASSERT_TRUE(j->RecordLease(Spec("b"), "l").ok());
  ASSERT_TRUE(j->RecordEvent("a", "running", "{}", false).ok());
  ASSERT_TRUE(j->MarkRetry("a:running", 1, 5000).ok());  // gateway was down
  ASSERT_TRUE(j->RecordEvent("a", "completed", "{}", true).ok());
  ASSERT_TRUE(j->RecordEvent("b", "queued", "{}", false).ok());
  auto due = j->DueEvents(1000, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].event_id, "b:queued");  // other jobs are not held up
  due = j->DueEvents(5000, 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].event_id, "a:running");
  EXPECT_EQ((*due)[1].event_id, "b:queued");
  ASSERT_TRUE(j->MarkDead("a:running", "HTTP 409").ok());  // refused: the next one may go
  due = j->DueEvents(5000, 10);
  EXPECT_EQ((*due)[0].event_id, "a:completed");
}

TEST_F(JournalTest, PruneKeepsWhatIsStillNeeded) {
  auto j = Open();
  for (const char* sid : {"done", "running", "dead"})
    ASSERT_TRUE(j->RecordLease(Spec(sid), "l").ok());
  ASSERT_TRUE(j->RecordEvent("done", "completed", "{}", true).ok());
  ASSERT_TRUE(j->MarkDelivered("done:completed", 100).ok());
  ASSERT_TRUE(j->RecordEvent("running", "queued", "{}", false).ok());
  ASSERT_TRUE(j->MarkDelivered("running:queued", 100).ok());
  ASSERT_TRUE(j->RecordEvent("dead", "failed", "{}", true).ok());
  ASSERT_TRUE(j->MarkDead("dead:failed", "HTTP 404").ok());
  EXPECT_EQ(*j->Prune(50), 0);  // delivered after the cutoff: kept
  EXPECT_EQ(*j->Prune(1000), 1);
  EXPECT_FALSE(j->Get("done")->has_value());
  EXPECT_TRUE(j->Get("running")->has_value());  // not terminal
  EXPECT_TRUE(j->Get("dead")->has_value());     // its refused event is kept for inspection
}

}  // namespace
}  // namespace rtgw::agent
