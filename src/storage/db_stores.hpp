#ifndef RTGW_STORAGE_DB_STORES_HPP_
#define RTGW_STORAGE_DB_STORES_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "storage/stores.hpp"

namespace rtgw::storage {

// The small stores of a backend database `Db` (sqlite::SqliteDatabase,
// postgres::PgDatabase), declared once for both. Each store only holds `Db&`;
// its member functions are explicit specializations (`template <> void
// DbNodeStore<SqliteDatabase>::GetNode(..)`) in the backend's own
// <backend>_<store>_store.cpp, compiled once there; nothing else calls them
// but through the interfaces. What a backend does behind a call (threads,
// group commit, row locking) is documented in that file.
// Thread-safety: safe for concurrent use (every call is a task of Db).
//
// Adding a store: its interface in storage/<name>_store.hpp and an accessor in
// Stores (stores.hpp); a template here and a member of DbStores; per backend
// one .cpp of specializations (listed in its CMakeLists.txt).

template <class Db>
class DbJobStore final : public JobStore {
 public:
  explicit DbJobStore(Db& db) : db_(db) {}

  void Submit(SubmitRecord record, Callback<SubmitOutcome> done) override;
  void AppendEvent(EventRecord record, Callback<EventOutcome> done) override;
  void GetJob(std::string tenant_id, std::string job_id, Callback<JobRecord> done) override;
  void GetDetail(std::string tenant_id, std::string job_id, Callback<JobDetail> done) override;
  // Always completes with a value (failures are reachable/writable=false with
  // a `detail`): a real read, then a real write.
  void CheckHealth(Callback<StoreHealth> done) override;
  // SQLite: PRAGMA quick_check on a reader thread, one at a time, its result
  // reused for 30 s. PostgreSQL: ok, "not applicable" (see pg_job_store.cpp).
  void CheckIntegrity(Callback<StoreIntegrity> done) override;
  void Close() override { db_.Close(); }  // the whole database, every store of it

 private:
  Db& db_;
};

template <class Db>
class DbOutboxStore final : public OutboxStore {
 public:
  explicit DbOutboxStore(Db& db) : db_(db) {}

  void ClaimOutbox(std::string owner, std::chrono::milliseconds lease, int limit,
                   Callback<std::vector<OutboxItem>> done) override;
  void CompleteOutbox(std::string owner, std::int64_t id, Callback<bool> done) override;
  void FailOutbox(std::string owner, std::int64_t id, std::string error,
                  std::chrono::milliseconds retry_after, bool dead, Callback<bool> done) override;
  void ListDeadLetters(std::optional<std::string> tenant_id, int limit,
                       Callback<std::vector<OutboxItem>> done) override;
  void ReplayDeadLetter(std::optional<std::string> tenant_id, std::int64_t id,
                        Callback<bool> done) override;
  void GetOutboxStats(Callback<OutboxStats> done) override;
  void SetOutboxListener(std::function<void()> listener) override;

 private:
  Db& db_;
};

template <class Db>
class DbNodeStore final : public NodeStore {
 public:
  explicit DbNodeStore(Db& db) : db_(db) {}

  void RecordHeartbeat(NodeHeartbeat heartbeat, Callback<Ok> done) override;
  void GetNode(std::string tenant_id, std::string node_id, Callback<NodeRecord> done) override;
  void ListNodes(std::optional<std::string> tenant_id,
                 Callback<std::vector<NodeRecord>> done) override;
  void AcquireLeases(LeaseRequest request, Callback<AcquireResult> done) override;
  void RenewLease(std::string tenant_id, std::string node_id, std::string lease_id,
                  std::chrono::seconds lease, SystemTime now, Callback<SystemTime> done) override;
  void ReleaseLease(std::string tenant_id, std::string node_id, std::string lease_id,
                    Callback<Ok> done) override;
  void RequestCancel(CancelRequest request, Callback<CancelOutcome> done) override;
  void FindSubmit(std::string tenant_id, std::string idempotency_key,
                  Callback<std::optional<StoredSubmit>> done) override;

 private:
  Db& db_;
};

template <class Db>
class DbValidatorRunStore final : public ValidatorRunStore {
 public:
  explicit DbValidatorRunStore(Db& db) : db_(db) {}

