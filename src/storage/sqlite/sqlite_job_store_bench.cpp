// Throughput probe for the SQLite store's group commit (not a unit test).
//
//   rtgw_sqlite_store_bench [dir] [submits_per_writer] [writers...]
//
// For each writer count N: a fresh database, N threads, each doing M submits
// one after another (closed loop: the next submit is sent when the previous
// one is acknowledged, like N concurrent HTTP clients), then M applied events
// (one "queued" event per job it submitted). Prints, per phase, acknowledged
// writes/s, the mean group-commit batch size and the ack latency percentiles.
// RTGW_BENCH_CHECKPOINT_PAGES sets SqliteOptions::wal_autocheckpoint_pages.

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.hpp"
#include "common/time_format.hpp"
#include "jobs/job_state.hpp"
#include "storage/sqlite/sqlite_database.hpp"

namespace {

using rtgw::MetricsRegistry;
using rtgw::Result;
using rtgw::storage::EventOutcome;
using rtgw::storage::EventRecord;
using rtgw::storage::SubmitOutcome;
using rtgw::storage::SubmitRecord;
using rtgw::storage::sqlite::SqliteDatabase;
using rtgw::storage::sqlite::SqliteOptions;

SubmitRecord MakeRecord(int writer, int i) {
  SubmitRecord r;
  const std::string id = "job-" + std::to_string(writer) + "-" + std::to_string(i);
  r.tenant_id = "tenant-1";
  r.workspace_id = "tenant-1";
  r.job_id = id;
  r.idempotency_key = "submit-" + id;
  r.management_node_id = "mgmt-node-1";
  r.request_fingerprint = "3f2a9c0d5e6b7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e";
  r.spec_json =
      R"({"execution_profile":{"queue_name":"default"},"payload_ref":{"input_uri":"inline://gate/)" +
      id +
      R"("},"requested_by":{"user_id":"u1"},"resource_shape":{"cpu":1,"memory_mib":2048,"walltime_seconds":3600}})";
  r.submission_id =
      "6f1c2b7e-0d4a-4c8e-9b1a-" + std::to_string(100000000000 + writer * 1000000 + i);
  // As the API stamps it: the gateway clock at acceptance, so the list
  // indexes (which end with accepted_at) grow at their right end as in service.
  r.accepted_at = rtgw::FormatRfc3339(std::chrono::system_clock::now());
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.response_json =
      R"({"job_id":")" + id + R"(","submission_id":")" + r.submission_id +
      R"(","accepted_at":"2026-02-18T00:00:00.123456Z","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"})";
  return r;
}

EventRecord MakeEvent(int writer, int i) {
  const SubmitRecord job = MakeRecord(writer, i);
  EventRecord e;
  e.tenant_id = job.tenant_id;
  e.job_id = job.job_id;
  e.event_id = job.submission_id + ":queued";
  e.workspace_id = job.workspace_id;
  e.submission_id = job.submission_id;
  e.execution_id = "4242";
  e.state = rtgw::jobs::JobState::kQueued;
  e.occurred_at = "2026-02-18T00:00:01.000000Z";
  e.received_at = "2026-02-18T00:00:01.000000Z";
  e.trace_id = job.trace_id;
  e.fingerprint = "5e6b7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e3f2a9c0d";
  return e;
}

struct Snapshot {
  double batch_sum = 0;
  std::uint64_t batches = 0;
  double commit_sum = 0;
  std::uint64_t commits = 0;
};

Snapshot Take(MetricsRegistry& metrics) {
  Snapshot s;
  std::vector<std::uint64_t> buckets;
  metrics.GetHistogram("rtgw_store_commit_batch_size", "", {}, {})
      ->Snapshot(buckets, s.batch_sum, s.batches);
  metrics.GetHistogram("rtgw_store_commit_seconds", "", {}, {})
      ->Snapshot(buckets, s.commit_sum, s.commits);
  return s;
}

// N closed-loop writers, each doing `per_writer` calls of `send(w, i, done)`.
template <class Send>
int RunPhase(const char* phase, MetricsRegistry& metrics, int writers, int per_writer,
             int checkpoint_pages, Send send) {
  const Snapshot before = Take(metrics);
  std::atomic<int> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<std::vector<double>> latencies(writers);
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      latencies[w].reserve(per_writer);
      for (int i = 0; i < per_writer; ++i) {
        std::promise<bool> acked;
        const auto sent = std::chrono::steady_clock::now();
        send(w, i, [&acked](bool ok) { acked.set_value(ok); });
        if (!acked.get_future().get()) failures.fetch_add(1);
        latencies[w].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent)
                .count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&all](double q) {
    return all.empty() ? 0.0 : all[static_cast<std::size_t>(q * (all.size() - 1))];
  };
  const Snapshot after = Take(metrics);
  const std::uint64_t batches = after.batches - before.batches;
  const std::uint64_t commits = after.commits - before.commits;
  const int total = writers * per_writer;
  std::printf(
      "%-6s writers=%3d checkpoint_pages=%d writes=%7d failures=%d seconds=%.3f writes/s=%9.0f "
      "batches=%llu mean_batch=%.1f mean_commit_ms=%.3f ack_ms p50=%.2f p99=%.2f p99.9=%.2f\n",
      phase, writers, checkpoint_pages, total, failures.load(), seconds, total / seconds,
      static_cast<unsigned long long>(batches),
      batches ? (after.batch_sum - before.batch_sum) / batches : 0.0,
      commits ? 1000.0 * (after.commit_sum - before.commit_sum) / commits : 0.0, pct(0.5),
      pct(0.99), pct(0.999));
  return failures.load() == 0 ? 0 : 1;
}

int RunOnce(const std::string& dir, int writers, int per_writer, int checkpoint_pages) {
  const std::string path = dir + "/bench-" + std::to_string(writers) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  MetricsRegistry metrics;
  SqliteOptions options;
  options.path = path;
  options.wal_autocheckpoint_pages = checkpoint_pages;
  Result<std::unique_ptr<SqliteDatabase>> opened = SqliteDatabase::Open(options, &metrics);
  if (!opened) {
    std::fprintf(stderr, "open failed: %s\n", opened.error().message.c_str());
    return 1;
  }
  std::unique_ptr<SqliteDatabase> store = std::move(opened).value();
  int rc = RunPhase(
      "submit", metrics, writers, per_writer, checkpoint_pages, [&](int w, int i, auto done) {
        store->jobs().Submit(MakeRecord(w, i),
                             [done](Result<SubmitOutcome> r) { done(r.ok() && !r->replayed); });
      });
  rc |= RunPhase(
      "event", metrics, writers, per_writer, checkpoint_pages, [&](int w, int i, auto done) {
        store->jobs().AppendEvent(MakeEvent(w, i),
                                  [done](Result<EventOutcome> r) { done(r.ok() && r->applied); });
      });
  store->Close();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : std::filesystem::temp_directory_path().string();
  const int per_writer = argc > 2 ? std::atoi(argv[2]) : 2000;
  std::vector<int> writer_counts;
  for (int i = 3; i < argc; ++i) writer_counts.push_back(std::atoi(argv[i]));
  if (writer_counts.empty()) writer_counts = {1, 8, 32};
  int rc = 0;
  const char* pages = std::getenv("RTGW_BENCH_CHECKPOINT_PAGES");
  const int checkpoint_pages = pages != nullptr ? std::atoi(pages) : 1000;
  for (int writers : writer_counts) rc |= RunOnce(dir, writers, per_writer, checkpoint_pages);
  return rc;
}
