#ifndef RTGW_STORAGE_STORE_TEST_SUPPORT_HPP_
#define RTGW_STORAGE_STORE_TEST_SUPPORT_HPP_

// Test-only helpers for any JobStore backend: canned submit and event records,
// synchronous wrappers of the async calls, and the fixture of the scenario
// suites. The backends' own support headers (sqlite/sqlite_test_support.hpp,
// postgres/pg_test_support.hpp) add what is specific to them (temp files,
// schemas, raw connections) and the Backend each suite runs on.

#include <cstdint>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/await.hpp"
#include "jobs/job_state.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"
#include "storage/outbox_store.hpp"
#include "storage/revocation_store.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::storage::test_support {

inline SubmitRecord MakeSubmit(const std::string& tenant, const std::string& job_id,
                               const std::string& key, const std::string& fingerprint = "fp-1") {
  SubmitRecord r;
  r.tenant_id = tenant;
  r.workspace_id = tenant;
  r.job_id = job_id;
  r.idempotency_key = key;
  r.management_node_id = "mgmt-node-1";
  r.request_fingerprint = fingerprint;
  r.spec_json = R"({"execution_profile":{"queue_name":"default"},"resource_shape":{"cpu":1}})";
  r.submission_id = "sub-" + job_id;
  r.accepted_at = "2026-02-18T00:00:00.000001Z";
  r.trace_id = "trace-" + job_id;
  r.response_json = R"({"job_id":")" + job_id + R"(","submission_id":")" + r.submission_id +
                    R"(","accepted_at":"2026-02-18T00:00:00.000001Z","trace_id":"trace-)" + job_id +
                    R"("})";
  return r;
}

inline EventRecord MakeEvent(const SubmitRecord& job, const std::string& event_id,
                             jobs::JobState state, const std::string& fingerprint = "") {
  EventRecord e;
  e.tenant_id = job.tenant_id;
  e.job_id = job.job_id;
  e.event_id = event_id;
  e.workspace_id = job.workspace_id;
  e.submission_id = job.submission_id;
  e.execution_id = "aiida-1";
  e.state = state;
  e.occurred_at = "2026-02-18T00:00:01Z";
  e.received_at = "2026-02-18T00:00:02.000000Z";
  e.trace_id = "trace-" + event_id;
  e.fingerprint = fingerprint.empty() ? "fp-" + event_id : fingerprint;
  return e;
}

inline Result<SubmitOutcome> SubmitSync(JobStore& store, SubmitRecord r) {
  return Await<SubmitOutcome>(
      [&](Callback<SubmitOutcome> cb) { store.Submit(std::move(r), std::move(cb)); });
}
inline Result<EventOutcome> AppendSync(JobStore& store, EventRecord e) {
  return Await<EventOutcome>(
      [&](Callback<EventOutcome> cb) { store.AppendEvent(std::move(e), std::move(cb)); });
}
inline Result<JobRecord> GetJobSync(JobStore& store, const std::string& tenant,
                                    const std::string& job_id) {
  return Await<JobRecord>(
      [&](Callback<JobRecord> cb) { store.GetJob(tenant, job_id, std::move(cb)); });
}
inline Result<JobDetail> GetDetailSync(JobStore& store, const std::string& tenant,
                                       const std::string& job_id) {
  return Await<JobDetail>(
      [&](Callback<JobDetail> cb) { store.GetDetail(tenant, job_id, std::move(cb)); });
}
inline Result<StoreHealth> HealthSync(JobStore& store) {
  return Await<StoreHealth>([&](Callback<StoreHealth> cb) { store.CheckHealth(std::move(cb)); });
}
inline Result<StoreIntegrity> IntegritySync(JobStore& store) {
  return Await<StoreIntegrity>(
      [&](Callback<StoreIntegrity> cb) { store.CheckIntegrity(std::move(cb)); });
}

// The fixture of the typed scenario suites (job_store_scenarios.hpp,
// outbox_store_scenarios.hpp, node_store_scenarios.hpp,
// validator_run_store_scenarios.hpp, revocation_store_scenarios.hpp,
// job_feed_store_scenarios.hpp): the stores of `Backend` on a fresh
// database, opened before each test and closed after it. The scenarios see
// them only through the store interfaces. A Backend is the one place a
// backend's test store is built (SqliteTestDatabase, postgres::test_support::PgTestDatabase):
//   static constexpr const char* kName;  // its StoreHealth::backend
//   void SetUpDatabase();                // a fresh database; may fail with ASSERT_*
//   void TearDownDatabase();
//   std::unique_ptr<S> Open();           // the stores on that database, outbox on
//                                        // (S: a storage::Stores)
//   std::int64_t QueryInt(const std::string& sql);  // first column of the first row
template <class Backend>
class StoreScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.SetUpDatabase();
    if (HasFatalFailure()) return;
    store_ = backend_.Open();
    ASSERT_TRUE(store_);
  }
  void TearDown() override {
    if (store_) store_->Close();
    store_.reset();
    backend_.TearDownDatabase();
  }

  JobStore& Jobs() { return store_->jobs(); }
  OutboxStore& Outbox() { return store_->outbox(); }
  NodeStore& Nodes() { return store_->nodes(); }
  ValidatorRunStore& ValidatorRuns() { return store_->validator_runs(); }
  RevocationStore& Revocations() { return store_->revocations(); }
  // A restart: closes the store and opens a new one on the same database.
  void Reopen() {
    store_->Close();
    store_.reset();
    store_ = backend_.Open();
    ASSERT_TRUE(store_);
  }
  std::int64_t CountRows(const std::string& table) {
    return backend_.QueryInt("SELECT COUNT(*) FROM " + table);
  }
  std::int64_t QueryInt(const std::string& sql) { return backend_.QueryInt(sql); }

  Backend backend_;
  decltype(std::declval<Backend&>().Open()) store_;
};

}  // namespace rtgw::storage::test_support

// Runs the eight scenario suites on `Backend`, their tests named `Prefix.*`.
// Once per backend, inside namespace rtgw::storage::test_support, in a file
// that includes the eight *_scenarios.hpp headers.
#define RTGW_INSTANTIATE_STORE_SCENARIOS(Prefix, Backend)                      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, JobStoreScenarios, Backend);          \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, OutboxStoreScenarios, Backend);       \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, NodeStoreScenarios, Backend);         \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, ValidatorRunStoreScenarios, Backend); \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, RevocationStoreScenarios, Backend);   \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, JobFeedStoreScenarios, Backend);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, JobRetentionStoreScenarios, Backend); \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, ValidatorRunRetentionStoreScenarios, Backend)

#endif  // RTGW_STORAGE_STORE_TEST_SUPPORT_HPP_
