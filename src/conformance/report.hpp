#ifndef RTGW_CONFORMANCE_REPORT_HPP_
#define RTGW_CONFORMANCE_REPORT_HPP_

#include <string>
#include <string_view>
#include <vector>

namespace rtgw::conformance {

// Results of `rtgw conformance` (gates 1-6 of seed 000) and their two
// renderings: the operator's pass/fail table and the JSON report
// (docs/contracts/conformance-report.md). Plain values; no I/O.

// One check inside a gate. A skipped check (e.g. the sink log when no
// --sink-log was given) counts as passed and says why it was skipped.
struct CheckResult {
  int gate = 0;
  std::string name;  // what was checked, e.g. "POST jobs:submit -> 202"
  bool passed = false;
  bool skipped = false;
  long http_status = 0;    // 0: no HTTP exchange (or transport failure)
  std::string error_code;  // error.code of a JSON error body, if any
  std::string detail;      // what was observed, on failure
  std::string diagnostic;  // the seed's meaning of the failure, on failure
  long elapsed_ms = 0;
};

struct GateResult {
  int gate = 0;
  std::string title;
  std::vector<CheckResult> checks;
  bool passed() const;
};

struct ConformanceReport {
  std::string base_url;
  std::string tenant_id;
  std::string other_tenant_id;
  std::string job_id;
  std::string sink_log;    // empty: not given
  std::string convex_url;  // empty: not given
  std::string started_at;
  std::string finished_at;
  std::vector<GateResult> gates;
  bool passed() const;  // every gate passed (and there is at least one)
};

// The seed's failure diagnostics (seed 000 "Failure diagnostics") for an HTTP
// answer. `surface` is "health", "proxy", "submit", "events", "read",
// "isolation" or "projection"; `http_status` 0 means a transport failure.
std::string Diagnose(std::string_view surface, long http_status, std::string_view error_code);

// Fixed-width table: gate, check, PASS/FAIL/SKIP, then each failure's detail
// and diagnostic underneath, and a closing verdict line.
std::string FormatTable(const ConformanceReport& report);

// The JSON report (docs/contracts/conformance-report.md), pretty enough to
// diff: one check per line.
std::string ReportJson(const ConformanceReport& report);

}  // namespace rtgw::conformance

#endif  // RTGW_CONFORMANCE_REPORT_HPP_
