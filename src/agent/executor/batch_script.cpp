#include "agent/executor/batch_script.hpp"

#include <charconv>
#include <filesystem>
#include <map>

namespace rtgw::agent {
namespace {

bool SafeToken(const std::string& s, std::size_t max = 128) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool SafePath(const std::string& s) {
  if (s.empty() || s.size() > 1024 || s[0] != '/') return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

Error BadSpec(const std::string& what) {
  return InvalidArgument("cannot render batch script: " + what, "invalid_job_spec");
}

std::optional<std::int64_t> ParseBounded(std::string_view s, std::int64_t max) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v > max) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::int64_t WalltimeMinutes(std::int64_t walltime_seconds) {
  if (walltime_seconds <= 60) return 1;
  return (walltime_seconds + 59) / 60;
}

Result<std::string> RenderPayload(const std::string& input_uri, const RenderOptions& options) {
  if (input_uri.find('\0') != std::string::npos) {
    return InvalidArgument("payload uri contains NUL", "unsupported_payload");
  }
  if (input_uri.rfind("inline://", 0) == 0) {
    std::int64_t sleep_s = 1, exit_code = 0;
    const std::size_t q = input_uri.find('?');
    if (q != std::string::npos) {
      std::string_view query = std::string_view(input_uri).substr(q + 1);
      while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (key == "sleep") {
          auto v = ParseBounded(value, 86400);
          if (!v)
            return InvalidArgument("inline payload: sleep must be 0..86400", "unsupported_payload");
          sleep_s = *v;
        } else if (key == "exit") {
          auto v = ParseBounded(value, 255);
          if (!v)
            return InvalidArgument("inline payload: exit must be 0..255", "unsupported_payload");
          exit_code = *v;
        }  // other keys are ignored (names for humans)
      }
    }
    // A signal that stops the sleep (Slurm's scancel signals the job's processes one by one) ends
    // the script by that same signal, so Slurm records it: without the re-raise, a script that
    // outlives its sleep by a moment runs `exit E` and the cancelled job reads ExitCode=E:0.
    return "echo \"rtgw demo payload: $RTGW_PAYLOAD_URI (job $RTGW_JOB_ID)\"\n"
           "sleep " +
           std::to_string(sleep_s) +
           " || { rc=$?; if [ \"$rc\" -gt 128 ]; then kill -s \"$(kill -l \"$rc\")\" $$; fi; "
           "exit \"$rc\"; }\n"
           "exit " +
           std::to_string(exit_code) + "\n";
  }
  if (input_uri.rfind("file://", 0) == 0) {
    const std::string path = input_uri.substr(7);
    if (path.empty() || path[0] != '/') {
      return InvalidArgument("file payload: need file:///absolute/path", "unsupported_payload");
    }
    std::error_code ec;
    const std::filesystem::path real = std::filesystem::canonical(path, ec);
    if (ec) return InvalidArgument("file payload: cannot resolve " + path, "payload_not_allowed");
    bool inside = false;
    for (const std::string& dir : options.payload_dirs) {
      const std::filesystem::path root = std::filesystem::weakly_canonical(dir, ec);
      if (ec) continue;
      auto mismatch = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
      if (mismatch.first == root.end()) inside = true;
    }
    if (!inside) {
      return InvalidArgument("file payload: " + path + " is not inside a configured payload dir",
                             "payload_not_allowed");
    }
    if (!std::filesystem::is_regular_file(real, ec)) {
      return InvalidArgument("file payload: " + path + " is not a regular file",
                             "payload_not_allowed");
    }
    return "exec /bin/bash " + ShellQuote(real.string()) + "\n";
  }
  return InvalidArgument("unsupported payload_ref.input_uri scheme (inline:// and file:// only)",
                         "unsupported_payload");
}

Result<std::string> RenderValidatorPayload(const JobSpec& spec, const RenderOptions& options) {
  if (!spec.validator) return InvalidArgument("not a validator job", "unsupported_payload");
  const ValidatorCall& v = *spec.validator;
  for (const std::string* field :
       {&v.name, &v.version, &v.run_id, &v.callback_id, &v.callback_url, &spec.input_uri}) {
    if (field->empty() || field->size() > 4096 || field->find('\0') != std::string::npos) {
      return InvalidArgument(
          "payload_ref.validator needs name, version, run_id, callback_id, "
          "callback_url and payload_ref.input_uri",
          "unsupported_payload");
    }
  }
  if (v.callback_url.rfind("http://", 0) != 0 && v.callback_url.rfind("https://", 0) != 0) {
    return InvalidArgument("validator callback_url must be http(s)", "unsupported_payload");
  }
  auto program = options.validator_programs.find(v.name + "@" + v.version);
  if (program == options.validator_programs.end() || program->second.empty()) {
    return InvalidArgument(
        "validator " + v.name + "@" + v.version + " is not configured on this node",
        "unsupported_payload");
  }
  if (!options.validator_token) {
    return InvalidArgument("this node has no validator key (--validator-key)",
                           "unsupported_payload");
  }
  auto token_file = options.validator_token(spec);
  if (!token_file.ok()) {
    return InvalidArgument("cannot write the validator ID token: " + token_file.error().message,
                           "submit_rejected");
  }
  std::string s = "# validator " + v.name + "@" + v.version +
                  ": only the small env reaches it (env -i); values single-quoted\n";
  s += "/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin";
  s += " INPUT_URI=" + ShellQuote(spec.input_uri);
  s += " CALLBACK_URL=" + ShellQuote(v.callback_url);
  s += " CALLBACK_ID=" + ShellQuote(v.callback_id);
  s += " RUN_ID=" + ShellQuote(v.run_id);
  s += " VALIDATOR_VERSION=" + ShellQuote(v.version);
  s += " CALLBACK_ID_TOKEN_FILE=" + ShellQuote(*token_file);
  for (const std::string& arg : program->second) s += " " + ShellQuote(arg);
  s += "\nrc=$?\n";
  s += "rm -f " + ShellQuote(*token_file) + "\n";
  s += "exit $rc\n";
  return s;
}

Result<std::string> RenderBatchScript(const JobSpec& spec, const RenderOptions& options) {
  if (!SafeToken(spec.submission_id)) return BadSpec("submission_id");
  if (!spec.partition.empty() && !SafeToken(spec.partition)) return BadSpec("partition");
  if (!spec.account.empty() && !SafeToken(spec.account)) return BadSpec("account");
  if (!spec.qos.empty() && !SafeToken(spec.qos)) return BadSpec("qos");
  if (spec.cpu < 1 || spec.cpu > 1024) return BadSpec("cpu must be 1..1024");
  if (spec.memory_mib < 1 || spec.memory_mib > 16777216) return BadSpec("memory_mib");
  if (spec.walltime_seconds < 1 || spec.walltime_seconds > 31536000) {
    return BadSpec("walltime_seconds");
  }
  const std::string output = options.output_path.empty() ? "/dev/null" : options.output_path;
  if (!SafePath(output)) return BadSpec("output path must be [A-Za-z0-9_./-]");
  auto payload = spec.validator ? RenderValidatorPayload(spec, options)
                                : RenderPayload(spec.input_uri, options);
  if (!payload.ok()) return payload.error();

  const std::string tag = BackendTag(spec.submission_id);
  std::string s = "#!/bin/bash\n";
  if (options.sbatch_directives) {
    s += "#SBATCH --job-name=" + tag + "\n";
    s += "#SBATCH --comment=" + tag + "\n";
    if (!spec.partition.empty()) s += "#SBATCH --partition=" + spec.partition + "\n";
    if (!spec.account.empty()) s += "#SBATCH --account=" + spec.account + "\n";
    if (!spec.qos.empty()) s += "#SBATCH --qos=" + spec.qos + "\n";
    s += "#SBATCH --time=" + std::to_string(WalltimeMinutes(spec.walltime_seconds)) + "\n";
    s += "#SBATCH --cpus-per-task=" + std::to_string(spec.cpu) + "\n";
    s += "#SBATCH --mem=" + std::to_string(spec.memory_mib) + "M\n";
    s += "#SBATCH --output=" + output + "\n";
    s += "#SBATCH --open-mode=append\n";
  }
  s += "# rendered by rtgw agent; values below are single-quoted\n";
  s += "export RTGW_SUBMISSION_ID=" + ShellQuote(spec.submission_id) + "\n";
  s += "export RTGW_JOB_ID=" + ShellQuote(spec.job_id) + "\n";
  s += "export RTGW_TENANT_ID=" + ShellQuote(spec.tenant_id) + "\n";
  s += "export RTGW_WORKSPACE_ID=" + ShellQuote(spec.workspace_id) + "\n";
  s += "export RTGW_TRACE_ID=" + ShellQuote(spec.trace_id) + "\n";
  s += "export RTGW_PAYLOAD_URI=" + ShellQuote(spec.input_uri) + "\n";
  s += *payload;
  return s;
}

}  // namespace rtgw::agent
