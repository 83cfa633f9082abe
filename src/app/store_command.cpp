#include <chrono>
#include <cstdio>
#include <memory>

#include "app/commands.hpp"
#include "app/job_archive.hpp"
#include "app/validator_wiring.hpp"
#include "common/time_format.hpp"
#include "config/env_file.hpp"
#include "config/options.hpp"
#include "config/validator_config.hpp"
#include "storage/job_pruner.hpp"
#include "storage/open_store.hpp"
#include "storage/store_copy.hpp"
#include "storage/validator_run_pruner.hpp"

namespace rtgw::app {

namespace {

// `rtgw store prune` (docs/contracts/retention.md).
int RunStorePrune(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kOwn = {
      {"database-url", "RTGW_DATABASE_URL", "sqlite://rtgw.db",
       "Store to prune: sqlite://PATH (stop rtgw serve first: it holds the file) or "
       "postgresql://..."},
      {"older-than", "", "",
       "Prune terminal jobs whose last change is older than this: 3600, 90s, 30m, 12h, 30d."},
      {"archive", "", "",
       "Where pruned jobs are written first: file:///abs/dir, gs://bucket/prefix, or none "
       "(delete without an archive). Required unless --dry-run."},
      {"dry-run", "", "", "Print the counts only; change nothing.", true},
      {"include-undelivered", "", "",
       "Also prune jobs with an undelivered (or dead-lettered) ProjectionUpdate, deleting their "
       "outbox rows: for stores without a relay.",
       true},
      {"batch-size", "", "500", "Jobs per read, archive write and delete transaction (1..10000)."},
      {"pause-ms", "", "20", "Pause between batches (0..60000)."},
      {"busy-percent", "", "25",
       "Pacing: after each read, archive write and delete write, sleep so that the walk is "
       "busy at most this share of the time (1..100; 100 = no pacing)."},
  };
  static const std::vector<config::OptionSpec> kSpecs = [] {
    std::vector<config::OptionSpec> all = kOwn;
    // Where validator runs keep their media (serve's flags, same names and env), and the
    // Google flags of a gs:// archive or gs:// validator storage.
    for (const config::OptionSpec& spec : config::ValidatorOptionSpecs()) {
      if (spec.flag == "media-root" || spec.flag == "validator-storage") all.push_back(spec);
    }
    const std::vector<config::OptionSpec>& google = config::GoogleStorageOptionSpecs();
    all.insert(all.end(), google.begin(), google.end());
    return all;
  }();
  const char* usage =
      "rtgw store prune --database-url URL --older-than 30d --archive URI [--dry-run]";
  const char* description =
      "Deletes terminal jobs (completed, failed, cancelled) whose last change is older than\n"
      "--older-than and whose projection was delivered, with their events, outbox rows, lease\n"
      "and cancel request, in batches: each batch is first written to the archive (JSON Lines,\n"
      "one job with its events per line) and deleted only once that write is durable. A pruned\n"
      "job's GET answers 404 and its idempotency key makes a new job. Then the same for\n"
      "validator runs finished before the cutoff: archived, their media files deleted from\n"
      "MEDIA_ROOT / --validator-storage, then their rows. Prints the counts.";
  if (config::PrintHelpIfAsked(args, usage, description, kSpecs)) return 0;
  auto v = config::ParseOptionsOrReport("rtgw store prune", args, kSpecs);
  if (!v) return 2;
  const auto older = config::ParseDurationSeconds(v->GetOr("older-than", ""));
  if (!older || *older <= 0) {
    std::fprintf(stderr,
                 "rtgw store prune: --older-than must be a duration like 30d, 12h, 90s\n"
                 "usage: %s\n",
                 usage);
    return 2;
  }
  storage::PruneRun run;
  run.dry_run = v->Switch("dry-run");
  run.filter.keep_undelivered = !v->Switch("include-undelivered");
  run.filter.cutoff =
      FormatRfc3339(std::chrono::system_clock::now() - std::chrono::seconds(*older));
  Result<long long> batch = config::ParseIntOption(*v, "batch-size", 1, 10'000);
  Result<long long> pause = config::ParseIntOption(*v, "pause-ms", 0, 60'000);
  Result<long long> busy = config::ParseIntOption(*v, "busy-percent", 1, 100);
  if (!batch || !pause || !busy) {
    const Result<long long>& bad = !batch ? batch : (!pause ? pause : busy);
    std::fprintf(stderr, "rtgw store prune: %s\n", bad.error().message.c_str());
    return 2;
  }
  run.batch_jobs = static_cast<int>(*batch);
  run.pause = std::chrono::milliseconds(*pause);
  run.busy_percent = static_cast<int>(*busy);

  std::unique_ptr<Archive> archiver;
  const std::string archive = v->GetOr("archive", "");
  if (!run.dry_run) {
    if (archive.empty()) {
      std::fprintf(stderr,
                   "rtgw store prune: --archive is required (file:///dir, gs://bucket/prefix, or "
                   "none to delete without an archive)\nusage: %s\n",
                   usage);
      return 2;
    }
    if (archive != "none") {
      ArchiveOptions ao;
      ao.uri = archive;
      ao.gcs_endpoint = v->GetOr("gcs-endpoint", ao.gcs_endpoint);
      ao.metadata_url = v->GetOr("gcp-metadata-url", ao.metadata_url);
      ao.gcp_access_token = v->GetOr("gcp-access-token", "");
      auto opened = OpenJobArchive(ao);
      if (!opened) {
        std::fprintf(stderr, "rtgw store prune: %s\n", opened.error().message.c_str());
        return 2;
      }
      archiver = std::move(opened).value();
    }
  }
  config::ValidatorConfig media;
  media.media_root = v->GetOr("media-root", media.media_root);
  media.storage = v->GetOr("validator-storage", media.storage);
  media.gcs_endpoint = v->GetOr("gcs-endpoint", media.gcs_endpoint);
  media.metadata_url = v->GetOr("gcp-metadata-url", media.metadata_url);
  media.gcp_access_token = v->GetOr("gcp-access-token", "");
  if (media.storage != "file://" && media.storage.rfind("gs://", 0) != 0) {
    std::fprintf(stderr, "rtgw store prune: %s: expected file:// or gs://<bucket>[/<prefix>]\n",
                 v->Source("validator-storage").c_str());
    return 2;
  }
  storage::ValidatorRunArchiver* run_archiver = archiver.get();
  std::unique_ptr<storage::RunMediaDeleter> run_media = MakeRunMediaDeleter(media);

  storage::StoreOptions so;
  so.url = v->GetOr("database-url", "");
  so.migrate = storage::MigrateMode::kNever;
  so.reader_threads = 1;
  so.job_cache_entries = 0;
  so.pool_size = 2;
  Result<storage::OpenedStore> store = storage::OpenStore(so, nullptr);
  if (!store) {
    std::fprintf(stderr, "rtgw store prune: %s\n", store.error().message.c_str());
    return store.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  const auto started = std::chrono::steady_clock::now();
  Result<storage::PruneReport> r = storage::PruneJobs(store->db->retention(), archiver.get(), run);
  Result<storage::RunPruneReport> runs = storage::RunPruneReport{};
  if (r) {
    runs = storage::PruneValidatorRuns(store->db->validator_run_retention(), run_archiver,
                                       *run_media, run);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  store->db->Close();
  if (!r || !runs) {
    std::fprintf(stderr, "rtgw store prune: %s\n", (!r ? r.error() : runs.error()).message.c_str());
    return 1;
  }
  if (r->dry_run) {
    std::printf(
        "dry run: cutoff %s: %lld jobs with %lld events would be pruned; %lld kept with an "
        "undelivered projection\n",
        run.filter.cutoff.c_str(), static_cast<long long>(r->counts.jobs),
        static_cast<long long>(r->counts.events),
        static_cast<long long>(r->counts.kept_undelivered));
  } else {
    std::printf(
        "pruned: cutoff %s: %lld jobs, %lld events, %lld outbox rows deleted in %lld batches; "
        "%lld jobs archived to %s; %.1f s\n",
        run.filter.cutoff.c_str(), static_cast<long long>(r->deleted.jobs),
        static_cast<long long>(r->deleted.events), static_cast<long long>(r->deleted.outbox_rows),
        static_cast<long long>(r->walk.batches), static_cast<long long>(r->archived),
        archive.c_str(), seconds);
  }
  if (runs->dry_run) {
    std::printf("dry run: cutoff %s: %lld validator runs with %lld executions would be pruned\n",
                run.filter.cutoff.c_str(), static_cast<long long>(runs->counts.runs),
                static_cast<long long>(runs->counts.executions));
    return 0;
  }
  std::printf(
      "pruned validator runs: cutoff %s: %lld runs, %lld executions deleted with their media in "
      "%lld batches; %lld runs archived; %lld kept (media delete failed)\n",
      run.filter.cutoff.c_str(), static_cast<long long>(runs->deleted.runs),
      static_cast<long long>(runs->deleted.executions), static_cast<long long>(runs->walk.batches),
      static_cast<long long>(runs->archived), static_cast<long long>(runs->media_failed));
  if (runs->media_failed > 0) {
    std::fprintf(stderr,
                 "rtgw store prune: %lld validator runs kept: their media could not be deleted "
                 "(see the log); the next prune tries again\n",
                 static_cast<long long>(runs->media_failed));
    return 1;
  }
  return 0;
}

}  // namespace

int RunStore(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "prune") {
    return RunStorePrune(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  static const std::vector<config::OptionSpec> kSpecs = {
      {"from", "", "", "Source store URL (sqlite://PATH or postgresql://...). Only read."},
      {"to", "", "", "Target store URL. Migrated to this build's schema, then filled."},
      {"replace", "", "",
       "Delete the target's rows first (without it a non-empty target is refused).", true},
  };
  const char* usage =
      "rtgw store copy --from URL --to URL [--replace]\n"
      "       rtgw store prune --database-url URL --older-than 30d --archive URI [--dry-run]";
  const char* description =
      "Copies every job, submission (idempotency record and its stored 202 body), event and\n"
      "outbox row from one store to another in one target transaction, then re-reads both\n"
      "sides and compares row counts and a SHA-256 per table. Exit 0 only when every table\n"
      "matches. Stop rtgw serve on the source first (SQLite: its file lock is taken).\n"
      "The promotion path: rtgw store copy --from sqlite://rtgw.db --to postgresql://...";
  if (args.empty() || args[0] != "copy") {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::fputs(config::FormatHelp(usage, description, kSpecs).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (config::PrintHelpIfAsked(rest, usage, description, kSpecs)) return 0;
  auto v = config::ParseOptionsOrReport("rtgw store copy", rest, kSpecs);
  if (!v) return 2;
  storage::CopyOptions o;
  o.from_url = v->GetOr("from", "");
  o.to_url = v->GetOr("to", "");
  o.replace = v->Switch("replace");
  if (o.from_url.empty() || o.to_url.empty()) {
    std::fprintf(stderr, "rtgw store copy: --from and --to are required\nusage: %s\n", usage);
    return 2;
  }
  Result<storage::CopyReport> r = storage::CopyStore(o);
  if (!r) {
    std::fprintf(stderr, "rtgw store copy: %s\n", r.error().message.c_str());
    return r.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  std::fputs(storage::FormatCopyReport(*r).c_str(), stdout);
  return r->ok() ? 0 : 1;
}

}  // namespace rtgw::app
