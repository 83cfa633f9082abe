#include "conformance/report.hpp"

#include <cstdio>

#include <boost/json.hpp>

namespace rtgw::conformance {

bool GateResult::passed() const {
  if (checks.empty()) return false;
  for (const auto& c : checks) {
    if (!c.passed) return false;
  }
  return true;
}

bool ConformanceReport::passed() const {
  if (gates.empty()) return false;
  for (const auto& g : gates) {
    if (!g.passed()) return false;
  }
  return true;
}

std::string Diagnose(std::string_view surface, long http_status, std::string_view error_code) {
  if (http_status == 0) {
    return "gateway unreachable: check --base-url (scheme, host, port) and that the deployment is "
           "running";
  }
  if (error_code == "proxy_unauthorized") {
    return "401 proxy auth: the deployment requires proxy-auth headers and they are missing or "
           "wrong (--proxy-key/--proxy-secret, header names --proxy-key-header/"
           "--proxy-secret-header)";
  }
  if (http_status == 401) {
    return "401/403: JWT claims mismatch (tenant_id, sub), a token not signed with the "
           "deployment's secret/key, or an expired token; or missing proxy auth";
  }
  if (http_status == 403) {
    return "401/403: JWT claims mismatch: the x-tenant-id header or body tenant_id differs from "
           "the token's tenant_id claim";
  }
  if (http_status == 404) {
    if (surface == "read" || surface == "events" || surface == "projection") {
      return "404 after submit: wrong tenant scope during read (the token's tenant_id is not the "
             "tenant the job was submitted in)";
    }
    return "404: route not found: --base-url must be the gateway root (no /api suffix)";
  }
  if (http_status == 409) {
    if (surface == "events") {
      return error_code == "submission_mismatch"
                 ? "409 on events: the event's submission_id is not the job's submission"
                 : "409 on events: idempotency conflict, duplicated event_id with payload drift";
    }
    if (error_code == "job_id_conflict") {
      return "409 on submit: job_id already used in this tenant by another submission; pass a "
             "new --job-id";
    }
    return "409 on submit: idempotency_key reused with a different payload (a previous run with "
           "the same --job-id and other input?)";
  }
  if (http_status == 503) {
    return "503: store unavailable or server draining; check GET /api/health and retry";
  }
  if (http_status >= 500) {
    return "server error: look up the response's x-trace-id in the gateway's logs";
  }
  if (surface == "projection") {
    return "projection mismatch: inspect runtime event ordering and the projection relay logs";
  }
  if (surface == "isolation") {
    return "tenant isolation broken: another tenant's credentials reached this tenant's data";
  }
  return "unexpected answer: compare with docs/contracts/http-api.md";
}

std::string FormatTable(const ConformanceReport& report) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "rtgw conformance  %s  tenant=%s  other=%s  job=%s\n\n",
                report.base_url.c_str(), report.tenant_id.c_str(), report.other_tenant_id.c_str(),
                report.job_id.c_str());
  out += line;
  std::snprintf(line, sizeof line, "%-4s  %-66s  %-6s  %s\n", "gate", "check", "result", "http");
  out += line;
  int failed = 0;
  int total = 0;
  for (const auto& g : report.gates) {
    std::snprintf(line, sizeof line, "%d     %s: %s\n", g.gate, g.title.c_str(),
                  g.passed() ? "PASS" : "FAIL");
    out += line;
    for (const auto& c : g.checks) {
      ++total;
      const char* verdict = c.skipped ? "SKIP" : c.passed ? "PASS" : "FAIL";
      std::string http = c.http_status ? std::to_string(c.http_status) : "-";
      if (!c.error_code.empty()) http += " " + c.error_code;
      std::snprintf(line, sizeof line, "%-4s  %-66.66s  %-6s  %s\n", "", c.name.c_str(), verdict,
                    http.c_str());
      out += line;
      if (c.skipped) out += "            " + c.detail + "\n";
      if (!c.passed) {
        ++failed;
        out += "            observed:  " + c.detail + "\n";
        out += "            diagnosis: " + c.diagnostic + "\n";
      }
    }
  }
  out += "\n";
  if (report.passed()) {
    out += "CONFORMANCE PASS: " + std::to_string(total) + " checks in " +
           std::to_string(report.gates.size()) + " gates\n";
  } else {
    out += "CONFORMANCE FAIL: " + std::to_string(failed) + " of " + std::to_string(total) +
           " checks failed\n";
  }
  return out;
}

std::string ReportJson(const ConformanceReport& report) {
  namespace json = boost::json;
  std::string out = "{\n";
  auto field = [&](const char* k, const json::value& v, bool comma = true) {
    out += "  \"";
    out += k;
    out += "\": " + json::serialize(v) + (comma ? ",\n" : "\n");
  };
  field("format", "rtgw-conformance-report/v1");
  field("passed", report.passed());
  field("base_url", json::string(report.base_url));
  field("tenant_id", json::string(report.tenant_id));
  field("other_tenant_id", json::string(report.other_tenant_id));
  field("job_id", json::string(report.job_id));
  field("sink_log", report.sink_log.empty() ? json::value(nullptr)
                                            : json::value(json::string(report.sink_log)));
  field("convex_url", report.convex_url.empty() ? json::value(nullptr)
                                                : json::value(json::string(report.convex_url)));
  field("started_at", json::string(report.started_at));
  field("finished_at", json::string(report.finished_at));
  out += "  \"gates\": [\n";
  for (size_t gi = 0; gi < report.gates.size(); ++gi) {
    const auto& g = report.gates[gi];
    out += "    {\"gate\": " + std::to_string(g.gate) +
           ", \"title\": " + json::serialize(json::string(g.title)) +
           ", \"passed\": " + (g.passed() ? "true" : "false") + ", \"checks\": [\n";
    for (size_t ci = 0; ci < g.checks.size(); ++ci) {
      const auto& c = g.checks[ci];
      json::object o;
      o["name"] = c.name;
      o["passed"] = c.passed;
      o["skipped"] = c.skipped;
      o["http_status"] = c.http_status ? json::value(c.http_status) : json::value(nullptr);
      o["error_code"] = c.error_code.empty() ? json::value(nullptr) : json::value(c.error_code);
      o["detail"] = c.detail;
      o["diagnostic"] = c.passed ? json::value(nullptr) : json::value(c.diagnostic);
      o["elapsed_ms"] = c.elapsed_ms;
      out += "      " + json::serialize(o) + (ci + 1 < g.checks.size() ? ",\n" : "\n");
    }
    out += std::string("    ]}") + (gi + 1 < report.gates.size() ? ",\n" : "\n");
  }
  out += "  ]\n}\n";
  return out;
}

}  // namespace rtgw::conformance
