// libFuzzer target: the TOML promotion gate spec (gates/gate_spec.hpp, toml++
// underneath). Corpus: corpus/gate_spec/ (the shipped gates/*.toml among them).
// Properties: 1..99 gates with unique valid ids, each with steps, min_successes
// <= repeat, timeouts in range, evidence inside the run directory, every
// expect_output pattern compiles; workdir is absolute.
#include "gates/gate_spec.hpp"

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_check.hpp"
#include "gates/output_pattern.hpp"

namespace {

using rtgw::fuzz::Require;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64 || id[0] == '-') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

void CheckGate(const rtgw::gates::Gate& gate) {
  Require(ValidId(gate.id), "a gate id matches [a-z0-9][a-z0-9-]*");
  Require(
      gate.repeat >= 1 && gate.RequiredSuccesses() >= 1 && gate.RequiredSuccesses() <= gate.repeat,
      "a gate needs 1..repeat successes");
  Require(gate.timeout_seconds >= 1 && gate.timeout_seconds <= 86400, "a gate timeout is 1..86400");
  Require(!gate.steps.empty(), "a gate has steps");
  for (const auto& path : gate.evidence) {
    Require(!path.empty() && path[0] != '/' && path.find("..") == std::string::npos,
            "evidence is a path inside the run directory");
  }
  std::set<std::string> names;
  for (const auto& step : gate.steps) {
    Require(ValidId(step.name) && names.insert(step.name).second,
            "step names are valid and unique within the gate");
    Require(!step.command.empty(), "a step has a command");
    Require(!step.expect_exit.empty(), "a step expects at least one exit code");
    for (const auto& pattern : step.expect_output) {
      Require(!rtgw::gates::OutputPatternError(pattern), "an accepted expect_output compiles");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(rtgw::fuzz::AsText(data, size));
  auto spec = rtgw::gates::ParseGateSpec(text, "/nonexistent/rtgw-fuzz");
  if (!spec.ok()) return 0;
  Require(!spec->workdir.empty() && spec->workdir[0] == '/', "workdir is absolute");
  Require(!spec->gates.empty() && spec->gates.size() <= 99, "a spec has 1..99 gates");
  std::set<std::string> ids;
  for (const auto& gate : spec->gates) {
    Require(ids.insert(gate.id).second, "gate ids are unique");
    CheckGate(gate);
  }
  return 0;
}
