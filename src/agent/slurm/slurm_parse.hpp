#ifndef RTGW_AGENT_SLURM_SLURM_PARSE_HPP_
#define RTGW_AGENT_SLURM_SLURM_PARSE_HPP_

// Pure parsers of Slurm 22.05 client output. No I/O, no allocation limits
// beyond the input size; total functions: any input gives a value or an Error,
// never a crash (fuzzed: fuzz/, corpus replayed in ctest). Thread-safe.
//
// What each parser reads (the exact commands are in cli_slurm_client.cpp):
//   ParseScontrolJobs     `scontrol show job -o`  (every job slurmctld still holds, one per line)
//   ParseSbatchParsable   `sbatch --parsable`     ("<jobid>" or "<jobid>;<cluster>")
//   ParseSinfoPartitions  `sinfo -h -o '%P|%a|%l|%F|%C'`
//   ParseScontrolConfig   `scontrol show config`  (version, cluster name, MinJobAge)
//   ParseSlurmMinutes     a Slurm time ("[D-]HH:MM:SS", "MM", "UNLIMITED")

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace rtgw::agent::slurm {

struct SlurmJob {
  std::string job_id;
  std::string name;
  std::string comment;  // "" when Slurm prints (null)
  std::string state;    // "PENDING", "RUNNING", "COMPLETED", ... (first word only)
  std::string reason;
  std::string partition;
  int exit_code = 0;  // ExitCode=<exit>:<signal>
  int signal = 0;
};

// One `key=value` line split into pairs. A token starts a new pair when it
// looks like `Key=` (Key: letters, digits and `_:/.-`, starting with a
// letter); any other space-separated token belongs to the previous value
// (values with spaces, e.g. WorkDir). Exposed for tests.
std::vector<std::pair<std::string, std::string>> SplitKeyValueLine(std::string_view line);

// Every job line (those with a JobId=). "No jobs in the system" -> empty list.
// A JobId line with an unparsable ExitCode is an error (we never guess an exit code).
Result<std::vector<SlurmJob>> ParseScontrolJobs(std::string_view text);

// "123\n" or "123;cluster\n" -> "123". Anything else: error.
Result<std::string> ParseSbatchParsable(std::string_view text);

// Minutes in a Slurm time limit; nullopt = UNLIMITED/INFINITE. Accepts
// "MM", "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS" (seconds round up).
Result<std::optional<std::int64_t>> ParseSlurmMinutes(std::string_view text);

struct SlurmPartition {
  std::string name;
  std::string state;  // "up", "down", "drain", "inact" (lowercase, as sinfo prints)
  bool is_default = false;
  std::optional<std::int64_t> max_time_minutes;  // nullopt = UNLIMITED
  std::int64_t total_nodes = 0;
  std::int64_t idle_nodes = 0;
  std::int64_t total_cpus = 0;
  std::int64_t idle_cpus = 0;
};

Result<std::vector<SlurmPartition>> ParseSinfoPartitions(std::string_view text);

struct SlurmConfig {
  std::string version;  // "22.05.8"
  std::string cluster;  // ClusterName
  std::int64_t min_job_age_seconds = 300;
};

Result<SlurmConfig> ParseScontrolConfig(std::string_view text);

}  // namespace rtgw::agent::slurm

#endif  // RTGW_AGENT_SLURM_SLURM_PARSE_HPP_
