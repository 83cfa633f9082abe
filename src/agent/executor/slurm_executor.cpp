#include "agent/executor/slurm_executor.hpp"

namespace rtgw::agent {

SlurmExecutor::SlurmExecutor(std::shared_ptr<slurm::SlurmClient> client, RenderOptions render,
                             std::string output_dir)
    : client_(std::move(client)), render_(std::move(render)), output_dir_(std::move(output_dir)) {}

std::optional<std::string> SlurmExecutor::WalltimeViolation(
    const JobSpec& spec, const std::optional<slurm::ClusterInfo>& info) {
  const std::int64_t minutes = WalltimeMinutes(spec.walltime_seconds);
  if (spec.max_walltime_minutes && minutes > *spec.max_walltime_minutes) {
    return "walltime " + std::to_string(minutes) + " min exceeds the queue mapping's limit of " +
           std::to_string(*spec.max_walltime_minutes) + " min";
  }
  if (info) {
    for (const auto& p : info->partitions) {
      const bool match = spec.partition.empty() ? p.is_default : p.name == spec.partition;
      if (match && p.max_time_minutes && minutes > *p.max_time_minutes) {
        return "walltime " + std::to_string(minutes) + " min exceeds partition " + p.name +
               " MaxTime of " + std::to_string(*p.max_time_minutes) + " min";
      }
    }
  }
  return std::nullopt;
}

SubmitOutcome SlurmExecutor::Submit(const JobSpec& spec) {
  SubmitOutcome out;
  std::optional<slurm::ClusterInfo> info;
  {
    std::lock_guard lock(mu_);
    info = catalogue_;
  }
  if (!info) {
    auto d = Describe();  // first submit before any heartbeat: fetch the catalogue now
    if (d.ok()) info = *d;
  }
  if (auto violation = WalltimeViolation(spec, info)) {
    out.kind = SubmitOutcome::Kind::kRejected;
    out.error_code = "walltime_exceeds_limit";
    out.message = *violation;
    return out;
  }
  RenderOptions render = render_;
  if (!output_dir_.empty())
    render.output_path = output_dir_ + "/" + BackendTag(spec.submission_id) + ".out";
  auto script = RenderBatchScript(spec, render);
  if (!script.ok()) {
    out.kind = SubmitOutcome::Kind::kRejected;
    out.error_code = script.error().api_code;
    out.message = script.error().message;
    return out;
  }
  slurm::SubmitResult r = client_->Submit(*script);
  switch (r.kind) {
    case slurm::SubmitResult::Kind::kSubmitted:
      out.kind = SubmitOutcome::Kind::kSubmitted;
      out.backend_id = r.job_id;
      break;
    case slurm::SubmitResult::Kind::kRejected:
      out.kind = SubmitOutcome::Kind::kRejected;
      out.error_code = "submit_rejected";
      out.message = r.message;
      break;
    case slurm::SubmitResult::Kind::kUnknown:
      out.kind = SubmitOutcome::Kind::kUnknown;
      out.message = r.message;
      break;
  }
  return out;
}

Result<BackendSnapshot> SlurmExecutor::Snapshot() {
  auto jobs = client_->ListJobs();
  if (!jobs.ok()) return jobs.error();
  BackendSnapshot snap;
  for (const auto& j : *jobs) {
    snap.by_id.emplace(j.job_id, MapSlurmJob(j));
    // Tag lookups: our jobs carry the tag as name and comment; the newest id wins
    // (there should never be two; the crash test asserts it).
    if (j.comment.rfind("rtgw-", 0) == 0) {
      auto [it, inserted] = snap.id_by_tag.emplace(j.comment, j.job_id);
      if (!inserted && std::stoll(j.job_id) > std::stoll(it->second)) it->second = j.job_id;
    }
  }
  return snap;
}

Status SlurmExecutor::Cancel(const std::string& backend_id) { return client_->Cancel(backend_id); }

Result<std::optional<slurm::ClusterInfo>> SlurmExecutor::Describe() {
  auto info = client_->Describe();
  if (!info.ok()) return info.error();
  std::lock_guard lock(mu_);
  catalogue_ = *info;
  return std::optional<slurm::ClusterInfo>(*info);
}

std::chrono::seconds SlurmExecutor::visibility_window() const {
  std::lock_guard lock(mu_);
  return std::chrono::seconds(catalogue_ ? catalogue_->config.min_job_age_seconds : 300);
}

}  // namespace rtgw::agent
