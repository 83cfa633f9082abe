#include "agent/executor/local_executor.hpp"

#include <signal.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "common/read_file.hpp"
#include "process/process.hpp"

namespace rtgw::agent {
namespace {

namespace fs = std::filesystem;

// The wrapper: records its own pid, runs the job, records the exit status atomically.
// Paths are positional arguments ($1), never interpolated into the command text.
// A cancel sends SIGTERM to the whole process group; the wrapper traps it (a trap, not an
// ignore, so the job itself keeps the default action) and still writes the status. Only
// builtins run after the job ends (a signal to the group cannot kill an `mv`); a reader
// treats a status file without a complete number as not written yet.
constexpr const char* kWrapper =
    // The pid file appears only once the trap is set and the job started, so a cancel that
    // sees the pid always finds the job in the process group.
    "cd \"$1\" || exit 1; exec 2>>wrapper.log; trap ':' TERM; "
    "/bin/bash ./script.sh > out 2>&1 < /dev/null & c=$!; "
    "echo $$ > pid.tmp && mv pid.tmp pid; wait $c; s=$?; "
    "while kill -0 $c 2>/dev/null; do wait $c; s=$?; done; "
    "echo $s > status";

std::optional<long long> ParseLong(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

LocalExecutor::LocalExecutor(std::string work_dir, RenderOptions render)
    : work_dir_(std::move(work_dir)), render_(std::move(render)) {
  render_.sbatch_directives = false;
}

SubmitOutcome LocalExecutor::Submit(const JobSpec& spec) {
  SubmitOutcome out;
  const std::string tag = BackendTag(spec.submission_id);
  auto script = RenderBatchScript(spec, render_);
  if (!script.ok()) {
    out.kind = SubmitOutcome::Kind::kRejected;
    out.error_code = script.error().api_code;
    out.message = script.error().message;
    return out;
  }
  const fs::path dir = fs::path(work_dir_) / tag;
  std::error_code ec;
  fs::create_directories(work_dir_, ec);
  if (fs::exists(dir / "pid", ec) || fs::exists(dir / "status", ec)) {
    out.kind = SubmitOutcome::Kind::kSubmitted;  // already running: never twice
    out.backend_id = tag;
    return out;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    out.message = "cannot create " + dir.string() + ": " + ec.message();
    return out;  // kUnknown: retried later
  }
  {
    std::ofstream f(dir / "script.sh", std::ios::trunc);
    f << *script;
    if (!f.good()) {
      out.message = "cannot write script in " + dir.string();
      return out;
    }
  }
  ++calls_;
  // Detached into a new session: the wrapper leads its own process group, so its pid (what
  // it writes to `pid`) is the group id a cancel signals, and it survives an agent restart.
  auto started =
      process::SpawnDetached({.argv = {"/bin/sh", "-c", kWrapper, "rtgw-local-job", dir.string()},
                              .stdin_stream = process::Stream::Inherit(),
                              .stdout_stream = process::Stream::Inherit(),
                              .stderr_stream = process::Stream::Inherit()});
  if (!started.ok()) {
    out.message = "could not start the local job: " + started.error().message;
    return out;
  }
  out.kind = SubmitOutcome::Kind::kSubmitted;
  out.backend_id = tag;
  return out;
}

Result<BackendSnapshot> LocalExecutor::Snapshot() {
  ++calls_;
  BackendSnapshot snap;
  std::error_code ec;
  if (!fs::exists(work_dir_, ec)) return snap;
  for (const auto& entry : fs::directory_iterator(work_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("rtgw-", 0) != 0 || !entry.is_directory(ec)) continue;
    JobObservation o;
    // Liveness first, then the status file: the wrapper writes `status` and then exits, so
    // "not alive" read before "no status" can never be a job that just finished.
    bool alive = false;
    bool have_pid = false;
    if (const auto pid_text = ReadFileText((entry.path() / "pid").string())) {
      have_pid = true;
      const auto pid = ParseLong(*pid_text);
      alive = pid && *pid > 1 && (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno == EPERM);
    }
    auto status = ReadFileText((entry.path() / "status").string());
    if (status && (status->empty() || status->back() != '\n' || !ParseLong(*status))) {
      status.reset();  // being written
    }
    const bool cancelled = fs::exists(entry.path() / "cancelled", ec);
    if (status) {
      const auto code = ParseLong(*status);  // complete: checked above
      o.raw_state = "exited";
      o.exit_code = code ? static_cast<int>(*code) : -1;
      if (o.exit_code > 128 && o.exit_code < 160) o.signal = o.exit_code - 128;
      o.message = "local process exited with status " + std::to_string(o.exit_code);
      if (cancelled) {
        o.phase = JobPhase::kCancelled;
      } else if (code && *code == 0) {
        o.phase = JobPhase::kCompleted;
      } else {
        o.phase = JobPhase::kFailed;
        o.error_code = "exit_code";
      }
    } else if (alive) {
      o.phase = JobPhase::kRunning;
      o.raw_state = "running";
    } else if (have_pid) {
      o = VanishedJob(name);  // gone without a status (reboot, kill -9 of the wrapper)
    } else {
      const auto age = fs::file_time_type::clock::now() - fs::last_write_time(entry.path(), ec);
      if (age < std::chrono::seconds(30)) {
        o.phase = JobPhase::kQueued;
        o.raw_state = "starting";
      } else {
        o = VanishedJob(name);
      }
    }
    snap.id_by_tag.emplace(name, name);
    snap.by_id.emplace(name, std::move(o));
  }
  return snap;
}

Status LocalExecutor::Cancel(const std::string& backend_id) {
  if (backend_id.rfind("rtgw-", 0) != 0 || backend_id.find('/') != std::string::npos) {
    return InvalidArgument("not a local job id: " + backend_id);
  }
  const fs::path dir = fs::path(work_dir_) / backend_id;
  std::error_code ec;
  if (!fs::exists(dir, ec) || fs::exists(dir / "status", ec)) return Ok{};
  const bool already = fs::exists(dir / "cancelled", ec);
  const auto pid_text = ReadFileText((dir / "pid").string());
  if (!pid_text) {
    // Not started yet: not taken, so the agent sends it again with backoff.
    return Unavailable("local job " + backend_id + " is starting; cancel again");
  }
  if (already) return Ok{};  // signalled once (by an agent before a restart)
  { std::ofstream(dir / "cancelled") << "1\n"; }
  const auto pid = ParseLong(*pid_text);
  if (pid && *pid > 1) {
    // The wrapper is a session leader: its pid is the process group id. Kill the job's
    // processes (the bash child and whatever it started) but let the wrapper record status.
    ::kill(-static_cast<pid_t>(*pid), SIGTERM);
  }
  return Ok{};
}

}  // namespace rtgw::agent
