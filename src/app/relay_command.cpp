// `rtgw relay`: run the projection relay on its own, and operate its dead letters.
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>

#include "api/outbox_views.hpp"
#include "app/commands.hpp"
#include "app/relay_wiring.hpp"
#include "common/await.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "config/options.hpp"
#include "config/relay_config.hpp"
#include "config/serve_config.hpp"
#include "storage/open_store.hpp"

namespace rtgw::app {
namespace {

constexpr const char* kUsage =
    "rtgw relay run [options]                 deliver the outbox to RTGW_PROJECTION_URL\n"
    "       rtgw relay dead-letters [--tenant T] [--limit N]   list dead letters (JSON)\n"
    "       rtgw relay replay --id N [--tenant T]              make one deliverable again";

constexpr const char* kDescription =
    "The projection relay sends every job state change (ProjectionUpdate) from the transactional\n"
    "outbox to the product sink, in projection_version order per job, signed per Standard\n"
    "Webhooks (docs/contracts/projection-update.md). `rtgw serve` runs it in-process when\n"
    "RTGW_PROJECTION_URL is set; `rtgw relay run` runs it alone (with PostgreSQL, next to serve\n"
    "replicas that set RTGW_RELAY=off and RTGW_OUTBOX=on). An SQLite file is owned by one\n"
    "process: while `rtgw serve` runs on it, use GET /api/runtime/projection/dead-letters and\n"
    "POST /api/runtime/projection/dead-letters:replay instead of these commands.";

const std::vector<config::OptionSpec>& Specs() {
  static const std::vector<config::OptionSpec> kSpecs = [] {
    std::vector<config::OptionSpec> specs = {
        {"database-url", "RTGW_DATABASE_URL", "sqlite://rtgw.db", "Store holding the outbox."},
        {"tenant", "", "", "dead-letters/replay: only this tenant (default: all tenants)."},
        {"limit", "", "100", "dead-letters: at most this many (1-1000)."},
        {"id", "", "", "replay: the dead letter's id (from dead-letters)."},
        {"log-format", "RTGW_LOG_FORMAT", "json", "Log format on stderr: json or text."},
    };
    const auto& relay = config::RelayOptionSpecs();
    specs.insert(specs.end(), relay.begin(), relay.end());
    return specs;
  }();
  return kSpecs;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "rtgw relay: %s\n", message.c_str());
  return 2;
}

// The store of `url` (either backend) for outbox work only: this process
// writes no jobs, and never migrates (that is `rtgw migrate`'s job).
Result<storage::OpenedStore> OpenOutbox(const std::string& url, MetricsRegistry* metrics) {
  storage::StoreOptions o;
  o.url = url;
  o.migrate = storage::MigrateMode::kNever;
  o.reader_threads = 1;
  o.pool_size = 2;
  Result<storage::OpenedStore> store = storage::OpenStore(o, metrics);
  if (!store) return store;
  if (store->outbox == nullptr)
    return Unavailable("the " + store->backend + " store has no outbox");
  return store;
}

int RunRelay(const config::OptionValues& v) {
  auto cfg = config::BuildRelayConfig(v);
  if (!cfg) return Fail(cfg.error().message);
  if (cfg->projection_url.empty()) {
    return Fail("RTGW_PROJECTION_URL (--projection-url) is required for `rtgw relay run`");
  }
  // Signals are taken synchronously by this thread (blocked before any other
  // thread starts, so every thread inherits the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  MetricsRegistry metrics;
  const std::string url = v.GetOr("database-url", "sqlite://rtgw.db");
  auto store = OpenOutbox(url, &metrics);
  if (!store)
    return Fail("store " + storage::RedactDatabaseUrl(url) + ": " + store.error().message);
  auto relay = relay::ProjectionRelay::Create(ToRelayOptions(*cfg), *store->outbox, &metrics);
  if (!relay) return Fail(relay.error().message);
  if (auto s = (*relay)->Start(); !s) return Fail(s.error().message);
  int signal = 0;
  sigwait(&signals, &signal);
  LogInfo("rtgw relay stopping", {{"signal", signal}});
  (*relay)->Stop();
  store->jobs->Close();
  return 0;
}

std::optional<std::string> TenantFilter(const config::OptionValues& v) {
  const std::string tenant = v.GetOr("tenant", "");
  if (tenant.empty()) return std::nullopt;
  return tenant;
}

int ListDeadLetters(const config::OptionValues& v) {
  Result<int> limit = api::ParseDeadLetterLimit("limit=" + v.GetOr("limit", "100"));
  if (!limit) return Fail("--" + limit.error().message);
  auto store = OpenOutbox(v.GetOr("database-url", "sqlite://rtgw.db"), nullptr);
  if (!store) return Fail(store.error().message);
  auto items = Await<std::vector<storage::OutboxItem>>(
      [&](auto cb) { store->outbox->ListDeadLetters(TenantFilter(v), *limit, std::move(cb)); });
  store->jobs->Close();
  if (!items) return Fail(items.error().message);
  std::printf("%s\n", api::DeadLettersJson(*items).c_str());
  return 0;
}

int Replay(const config::OptionValues& v) {
  Result<std::int64_t> id = api::ParseReplayRequest("{\"id\":" + v.GetOr("id", "null") + "}");
  if (!id) return Fail("--id: expected the dead letter's id (a positive integer)");
  auto store = OpenOutbox(v.GetOr("database-url", "sqlite://rtgw.db"), nullptr);
  if (!store) return Fail(store.error().message);
  auto done = Await<bool>(
      [&](auto cb) { store->outbox->ReplayDeadLetter(TenantFilter(v), *id, std::move(cb)); });
  store->jobs->Close();
  if (!done) return Fail(done.error().message);
  if (!*done) {
    std::fprintf(stderr, "rtgw relay replay: no dead letter with id %lld\n",
                 static_cast<long long>(*id));
    return 1;
  }
  std::printf("{\"ok\":true,\"id\":%lld}\n", static_cast<long long>(*id));
  return 0;
}

}  // namespace

int RunRelayCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(config::FormatHelp(kUsage, kDescription, Specs()).c_str(), stderr);
    return 2;
  }
  if (config::PrintHelpIfAsked(args, kUsage, kDescription, Specs())) return 0;
  const std::string sub = args[0];
  auto v = config::ParseOptionsOrReport("rtgw relay", {args.begin() + 1, args.end()}, Specs());
  if (!v) return 2;
  Logger::Configure(v->GetOr("log-format", "json") == "text" ? LogFormat::kText : LogFormat::kJson,
                    LogLevel::kInfo);
  if (sub == "run") return RunRelay(*v);
  if (sub == "dead-letters") return ListDeadLetters(*v);
  if (sub == "replay") return Replay(*v);
  return Fail("unknown subcommand '" + sub + "' (run, dead-letters, replay)");
}

}  // namespace rtgw::app
