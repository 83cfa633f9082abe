#include "agent/slurm/fake_slurm_cluster.hpp"

#include <array>
#include <charconv>
#include <string_view>

#include "process/process.hpp"

namespace rtgw::agent::slurm {
namespace {

struct Partition {
  std::string_view name;
  bool is_default;
  std::int64_t max_minutes;
  std::string_view max_time;  // as sinfo's %l prints it
};

// scripts/services/slurm-up.sh's partitions.
constexpr std::array<Partition, 2> kPartitions = {{
    {"debug", true, 60, "1:00:00"},
    {"long", false, 1440, "1-00:00:00"},
}};

constexpr std::string_view kUnreachable = "Unable to contact slurm controller (connect failure)";

SlurmCommandResult Exited(int code, std::string out, std::string err = {}) {
  return SlurmCommandResult{code, false, std::move(out), std::move(err)};
}

SlurmCommandResult TimedOut() { return SlurmCommandResult{-1, true, {}, {}}; }

// What each command prints when slurmctld is unreachable or refuses it (Slurm 22.05 wording).
SlurmCommandResult FailureOf(FakeSlurmCluster::Command command, FakeSlurmCluster::Fault fault,
                             const std::string& job_id) {
  using Command = FakeSlurmCluster::Command;
  const bool refused = fault == FakeSlurmCluster::Fault::kRefused;
  const std::string why = refused ? "Access/permission denied" : std::string(kUnreachable);
  switch (command) {
    case Command::kSbatch:
      return Exited(1, "",
                    "sbatch: error: Batch job submission failed: " +
                        (refused ? std::string("Job violates accounting/QOS policy (job submit "
                                               "limit, user's size and/or time limits)")
                                 : why) +
                        "\n");
    case Command::kShowJob:
      return Exited(1, "", "slurm_load_jobs error: " + why + "\n");
    case Command::kScancel:
      return Exited(1, "",
                    "scancel: error: Kill job error on job id " + job_id + ": " + why + "\n");
    case Command::kShowConfig:
      return Exited(1, "", "slurm_load_ctl_conf error: " + why + "\n");
    case Command::kSinfo:
      return Exited(1, "", "slurm_load_partitions: " + why + "\n");
  }
  return Exited(1, "", why + "\n");
}

// A time limit as scontrol prints it: [D-]HH:MM:SS.
std::string FormatTimeLimit(std::int64_t minutes) {
  const std::int64_t days = minutes / 1440, hours = minutes % 1440 / 60, mins = minutes % 60;
  auto two = [](std::int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  return (days > 0 ? std::to_string(days) + "-" : "") + two(hours) + ":" + two(mins) + ":00";
}

const Partition* FindPartition(std::string_view name) {
  for (const Partition& p : kPartitions) {
    if (name.empty() ? p.is_default : p.name == name) return &p;
  }
  return nullptr;
}

// The #SBATCH directives sbatch reads: those before the first command line.
std::map<std::string, std::string> Directives(std::string_view script) {
  std::map<std::string, std::string> out;
  std::size_t start = script.find('\n');
  while (start != std::string_view::npos && start < script.size()) {
    std::size_t end = script.find('\n', start + 1);
    if (end == std::string_view::npos) end = script.size();
    const std::string_view line = script.substr(start + 1, end - start - 1);
    start = end;
    if (line.empty()) continue;
    if (line[0] != '#') break;
    constexpr std::string_view kPrefix = "#SBATCH --";
    if (line.rfind(kPrefix, 0) != 0) continue;
    const std::string_view option = line.substr(kPrefix.size());
    const std::size_t eq = option.find_first_of("= ");
    if (eq == std::string_view::npos) continue;
    out[std::string(option.substr(0, eq))] = std::string(option.substr(eq + 1));
  }
  return out;
}

}  // namespace

std::shared_ptr<CliSlurmClient> FakeSlurmCluster::Client() {
  CliSlurmOptions options;
  options.run = [this](const std::vector<std::string>& argv, const std::string& stdin_data,
                       std::chrono::milliseconds) { return Run(argv, stdin_data); };
  return std::make_shared<CliSlurmClient>(std::move(options));
}

Result<SlurmCommandResult> FakeSlurmCluster::Run(const std::vector<std::string>& argv,
                                                 const std::string& stdin_data) {
  if (argv.empty()) return InvalidArgument("fake slurm: empty argv");
  const std::string name = argv[0].substr(argv[0].rfind('/') + 1);
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  using Args = std::vector<std::string>;
  std::optional<Command> command;
  if (name == "sbatch" && args == Args{"--parsable"}) command = Command::kSbatch;
  if (name == "scontrol" && args == Args{"show", "job", "-o"}) command = Command::kShowJob;
  if (name == "scontrol" && args == Args{"show", "config"}) command = Command::kShowConfig;
  if (name == "scancel" && args.size() == 1) command = Command::kScancel;
  if (name == "sinfo" && args == Args{"-h", "-o", "%P|%a|%l|%F|%C"}) command = Command::kSinfo;
  if (!command) return Unavailable("fake slurm: no such command form: " + argv[0]);

  std::optional<Fault> fault;
  {
    std::lock_guard lock(mu_);
    ++runs_[*command];
    auto& queued = faults_[*command];
    if (!queued.empty()) {
      fault = queued.front();
      queued.erase(queued.begin());
    }
  }
  const std::string job_id = *command == Command::kScancel ? args[0] : std::string();
  if (fault == Fault::kUnreachable || fault == Fault::kRefused) {
    return FailureOf(*command, *fault, job_id);
  }
  if (fault == Fault::kTimeout) return TimedOut();
  SlurmCommandResult result;
  switch (*command) {
    case Command::kSbatch:
      result = Sbatch(stdin_data);
      break;
    case Command::kShowJob:
      result = ShowJobs();
      break;
    case Command::kScancel:
      result = Scancel(job_id);
      break;
    case Command::kShowConfig:
      result = ShowConfig();
      break;
    case Command::kSinfo:
      result = Sinfo();
      break;
  }
  if (fault == Fault::kTimeoutAfterEffect) return TimedOut();
  return result;
}

SlurmCommandResult FakeSlurmCluster::Sbatch(const std::string& script) {
  if (script.rfind("#!", 0) != 0) {
    return Exited(1, "",
                  "sbatch: error: This does not look like a batch script.  The first\n"
                  "sbatch: error: line must start with #! followed by the path to an "
                  "interpreter.\n"
                  "sbatch: error: For instance: #!/bin/sh\n");
  }
  auto directives = Directives(script);
  const Partition* partition = FindPartition(directives["partition"]);
  if (partition == nullptr) {
    return Exited(1, "",
                  "sbatch: error: invalid partition specified: " + directives["partition"] +
                      "\nsbatch: error: Batch job submission failed: Invalid partition name "
                      "specified\n");
  }
  std::int64_t minutes = partition->max_minutes;  // DefaultTime: the partition's MaxTime
  if (auto it = directives.find("time"); it != directives.end()) {
    auto parsed = ParseSlurmMinutes(it->second);
    if (!parsed.ok()) return Exited(1, "", "sbatch: error: Invalid --time specification\n");
    minutes = parsed->value_or(partition->max_minutes + 1);  // UNLIMITED exceeds any MaxTime
  }
  if (minutes > partition->max_minutes) {  // EnforcePartLimits=ALL
    return Exited(1, "",
                  "sbatch: error: Batch job submission failed: Requested time limit is invalid "
                  "(missing or exceeds some limit)\n");
  }
  std::lock_guard lock(mu_);
  FakeJob job;
  job.job.job_id = std::to_string(next_id_);
  job.job.name = directives.count("job-name") != 0 ? directives["job-name"] : "sbatch";
  job.job.comment = directives["comment"];
  job.job.state = "PENDING";
  job.job.reason = "None";
  job.job.partition = std::string(partition->name);
  job.time_limit_minutes = minutes;
  jobs_.emplace(next_id_, std::move(job));
  return Exited(0, std::to_string(next_id_++) + "\n");
}

SlurmCommandResult FakeSlurmCluster::ShowJobs() const {
  std::lock_guard lock(mu_);
  if (jobs_.empty()) return Exited(0, "No jobs in the system\n");
  std::string out;
  for (const auto& [id, fake] : jobs_) {
    const SlurmJob& j = fake.job;
    out += "JobId=" + j.job_id + " JobName=" + j.name +
           " UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 "
           "Account=(null) QOS=(null) JobState=" +
           j.state + " Reason=" + j.reason + " Dependency=(null) Requeue=1 Restarts=0 " +
           "BatchFlag=1 Reboot=0 ExitCode=" + std::to_string(j.exit_code) + ":" +
           std::to_string(j.signal) + " TimeLimit=" + FormatTimeLimit(fake.time_limit_minutes) +
           " Partition=" + j.partition + " NumNodes=1 NumCPUs=1 WorkDir=/tmp Comment=" +
           (j.comment.empty() ? "(null)" : j.comment) +
           "  StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power= \n";
  }
  return Exited(0, std::move(out));
}

SlurmCommandResult FakeSlurmCluster::Scancel(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto job = Active(job_id);
  if (!job.ok()) {
    const bool known = job.error().code == ErrorCode::kConflict;
    return Exited(
        1, "",
        "scancel: error: Kill job error on job id " + job_id + ": " +
            (known ? "Job/step already completing or completed" : "Invalid job id specified") +
            "\n");
  }
  SlurmJob& j = (*job)->job;
  if (j.state == "RUNNING" && cancel_signal_ == 0) return Exited(0, "");  // inside KillWait
  j.signal = j.state == "RUNNING" ? cancel_signal_ : 0;
  j.state = "CANCELLED";
  j.reason = "None";
  j.exit_code = 0;
  return Exited(0, "");
}

SlurmCommandResult FakeSlurmCluster::ShowConfig() const {
  return Exited(0,
                "Configuration data as of 2026-11-23T12:01:24\n"
                "AuthType                = auth/munge\n"
                "ClusterName             = rtgw\n"
                "EnforcePartLimits       = ALL\n"
                "KillWait                = 5 sec\n"
                "MinJobAge               = 600 sec\n"
                "SLURM_VERSION           = 22.05.8\n");
}

SlurmCommandResult FakeSlurmCluster::Sinfo() const {
  std::string out;
  for (const Partition& p : kPartitions) {
    out += std::string(p.name) + (p.is_default ? "*" : "") + "|up|" + std::string(p.max_time) +
           "|0/1/0/1|0/2/0/2\n";
  }
  return Exited(0, std::move(out));
}

Result<FakeSlurmCluster::FakeJob*> FakeSlurmCluster::Active(const std::string& job_id) {
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(job_id.data(), job_id.data() + job_id.size(), id);
  auto it = ec == std::errc() && p == job_id.data() + job_id.size() ? jobs_.find(id) : jobs_.end();
  if (it == jobs_.end()) return NotFound("fake slurm: no job " + job_id);
  const std::string& state = it->second.job.state;
  if (state != "PENDING" && state != "RUNNING") {
    return Conflict("fake slurm: job " + job_id + " has ended (" + state + ")");
  }
  return &it->second;
}

void FakeSlurmCluster::FailNext(Command command, Fault fault, int times) {
  std::lock_guard lock(mu_);
  faults_[command].insert(faults_[command].end(), static_cast<std::size_t>(times), fault);
}

void FakeSlurmCluster::set_cancel_signal(int signal) {
  std::lock_guard lock(mu_);
  cancel_signal_ = signal;
}

Status FakeSlurmCluster::Start(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto job = Active(job_id);
  if (!job.ok()) return job.error();
  if ((*job)->job.state != "PENDING") return Conflict("fake slurm: job " + job_id + " runs");
  (*job)->job.state = "RUNNING";
  return Ok{};
}

Status FakeSlurmCluster::Finish(const std::string& job_id, int exit_code) {
  return exit_code == 0 ? End(job_id, "COMPLETED", "None", 0, 0)
                        : End(job_id, "FAILED", "NonZeroExitCode", exit_code, 0);
}

Status FakeSlurmCluster::End(const std::string& job_id, const std::string& state,
                             const std::string& reason, int exit_code, int signal) {
  std::lock_guard lock(mu_);
  auto job = Active(job_id);
  if (!job.ok()) return job.error();
  SlurmJob& j = (*job)->job;
  j.state = state;
  j.reason = reason;
  j.exit_code = exit_code;
  j.signal = signal;
  return Ok{};
}

Status FakeSlurmCluster::Purge(const std::string& job_id) {
  std::lock_guard lock(mu_);
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (it->second.job.job_id == job_id) {
      jobs_.erase(it);
      return Ok{};
    }
  }
  return NotFound("fake slurm: no job " + job_id);
}

std::optional<SlurmJob> FakeSlurmCluster::Job(const std::string& job_id) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, fake] : jobs_) {
    if (fake.job.job_id == job_id) return fake.job;
  }
  return std::nullopt;
}

int FakeSlurmCluster::runs(Command command) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(command);
  return it == runs_.end() ? 0 : it->second;
}

bool LiveSlurmUp() {
  auto r = process::Run({.argv = {"scontrol", "ping"}}, {.timeout = std::chrono::seconds(5)});
  return r.ok() && r->status.exit_code == 0 && r->out.find("UP") != std::string::npos;
}

std::string SlurmBackendName(SlurmBackend backend) {
  return backend == SlurmBackend::kFake ? "Fake" : "Live";
}

}  // namespace rtgw::agent::slurm