  void CreateRun(ValidatorRun run, Callback<Ok> done) override;
  void AddExecution(ValidatorExecution execution, Callback<Ok> done) override;
  void MarkLaunched(std::string callback_id, std::string execution_name, std::string status,
                    Callback<bool> done) override;
  void FinishWithoutCallback(std::string callback_id, std::string status, std::string error,
                             std::string finished_at, Callback<bool> done) override;
  void ApplyCallback(CallbackApply apply, Callback<CallbackOutcome> done) override;
  void MarkEventSynced(std::string callback_id, Callback<Ok> done) override;
  void GetRun(std::optional<std::string> tenant_id, std::string run_id,
              Callback<ValidatorRun> done) override;
  void ListDue(std::int64_t now_us, std::optional<DueKey> after, int limit,
               Callback<std::vector<ValidatorRun>> done) override;
  void ListRuns(RunListQuery query, Callback<RunPage> done) override;

 private:
  Db& db_;
};

template <class Db>
class DbRevocationStore final : public RevocationStore {
 public:
  explicit DbRevocationStore(Db& db) : db_(db) {}

  void Revoke(TokenRevocation revocation, std::size_t max_per_tenant, Callback<Ok> done) override;
  void ListRevocations(SystemTime now, Callback<std::vector<TokenRevocation>> done) override;

 private:
  Db& db_;
};

template <class Db>
class DbJobFeedStore final : public JobFeedStore {
 public:
  explicit DbJobFeedStore(Db& db) : db_(db) {}

  void ListJobs(JobListQuery query, Callback<JobPage> done) override;
  void ReadChanges(std::string tenant_id, std::int64_t after_seq, int limit,
                   Callback<ChangePage> done) override;
  void PruneChanges(std::int64_t older_than_us, int max_rows, Callback<std::int64_t> done) override;
  void SetChangeListener(std::function<void(const std::string& tenant_id)> listener) override;

 private:
  Db& db_;
};

template <class Db>
class DbJobRetentionStore final : public JobRetentionStore {
 public:
  explicit DbJobRetentionStore(Db& db) : db_(db) {}

  void ReadPrunable(PruneFilter filter, std::optional<PruneKey> after, int limit,
                    Callback<PrunableBatch> done) override;
  void DeletePruned(PruneFilter filter, std::vector<PrunableJob> jobs,
                    Callback<PruneDeleted> done) override;
  void CountPrunable(PruneFilter filter, Callback<PruneCounts> done) override;

 private:
  Db& db_;
};

template <class Db>
class DbValidatorRunRetentionStore final : public ValidatorRunRetentionStore {
 public:
  explicit DbValidatorRunRetentionStore(Db& db) : db_(db) {}

  void ReadPrunableRuns(std::string cutoff, std::optional<RunPruneKey> after, int limit,
                        Callback<PrunableRunBatch> done) override;
  void DeletePrunedRuns(std::string cutoff, std::vector<PrunableRun> runs,
                        Callback<RunPruneCounts> done) override;
  void CountPrunableRuns(std::string cutoff, Callback<RunPruneCounts> done) override;

 private:
  Db& db_;
};

// The Stores part of a backend database (CRTP: `class SqliteDatabase final :
// public DbStores<SqliteDatabase>`): owns one store of each kind over the
// database and hands them out. The stores are members of this base, so they
// outlive the derived database's executor (destroyed, closed and joined first).
template <class Db>
class DbStores : public Stores {
 public:
  JobStore& jobs() final { return jobs_; }
  OutboxStore& outbox() final { return outbox_; }
  NodeStore& nodes() final { return nodes_; }
  ValidatorRunStore& validator_runs() final { return runs_; }
  RevocationStore& revocations() final { return revocations_; }
  JobFeedStore& feed() final { return feed_; }
  JobRetentionStore& retention() final { return retention_; }
  ValidatorRunRetentionStore& validator_run_retention() final { return run_retention_; }

 protected:
  // `self` is the derived database under construction: only bound, not used.
  explicit DbStores(Db& self)
      : jobs_(self),
        outbox_(self),
        nodes_(self),
        runs_(self),
        revocations_(self),
        feed_(self),
        retention_(self),
        run_retention_(self) {}

 private:
  DbJobStore<Db> jobs_;
  DbOutboxStore<Db> outbox_;
  DbNodeStore<Db> nodes_;
  DbValidatorRunStore<Db> runs_;
  DbRevocationStore<Db> revocations_;
  DbJobFeedStore<Db> feed_;
  DbJobRetentionStore<Db> retention_;
  DbValidatorRunRetentionStore<Db> run_retention_;
};

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_DB_STORES_HPP_
