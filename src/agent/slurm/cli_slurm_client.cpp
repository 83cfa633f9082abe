#include "agent/slurm/cli_slurm_client.hpp"

#include <array>

#include "process/process.hpp"

namespace rtgw::agent::slurm {
namespace {

std::string FirstLines(const std::string& s, std::size_t max = 500) {
  std::string out = s.substr(0, max);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

SubmitResult::Kind ClassifySbatchFailure(int exit_code, bool timed_out, const std::string& err) {
  if (timed_out || exit_code < 0) return SubmitResult::Kind::kUnknown;
  // Messages after which the job may or may not exist in slurmctld.
  static constexpr std::array<const char*, 6> kTransient = {
      "Unable to contact slurm controller", "Socket timed out",
      "Zero Bytes were transmitted",        "Resource temporarily unavailable",
      "temporarily unable to accept",       "Connection refused"};
  for (const char* t : kTransient) {
    if (err.find(t) != std::string::npos) return SubmitResult::Kind::kUnknown;
  }
  if (err.find("Batch job submission failed") != std::string::npos ||
      err.find("invalid partition") != std::string::npos ||
      err.find("sbatch: error:") != std::string::npos) {
    return SubmitResult::Kind::kRejected;
  }
  return SubmitResult::Kind::kUnknown;
}

Result<SlurmCommandResult> CliSlurmClient::Run(std::vector<std::string> argv,
                                               const std::string& stdin_data) {
  if (!options_.bin_dir.empty()) argv[0] = options_.bin_dir + "/" + argv[0];
  ++calls_;
  if (options_.run) return options_.run(argv, stdin_data, options_.timeout);
  // Killed with us: an `sbatch` finishing after a crash would submit behind the back of the
  // restarted agent's tag lookup.
  auto r = process::Run(
      {.argv = std::move(argv), .stdin_stream = process::Stream::Pipe(), .die_with_parent = true},
      {.timeout = options_.timeout, .stdin_data = stdin_data});
  if (!r.ok()) return r.error();
  return SlurmCommandResult{r->status.exit_code, r->timed_out, std::move(r->out),
                            std::move(r->err)};
}

SubmitResult CliSlurmClient::Submit(const std::string& script) {
  auto r = Run({"sbatch", "--parsable"}, script);
  SubmitResult out;
  if (!r.ok()) {
    out.kind = SubmitResult::Kind::kUnknown;  // sbatch did not start: nothing was submitted,
    out.message = r.error().message;          // but the tag lookup costs little and is safe
    return out;
  }
  if (r->exit_code == 0 && !r->timed_out) {
    auto id = ParseSbatchParsable(r->out);
    if (id.ok()) {
      out.kind = SubmitResult::Kind::kSubmitted;
      out.job_id = *id;
      return out;
    }
    out.kind = SubmitResult::Kind::kUnknown;
    out.message = id.error().message;
    return out;
  }
  out.kind = ClassifySbatchFailure(r->exit_code, r->timed_out, r->err);
  out.message = r->timed_out ? "sbatch timed out" : FirstLines(r->err);
  return out;
}

Result<std::vector<SlurmJob>> CliSlurmClient::ListJobs() {
  auto r = Run({"scontrol", "show", "job", "-o"}, "");
  if (!r.ok()) return r.error();
  if (r->timed_out) return Unavailable("scontrol show job timed out");
  if (r->exit_code != 0) {
    return Unavailable("scontrol show job failed: " + FirstLines(r->err));
  }
  return ParseScontrolJobs(r->out);
}

Status CliSlurmClient::Cancel(const std::string& job_id) {
  auto r = Run({"scancel", job_id}, "");
  if (!r.ok()) return r.error();
  if (r->timed_out) return Unavailable("scancel timed out");
  // scancel of a finished job prints "Job/step already completing or completed" and
  // exits 0 or 1 depending on the version; an unknown id is "Invalid job id": both are fine.
  if (r->exit_code != 0 && r->err.find("already completing") == std::string::npos &&
      r->err.find("Invalid job id") == std::string::npos) {
    return Unavailable("scancel " + job_id + " failed: " + FirstLines(r->err));
  }
  return Ok{};
}

Result<ClusterInfo> CliSlurmClient::Describe() {
  ClusterInfo info;
  auto c = Run({"scontrol", "show", "config"}, "");
  if (!c.ok()) return c.error();
  if (c->timed_out || c->exit_code != 0) {
    return Unavailable("scontrol show config failed: " + FirstLines(c->err));
  }
  auto cfg = ParseScontrolConfig(c->out);
  if (!cfg.ok()) return cfg.error();
  info.config = *cfg;
  auto s = Run({"sinfo", "-h", "-o", "%P|%a|%l|%F|%C"}, "");
  if (!s.ok()) return s.error();
  if (s->timed_out || s->exit_code != 0) {
    return Unavailable("sinfo failed: " + FirstLines(s->err));
  }
  auto parts = ParseSinfoPartitions(s->out);
  if (!parts.ok()) return parts.error();
  info.partitions = std::move(*parts);
  return info;
}

}  // namespace rtgw::agent::slurm
