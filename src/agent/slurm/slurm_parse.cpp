#include "agent/slurm/slurm_parse.hpp"

#include <charconv>

namespace rtgw::agent::slurm {
namespace {

constexpr std::size_t kMaxJobs = 1'000'000;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsKeyToken(std::string_view tok, std::size_t* eq) {
  const std::size_t pos = tok.find('=');
  if (pos == std::string_view::npos || pos == 0) return false;
  const char first = tok[0];
  if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z'))) return false;
  for (std::size_t i = 0; i < pos; ++i) {
    const char c = tok[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':' || c == '/' || c == '.' || c == '-';
    if (!ok) return false;
  }
  *eq = pos;
  return true;
}

// Non-negative decimal that fits in int64; rejects signs, spaces, empties.
std::optional<std::int64_t> ParseCount(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

template <class F>
void ForEachLine(std::string_view text, F&& f) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    f(text.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SplitKeyValueLine(std::string_view line) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    std::size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    const std::string_view tok = line.substr(i, j - i);
    std::size_t eq = 0;
    if (IsKeyToken(tok, &eq)) {
      out.emplace_back(std::string(tok.substr(0, eq)), std::string(tok.substr(eq + 1)));
    } else if (!out.empty()) {
      out.back().second.push_back(' ');
      out.back().second.append(tok);
    }
    i = j;
  }
  return out;
}

Result<std::vector<SlurmJob>> ParseScontrolJobs(std::string_view text) {
  std::vector<SlurmJob> jobs;
  std::optional<Error> error;
  ForEachLine(text, [&](std::string_view raw) {
    if (error) return;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.rfind("JobId=", 0) != 0) return;  // "No jobs in the system", noise
    if (jobs.size() >= kMaxJobs) {
      error = InvalidArgument("scontrol output: more than 1000000 jobs");
      return;
    }
    SlurmJob job;
    bool have_exit = false;
    for (auto& [k, v] : SplitKeyValueLine(line)) {
      if (k == "JobId") {
        job.job_id = v;
      } else if (k == "JobName") {
        job.name = v;
      } else if (k == "Comment") {
        job.comment = v == "(null)" ? std::string() : std::string(Trim(v));
      } else if (k == "JobState") {
        job.state = v.substr(0, v.find(' '));
      } else if (k == "Reason") {
        job.reason = v;
      } else if (k == "Partition") {
        job.partition = v;
      } else if (k == "ExitCode") {
        const std::size_t colon = v.find(':');
        if (colon == std::string::npos) {
          error = InvalidArgument("scontrol output: bad ExitCode '" + v + "'");
          return;
        }
        const auto code = ParseCount(std::string_view(v).substr(0, colon));
        const auto sig = ParseCount(std::string_view(v).substr(colon + 1));
        if (!code || !sig || *code > 255 || *sig > 255) {
          error = InvalidArgument("scontrol output: bad ExitCode '" + v + "'");
          return;
        }
        job.exit_code = static_cast<int>(*code);
        job.signal = static_cast<int>(*sig);
        have_exit = true;
      }
    }
    if (!ParseCount(job.job_id)) {
      error = InvalidArgument("scontrol output: bad JobId '" + job.job_id + "'");
      return;
    }
    if (job.state.empty()) {
      error = InvalidArgument("scontrol output: job " + job.job_id + " without JobState");
      return;
    }
    if (!have_exit) {
      error = InvalidArgument("scontrol output: job " + job.job_id + " without ExitCode");
      return;
    }
    jobs.push_back(std::move(job));
  });
  if (error) return *error;
  return jobs;
}

Result<std::string> ParseSbatchParsable(std::string_view text) {
  std::string_view s = Trim(text);
  // sbatch may print warnings on stdout before the id in some setups: use the last line.
  const std::size_t nl = s.rfind('\n');
  if (nl != std::string_view::npos) s = Trim(s.substr(nl + 1));
  const std::size_t semi = s.find(';');
  if (semi != std::string_view::npos) s = s.substr(0, semi);
  const auto id = ParseCount(s);
  if (!id || *id == 0) {
    return InvalidArgument("sbatch --parsable printed no job id: '" +
                           std::string(Trim(text).substr(0, 200)) + "'");
  }
  return std::string(s);
}

Result<std::optional<std::int64_t>> ParseSlurmMinutes(std::string_view text) {
  const std::string_view s = Trim(text);
  if (s == "UNLIMITED" || s == "INFINITE" || s == "infinite" || s == "unlimited") {
    return std::optional<std::int64_t>();
  }
  const auto bad = [&] {
    return InvalidArgument("bad Slurm time '" + std::string(s.substr(0, 64)) + "'");
  };
  std::int64_t days = 0;
  std::string_view rest = s;
  const std::size_t dash = s.find('-');
  const bool has_days = dash != std::string_view::npos;
  if (has_days) {
    const auto d = ParseCount(s.substr(0, dash));
    if (!d || *d > 100000) return bad();
    days = *d;
    rest = s.substr(dash + 1);
  }
  const auto parts = Split(rest, ':');
  if (parts.empty() || parts.size() > 3) return bad();
  std::int64_t v[3] = {0, 0, 0};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto n = ParseCount(parts[i]);
    if (!n || *n > 10'000'000) return bad();
    v[i] = *n;
  }
  std::int64_t h = 0, m = 0, sec = 0;
  if (has_days) {
    // D-HH, D-HH:MM, D-HH:MM:SS
    h = v[0];
    m = parts.size() > 1 ? v[1] : 0;
    sec = parts.size() > 2 ? v[2] : 0;
  } else if (parts.size() == 1) {
    m = v[0];  // MM
  } else if (parts.size() == 2) {
    m = v[0];  // MM:SS
    sec = v[1];
  } else {
    h = v[0];
    m = v[1];
    sec = v[2];
  }
  return std::optional<std::int64_t>(days * 1440 + h * 60 + m + (sec + 59) / 60);
}

Result<std::vector<SlurmPartition>> ParseSinfoPartitions(std::string_view text) {
  std::vector<SlurmPartition> parts;
  std::optional<Error> error;
  ForEachLine(text, [&](std::string_view raw) {
    if (error) return;
    const std::string_view line = Trim(raw);
    if (line.empty()) return;
    const auto f = Split(line, '|');
    if (f.size() != 5) {
      error = InvalidArgument("sinfo output: expected 5 fields: '" +
                              std::string(line.substr(0, 200)) + "'");
      return;
    }
    SlurmPartition p;
    std::string_view name = f[0];
    if (!name.empty() && name.back() == '*') {
      p.is_default = true;
      name.remove_suffix(1);
    }
    if (name.empty()) {
      error = InvalidArgument("sinfo output: empty partition name");
      return;
    }
    p.name = std::string(name);
    p.state = std::string(f[1]);
    auto minutes = ParseSlurmMinutes(f[2]);
    if (!minutes.ok()) {
      error = minutes.error();
      return;
    }
    p.max_time_minutes = *minutes;
    const auto nodes = Split(f[3], '/');  // allocated/idle/other/total
    const auto cpus = Split(f[4], '/');
    if (nodes.size() != 4 || cpus.size() != 4) {
      error = InvalidArgument("sinfo output: bad A/I/O/T counts");
      return;
    }
    const auto idle_n = ParseCount(nodes[1]), tot_n = ParseCount(nodes[3]);
    const auto idle_c = ParseCount(cpus[1]), tot_c = ParseCount(cpus[3]);
    if (!idle_n || !tot_n || !idle_c || !tot_c) {
      error = InvalidArgument("sinfo output: bad A/I/O/T counts");
      return;
    }
    p.idle_nodes = *idle_n;
    p.total_nodes = *tot_n;
    p.idle_cpus = *idle_c;
    p.total_cpus = *tot_c;
    parts.push_back(std::move(p));
  });
  if (error) return *error;
  return parts;
}

Result<SlurmConfig> ParseScontrolConfig(std::string_view text) {
  SlurmConfig c;
  bool have_version = false;
  ForEachLine(text, [&](std::string_view raw) {
    const std::string_view line = Trim(raw);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return;
    const std::string_view key = Trim(line.substr(0, eq));
    const std::string_view value = Trim(line.substr(eq + 1));
    if (key == "SLURM_VERSION") {
      c.version = std::string(value);
      have_version = !value.empty();
    } else if (key == "ClusterName") {
      c.cluster = std::string(value);
    } else if (key == "MinJobAge") {
      const auto n = ParseCount(value.substr(0, value.find(' ')));
      if (n) c.min_job_age_seconds = *n;
    }
  });
  if (!have_version) return InvalidArgument("scontrol show config: no SLURM_VERSION");
  return c;
}

}  // namespace rtgw::agent::slurm
