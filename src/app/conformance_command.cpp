// rtgw conformance: seed 000's runtime gates 1-6 against a deployment.
#include <cstdio>
#include <fstream>

#include "app/commands.hpp"
#include "config/options.hpp"
#include "conformance/conformance.hpp"
#include "net/curl_http_client.hpp"

namespace rtgw::app {

int RunConformance(const std::vector<std::string>& args) {
  static const std::vector<config::OptionSpec> kSpecs = {
      {"base-url", "RTGW_CONFORMANCE_BASE_URL", "",
       "Root URL of the deployment, e.g. http://127.0.0.1:8080 (required)."},
      {"token", "RTGW_CONFORMANCE_TOKEN", "",
       "Bearer token of the tenant under test (required). Its tenant_id claim is the tenant.",
       false, true},
      {"other-tenant-token", "RTGW_CONFORMANCE_OTHER_TENANT_TOKEN", "",
       "Bearer token of a second tenant, for gate 5 (required).", false, true},
      {"tenant", "", "", "Tenant under test; default: the --token's tenant_id claim."},
      {"other-tenant", "", "", "Second tenant; default: the other token's tenant_id claim."},
      {"proxy-key", "RTGW_PROXY_AUTH_KEY", "",
       "Proxy-auth key, when the deployment requires proxy auth.", false, true},
      {"proxy-secret", "RTGW_PROXY_AUTH_SECRET", "", "Proxy-auth secret (see --proxy-key).", false,
       true},
      {"proxy-key-header", "RTGW_PROXY_AUTH_KEY_HEADER", "Modal-Key",
       "Header carrying the proxy-auth key."},
      {"proxy-secret-header", "RTGW_PROXY_AUTH_SECRET_HEADER", "Modal-Secret",
       "Header carrying the proxy-auth secret."},
      {"job-id", "", "",
       "job_id to submit (must be new in the tenant); default job-gate-<random hex>."},
      {"management-node-id", "", "mgmt-node-1", "management_node_id of the submitted job."},
      {"sink-log", "", "",
       "JSON Lines file of the ProjectionUpdate bodies the product sink received, in arrival "
       "order; gate 6 then checks the sink got the same sequence the gateway served."},
      {"convex-url", "RTGW_CONFORMANCE_CONVEX_URL", "",
       "The product's Convex deployment (https://<name>.convex.cloud); gate 6 then reads the "
       "job's applied history through Convex's HTTP query API (POST /api/query) and checks the "
       "read model applied every version the gateway served, once, in order "
       "(clients/convex)."},
      {"convex-query", "", "rtgw:history",
       "The read model's history query (module:function), called with {tenant_id, job_id}."},
      {"convex-token", "RTGW_CONFORMANCE_CONVEX_TOKEN", "",
       "Sent as 'Authorization: Bearer <token>' with the history query, when the product's "
       "query requires an identity (a token its Convex auth accepts).",
       false, true},
      {"sink-wait-ms", "", "10000",
       "How long gate 6 waits for the relay to deliver the last update, to the sink log or the "
       "read model (0-600000)."},
      {"timeout-ms", "", "10000", "Timeout of each HTTP request (100-600000)."},
      {"json", "", "",
       "Also write the report as JSON to this file "
       "(docs/contracts/conformance-report.md)."},
      {"quiet", "", "", "Print only the verdict line, not the table.", true},
  };
  const char* usage =
      "rtgw conformance --base-url URL --token T --other-tenant-token T2 "
      "[--proxy-key K --proxy-secret S] [--sink-log FILE] [--convex-url URL [--convex-query "
      "M:F]] [--json REPORT]";
  if (config::PrintHelpIfAsked(
          args, usage,
          "Runs gates 1-6 of the runtime gate runbook (seed 000) against a deployment and "
          "prints a pass/fail table; every failure carries the runbook's diagnosis (what a "
          "401/403/404/409 means there).\n"
          "  1 reachability and deep health, proxy auth\n"
          "  2 submit contract: 202 fields, replay, 409 idempotency_conflict on drift\n"
          "  3 event ingestion: running, replay (idempotent), 409 event_conflict, completed\n"
          "  4 reads: terminal state, ordered detail, projection 'finished'\n"
          "  5 tenant isolation with the second tenant's token: 404/403, never data\n"
          "  6 projection alignment: versions monotonic and matching the events; with "
          "--sink-log, the product sink received the same; with --convex-url, the product "
          "read model applied the same\n"
          "Writes one new job per run. Exit 0 when every check passes, 1 when any fails, 2 "
          "on bad options.",
          kSpecs)) {
    return 0;
  }
  auto v = config::ParseOptionsOrReport("rtgw conformance", args, kSpecs);
  if (!v) return 2;
  conformance::ConformanceOptions o;
  o.base_url = v->GetOr("base-url", "");
  o.token = v->GetOr("token", "");
  o.other_token = v->GetOr("other-tenant-token", "");
  for (const auto& [flag, value] :
       {std::pair<const char*, const std::string*>{"base-url", &o.base_url},
        {"token", &o.token},
        {"other-tenant-token", &o.other_token}}) {
    if (value->empty()) {
      std::fprintf(stderr, "rtgw conformance: --%s is required (see --help)\n", flag);
      return 2;
    }
  }
  if (o.base_url.rfind("http://", 0) != 0 && o.base_url.rfind("https://", 0) != 0) {
    std::fprintf(stderr, "rtgw conformance: --base-url must start with http:// or https://\n");
    return 2;
  }
  o.tenant_id = v->GetOr("tenant", "");
  o.other_tenant_id = v->GetOr("other-tenant", "");
  if (o.tenant_id.empty() && !conformance::TenantFromToken(o.token)) {
    std::fprintf(stderr,
                 "rtgw conformance: --token has no tenant_id claim; pass --tenant explicitly\n");
    return 2;
  }
  o.proxy_key = v->GetOr("proxy-key", "");
  o.proxy_secret = v->GetOr("proxy-secret", "");
  if (o.proxy_key.empty() != o.proxy_secret.empty()) {
    std::fprintf(stderr, "rtgw conformance: --proxy-key and --proxy-secret go together\n");
    return 2;
  }
  o.proxy_key_header = v->GetOr("proxy-key-header", "Modal-Key");
  o.proxy_secret_header = v->GetOr("proxy-secret-header", "Modal-Secret");
  o.job_id = v->GetOr("job-id", "");
  o.management_node_id = v->GetOr("management-node-id", "mgmt-node-1");
  o.sink_log = v->GetOr("sink-log", "");
  o.convex_url = v->GetOr("convex-url", "");
  o.convex_query = v->GetOr("convex-query", "rtgw:history");
  o.convex_token = v->GetOr("convex-token", "");
  if (!o.convex_url.empty() && o.convex_url.rfind("http://", 0) != 0 &&
      o.convex_url.rfind("https://", 0) != 0) {
    std::fprintf(stderr, "rtgw conformance: --convex-url must start with http:// or https://\n");
    return 2;
  }
  if (o.convex_query.find(':') == std::string::npos) {
    std::fprintf(stderr,
                 "rtgw conformance: --convex-query must be module:function, e.g. "
                 "rtgw:history\n");
    return 2;
  }
  if (Status st = config::ParseIntOptions(
          *v, {{"sink-wait-ms", 0, 600000, &o.sink_wait}, {"timeout-ms", 100, 600000, &o.timeout}});
      !st.ok()) {
    std::fprintf(stderr, "rtgw conformance: %s\n", st.error().message.c_str());
    return 2;
  }

  net::CurlHttpClient client;
  const auto report = conformance::RunConformance(o, client);
  const std::string table = conformance::FormatTable(report);
  if (v->Switch("quiet")) {
    const auto last = table.find_last_of('\n', table.size() - 2);
    std::fputs(table.c_str() + (last == std::string::npos ? 0 : last + 1), stdout);
  } else {
    std::fputs(table.c_str(), stdout);
  }
  if (const auto path = v->GetOr("json", ""); !path.empty()) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << conformance::ReportJson(report);
    if (!out) {
      std::fprintf(stderr, "rtgw conformance: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return report.passed() ? 0 : 1;
}

}  // namespace rtgw::app
