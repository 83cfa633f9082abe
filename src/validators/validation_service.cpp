#include "validators/validation_service.hpp"

#include <limits>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "common/await.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"
#include "common/time_format.hpp"
#include "crypto/crypto.hpp"
#include "net/http_client.hpp"
#include "validators/poll_decision.hpp"

namespace rtgw::validators {
namespace json = boost::json;
using storage::ValidatorExecution;
using storage::ValidatorRun;

namespace {

std::string Now() { return FormatRfc3339(std::chrono::system_clock::now()); }

std::string Fingerprint(const json::object& o) { return crypto::Sha256Hex(json::serialize(o)); }

json::value ParseOr(const std::optional<std::string>& text, json::value fallback) {
  if (!text) return fallback;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  return ec ? fallback : v;
}

// The runtime-job event for an execution reaching `state`.
storage::EventRecord MakeEvent(const ValidatorRun& run, jobs::JobState state,
                               const std::string& occurred_at, const std::string& trace_id) {
  const ValidatorExecution& e = run.current;
  storage::EventRecord r;
  r.tenant_id = run.tenant_id;
  r.job_id = e.job_id;
  r.event_id = run.run_id + ":" + e.callback_id + ":" + std::string(jobs::ToString(state));
  r.workspace_id = run.workspace_id;
  r.submission_id = e.submission_id;
  r.execution_id = e.execution_name.empty() ? e.callback_id : e.execution_name;
  r.state = state;
  r.occurred_at = occurred_at;
  r.received_at = Now();
  r.trace_id = trace_id;
  json::object canonical{
      {"event_id", r.event_id},       {"execution_id", r.execution_id}, {"job_id", r.job_id},
      {"occurred_at", r.occurred_at}, {"state", jobs::ToString(state)}, {"tenant_id", r.tenant_id}};
  if (state == jobs::JobState::kCompleted && !e.result_uri.empty()) {
    json::object ref{{"output_uri", e.result_uri}};
    r.result_ref_json = json::serialize(ref);
    canonical["result_ref"] = ref;
  }
  if (state == jobs::JobState::kFailed || state == jobs::JobState::kCancelled) {
    json::object err{{"code", e.receipt_json ? "validator_failed" : "callback_missing"},
                     {"message", e.error.value_or(e.status)}};
    r.error_json = json::serialize(err);
    canonical["error"] = err;
  }
  r.fingerprint = Fingerprint(canonical);
  return r;
}

jobs::JobState TerminalJobState(const std::string& status) {
  if (status == storage::kRunSucceeded) return jobs::JobState::kCompleted;
  if (status == storage::kRunCancelled) return jobs::JobState::kCancelled;
  return jobs::JobState::kFailed;
}

}  // namespace

std::string RunJson(const ValidatorRun& run) {
  const ValidatorExecution& e = run.current;
  json::object o;
  o["run_id"] = run.run_id;
  o["tenant_id"] = run.tenant_id;
  o["workspace_id"] = run.workspace_id;
  o["validator"] = run.validator;
  o["version"] = run.version;
  o["launcher"] = run.launcher;
  o["status"] = e.status;
  o["attempt"] = e.attempt;
  o["job_id"] = e.job_id;
  o["execution_name"] = e.execution_name;
  o["input_uri"] = e.input_uri;
  o["result_uri"] = e.result_uri.empty() ? json::value(nullptr) : json::value(e.result_uri);
  o["findings"] = ParseOr(e.findings_json, nullptr);
  o["error"] = e.error ? json::value(*e.error) : json::value(nullptr);
  o["created_at"] = run.created_at;
  o["finished_at"] = e.finished_at.empty() ? json::value(nullptr) : json::value(e.finished_at);
  return json::serialize(o);
}

ValidationService::ValidationService(ValidationServiceOptions options, storage::JobStore& jobs,
                                     storage::ValidatorRunStore& runs, ObjectStorage& storage,
                                     std::map<std::string, Launcher*> launchers,
                                     const CallbackTokenVerifier& verifier)
    : options_(std::move(options)),
      jobs_(jobs),
      runs_(runs),
      storage_(storage),
      launchers_(std::move(launchers)),
      verifier_(verifier) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

ValidationService::~ValidationService() { Stop(); }

void ValidationService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (poller_.joinable()) poller_.join();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void ValidationService::Post(std::function<void()> task, const std::function<void(Error)>& refuse) {
  {
    std::unique_lock lock(mu_);
    if (!stopping_ && queue_.size() >= options_.max_queued) {
      const std::size_t queued = queue_.size();
      lock.unlock();
      LogWarn("validation queue full", {{"queued", queued}});
      return refuse(
          Unavailable("validation queue full (" + std::to_string(queued) + " waiting); retry later",
                      "overloaded"));
    }
    if (!stopping_) {
      queue_.push_back(std::move(task));
      cv_.notify_all();  // the poller waits on cv_ too
      return;
    }
  }
  task();  // shutting down: run inline so the caller still gets its answer
}

void ValidationService::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& ex) {
      LogError("validation task threw", {{"what", ex.what()}});
    }
  }
}

Launcher* ValidationService::LauncherFor(const std::string& name) const {
  auto it = launchers_.find(name);
  return it == launchers_.end() ? nullptr : it->second;
}

void ValidationService::Launch(LaunchRequest request, RunDone done) {
  const std::function<void(Error)> refuse = [done](Error e) { done(std::move(e)); };
  Post([this, request = std::move(request), done = std::move(done)] { done(DoLaunch(request)); },
       refuse);
}

void ValidationService::Rerun(std::string tenant_id, std::string run_id, std::string trace_id,
                              RunDone done) {
  const std::function<void(Error)> refuse = [done](Error e) { done(std::move(e)); };
  Post([this, tenant_id = std::move(tenant_id), run_id = std::move(run_id),
        trace_id = std::move(trace_id),
        done = std::move(done)] { done(DoRerun(tenant_id, run_id, trace_id)); },
       refuse);
}

void ValidationService::Get(std::string tenant_id, std::string run_id, RunDone done) {
  runs_.GetRun(std::move(tenant_id), std::move(run_id), std::move(done));
}

void ValidationService::List(storage::RunListQuery query,
                             std::function<void(Result<storage::RunPage>)> done) {
  runs_.ListRuns(std::move(query), std::move(done));
}

void ValidationService::Callback(CallbackRequest request,
                                 std::function<void(Result<std::string>)> done) {
  const std::function<void(Error)> refuse = [done](Error e) { done(std::move(e)); };
  Post([this, request = std::move(request), done = std::move(done)] { done(DoCallback(request)); },
       refuse);
}

Result<ValidatorRun> ValidationService::StartExecution(ValidatorRun run, bool first,
                                                       const std::string& document_json,
                                                       const std::string& files_json,
                                                       const std::string& launch_fingerprint,
                                                       const std::string& trace_id) {
  const ValidatorSpec* spec =
      FindValidator(options_.validators, run.validator, std::optional<std::string>(run.version));
  if (spec == nullptr) return NotFound("validator " + run.validator + " is no longer configured");
  Launcher* launcher = LauncherFor(run.launcher);
  if (launcher == nullptr) return Unavailable("launcher " + run.launcher + " is not available");
  ValidatorExecution& e = run.current;
  e.run_id = run.run_id;
  if (e.callback_id.empty()) e.callback_id = "cb-" + RandomHex(16);
  e.job_id = run.run_id + "-" + std::to_string(e.attempt);
  if (e.submission_id.empty()) e.submission_id = NewUuidV4();
  e.status = storage::kRunPending;
  e.trace_id = trace_id;
  e.created_at = Now();
  e.deadline_us = UnixNow<std::chrono::microseconds>() +
                  std::chrono::duration_cast<std::chrono::microseconds>(spec->timeout).count();
  const std::string dir =
      JoinUri(storage_.base_uri(), "validations/" + net::UrlEncode(run.tenant_id) + "/" +
                                       run.run_id + "/" + e.callback_id);
  e.input_uri = JoinUri(dir, "input.json");

  // 1. The envelope: everything the job needs, referenced by INPUT_URI only.
  json::object envelope{{"run_id", run.run_id},
                        {"callback_id", e.callback_id},
                        {"attempt", e.attempt},
                        {"validator", run.validator},
                        {"version", run.version},
                        {"tenant_id", run.tenant_id},
                        {"workspace_id", run.workspace_id},
                        {"callback_url", options_.callback_url},
                        {"result_uri", JoinUri(dir, "result.json")},
                        {"document", json::parse(document_json)},
                        {"files", json::parse(files_json)}};
  if (!launch_fingerprint.empty()) envelope["launch_fingerprint"] = launch_fingerprint;
  if (Status s = storage_.Put(e.input_uri, json::serialize(envelope), "application/json"); !s) {
    return s.error();
  }

  // 2. The runtime job. For a launcher whose job runs on a management node
  // (slurm) it goes to that node and queue, with the validator call in
  // payload_ref, and is submitted only after the execution is stored: the
  // node may lease and run it at once, and its callback must find the run.
  const bool on_agent = launcher->runs_on_agent();
  storage::SubmitRecord sub;
  sub.tenant_id = run.tenant_id;
  sub.workspace_id = run.workspace_id;
  sub.job_id = e.job_id;
  sub.idempotency_key = "validation:" + run.run_id + ":" + std::to_string(e.attempt);
  sub.management_node_id = on_agent ? spec->node_id : "validator-launcher:" + run.launcher;
  json::object payload_ref{{"input_uri", e.input_uri}};
  if (on_agent) {
    payload_ref["validator"] = json::object{{"name", run.validator},
                                            {"version", run.version},
                                            {"run_id", run.run_id},
                                            {"callback_id", e.callback_id},
                                            {"callback_url", options_.callback_url}};
  }
  json::object spec_json{
      {"execution_profile",
       json::object{{"queue_name",
                     on_agent ? spec->queue : "validator:" + run.validator + "@" + run.version}}},
      {"payload_ref", payload_ref},
      {"requested_by", json::object{{"user_id", run.requested_by}}},
      {"resource_shape",
       json::object{{"cpu", 1}, {"memory_mib", 512}, {"walltime_seconds", spec->timeout.count()}}}};
  sub.spec_json = json::serialize(spec_json);
  sub.request_fingerprint = crypto::Sha256Hex(sub.spec_json + "|" + sub.idempotency_key);
  sub.submission_id = e.submission_id;
  sub.accepted_at = e.created_at;
  sub.trace_id = trace_id;
  sub.response_json = json::serialize(json::object{{"job_id", sub.job_id},
                                                   {"submission_id", sub.submission_id},
                                                   {"accepted_at", sub.accepted_at},
                                                   {"trace_id", trace_id}});
  auto submit = [&]() -> Status {
    auto submitted = Await<storage::SubmitOutcome>(
        [&](storage::Callback<storage::SubmitOutcome> cb) { jobs_.Submit(sub, std::move(cb)); });
    if (!submitted) return submitted.error();
    return Ok{};
  };
  if (!on_agent) {
    if (Status s = submit(); !s) return s.error();
  }

  // 3. The execution, PENDING until its launcher started it.
  Status stored =
      first ? Await<Ok>([&](storage::Callback<Ok> cb) { runs_.CreateRun(run, std::move(cb)); })
            : Await<Ok>([&](storage::Callback<Ok> cb) { runs_.AddExecution(e, std::move(cb)); });
  if (!stored) return stored.error();
  if (on_agent) {
    if (Status s = submit(); !s) {
      // Stored but never handed to the node: fail it now (no job, no event).
      LogError("validator job submit failed",
               {{"run_id", run.run_id}, {"trace_id", trace_id}, {"error", s.error().message}});
      e.status = storage::kRunFailed;
      e.error = "launch failed";
      e.finished_at = Now();
      (void)Await<bool>([&](storage::Callback<bool> cb) {
        runs_.FinishWithoutCallback(e.callback_id, e.status, *e.error, e.finished_at,
                                    std::move(cb));
      });
      (void)Await<Ok>(
          [&](storage::Callback<Ok> cb) { runs_.MarkEventSynced(e.callback_id, std::move(cb)); });
      return s.error();
    }
  }

  // 4. Start it.
  LaunchSpec ls;
  ls.run_id = run.run_id;
  ls.callback_id = e.callback_id;
  ls.validator = run.validator;
  ls.version = run.version;
  ls.input_uri = e.input_uri;
  ls.callback_url = options_.callback_url;
  ls.timeout = spec->timeout;
  ls.tenant_id = run.tenant_id;
  ls.job_id = e.job_id;
  ls.command = spec->command;
  ls.cloud_run_job = spec->cloud_run_job;
  Result<std::string> name = launcher->Launch(ls);
  if (!name) {
    LogError("validator launch failed", {{"run_id", run.run_id},
                                         {"trace_id", trace_id},
                                         {"launcher", run.launcher},
                                         {"error", name.error().message}});
    e.status = storage::kRunFailed;
    e.error = "launch failed";
    e.finished_at = Now();
    (void)Await<bool>([&](storage::Callback<bool> cb) {
      runs_.FinishWithoutCallback(e.callback_id, e.status, *e.error, e.finished_at, std::move(cb));
    });
    SyncTerminalEvent(run);
    return run;
  }
  e.execution_name = *name;
  auto marked = Await<bool>([&](storage::Callback<bool> cb) {
    runs_.MarkLaunched(e.callback_id, e.execution_name, storage::kRunRunning, std::move(cb));
  });
  if (!marked) return marked.error();
  if (*marked) {
    e.status = storage::kRunRunning;
    if (!on_agent)
      (void)Await<storage::EventOutcome>([&](storage::Callback<storage::EventOutcome> cb) {
        jobs_.AppendEvent(MakeEvent(run, jobs::JobState::kRunning, e.created_at, trace_id),
                          std::move(cb));
      });
  }
  // else: the job already called back (fast validator); GetRun shows that.
  auto fresh = Await<ValidatorRun>([&](storage::Callback<ValidatorRun> cb) {
    runs_.GetRun(run.tenant_id, run.run_id, std::move(cb));
  });
  return fresh ? std::move(fresh).value() : run;
}

namespace {

// What a launch asked for, for idempotent retries: validator, version,
// workspace, the document and every file's name and content hash.
std::string LaunchFingerprint(const LaunchRequest& req) {
  json::array files;
  for (const InputFile& f : req.files) {
    files.push_back(json::object{{"name", f.name}, {"sha256", crypto::Sha256Hex(f.bytes)}});
  }
  boost::system::error_code ec;
  json::value document = json::parse(req.document_json, ec);
  json::object o{{"validator", req.validator},
                 {"version", req.version.value_or("")},
                 {"workspace_id", req.workspace_id},
                 {"document", ec ? json::value(req.document_json) : document},
                 {"files", files}};
  return crypto::Sha256Hex(json::serialize(o));
}

// A UUID (version 4 layout) from 32 hex digits.
std::string UuidFromHex(const std::string& hex) {
  std::string h = hex.substr(0, 32);
  h[12] = '4';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

}  // namespace

Result<ValidatorRun> ValidationService::ReplayLaunch(const ValidatorRun& run,
                                                     const std::string& fingerprint,
                                                     const std::string& trace_id) {
  auto envelope = storage_.Get(run.current.input_uri);
  if (!envelope) return Unavailable("cannot read the run's input envelope");
  boost::system::error_code ec;
  json::value env = json::parse(*envelope, ec);
  const json::value* stored =
      !ec && env.is_object() ? env.as_object().if_contains("launch_fingerprint") : nullptr;
  if (stored == nullptr || !stored->is_string() || stored->as_string() != fingerprint) {
    return Conflict("idempotency_key reused with a different launch", "idempotency_conflict");
  }
  LogInfo("validation launch replayed", {{"run_id", run.run_id}, {"trace_id", trace_id}});
  return run;
}

Result<ValidatorRun> ValidationService::DoLaunch(const LaunchRequest& req) {
  const ValidatorSpec* spec = FindValidator(options_.validators, req.validator, req.version);
  if (spec == nullptr) return NotFound("unknown validator or version");
  ValidatorRun run;
  run.run_id = "vr-" + RandomHex(12);
  std::string fingerprint;
  if (req.idempotency_key) {
    // A retry finds the run by its derived id and gets it back: no second
    // execution. The first execution's ids are derived too, so a retry after
    // a crash between the job submit and the run write replays that submit.
    fingerprint = LaunchFingerprint(req);
    auto derive = [&](const char* what) {
      return crypto::Sha256Hex(req.tenant_id + "\n" + *req.idempotency_key + "\n" + what);
    };
    run.run_id = "vr-" + derive("run").substr(0, 24);
    run.current.callback_id = "cb-" + derive("callback").substr(0, 32);
    run.current.submission_id = UuidFromHex(derive("submission"));
    auto existing = Await<ValidatorRun>([&](storage::Callback<ValidatorRun> cb) {
      runs_.GetRun(req.tenant_id, run.run_id, std::move(cb));
    });
    if (existing) return ReplayLaunch(*existing, fingerprint, req.trace_id);
    if (existing.error().code != ErrorCode::kNotFound) return std::move(existing).error();
  }
  run.tenant_id = req.tenant_id;
  run.workspace_id = req.workspace_id;
  run.validator = spec->name;
  run.version = spec->version;
  run.launcher = spec->launcher;
  run.requested_by = req.subject;
  run.created_at = Now();
  run.current.attempt = 1;
  const std::string run_id = run.run_id;
  const std::string files_dir =
      JoinUri(storage_.base_uri(),
              "validations/" + net::UrlEncode(req.tenant_id) + "/" + run.run_id + "/files");
  json::array files;
  for (const InputFile& f : req.files) {
    const std::string uri = JoinUri(files_dir, f.name);
    if (Status s = storage_.Put(uri, f.bytes, "application/octet-stream"); !s) {
      LogError("validator input write failed",
               {{"run_id", run.run_id}, {"trace_id", req.trace_id}, {"error", s.error().message}});
      return Unavailable("cannot store the input files");
    }
    files.push_back(json::object{{"name", f.name}, {"uri", uri}});
  }
  auto started = StartExecution(std::move(run), true, req.document_json, json::serialize(files),
                                fingerprint, req.trace_id);
  if (!started && req.idempotency_key) {
    // A concurrent launch with the same key won the race (its job submit or
    // run write came first): answer with its run once it is stored.
    for (int i = 0; i < 50; ++i) {
      auto winner = Await<ValidatorRun>([&](const storage::Callback<ValidatorRun>& cb) {
        runs_.GetRun(req.tenant_id, run_id, cb);
      });
      if (winner) return ReplayLaunch(*winner, fingerprint, req.trace_id);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!started) {
    LogError("validation launch failed",
             {{"trace_id", req.trace_id}, {"error", started.error().message}});
    if (started.error().code == ErrorCode::kInternal) return Internal("launch failed");
    return std::move(started).error();
  }
  LogInfo("validation launched", {{"run_id", started->run_id},
                                  {"trace_id", req.trace_id},
                                  {"tenant_id", req.tenant_id},
                                  {"job_id", started->current.job_id},
                                  {"status", started->current.status}});
  return started;
}

Result<ValidatorRun> ValidationService::DoRerun(const std::string& tenant_id,
                                                const std::string& run_id,
                                                const std::string& trace_id) {
  auto run = Await<ValidatorRun>(
      [&](storage::Callback<ValidatorRun> cb) { runs_.GetRun(tenant_id, run_id, std::move(cb)); });
  if (!run) return std::move(run).error();
  if (!storage::IsTerminalRunStatus(run->current.status)) {
    return Conflict("the run's current execution has not finished", "run_not_finished");
  }
  auto previous = storage_.Get(run->current.input_uri);
  if (!previous) return Unavailable("cannot read the run's input envelope");
  boost::system::error_code ec;
  json::value env = json::parse(*previous, ec);
  if (ec || !env.is_object()) return Internal("stored envelope is not a JSON object");
  const json::object& o = env.as_object();
  const std::string document = json::serialize(o.contains("document") ? o.at("document") : nullptr);
  const std::string files = json::serialize(o.contains("files") ? o.at("files") : json::array());
  std::string fingerprint;
  if (const json::value* f = o.if_contains("launch_fingerprint"); f && f->is_string()) {
    fingerprint = std::string(f->as_string());
  }
  ValidatorRun next = *run;
  next.current = ValidatorExecution{};
  next.current.attempt = run->current.attempt + 1;
  auto started = StartExecution(std::move(next), false, document, files, fingerprint, trace_id);
  if (!started) return std::move(started).error();
  LogInfo("validation rerun", {{"run_id", run_id},
                               {"trace_id", trace_id},
                               {"attempt", static_cast<long long>(started->current.attempt)}});
  return started;
}

Result<std::string> ValidationService::DoCallback(const CallbackRequest& req) {
  const auto now = std::chrono::system_clock::now();
  auto run = Await<ValidatorRun>([&](storage::Callback<ValidatorRun> cb) {
    runs_.GetRun(std::nullopt, req.run_id, std::move(cb));
  });
  if (!run && run.error().code != ErrorCode::kNotFound) return std::move(run).error();
  if (!run) {
    // Say "unknown" only to a caller that some launcher trusts.
    bool trusted = false;
    for (const auto& [name, l] : launchers_) {
      trusted =
          trusted || verifier_.Verify(name, req.bearer_token, options_.callback_url, now).ok();
    }
    if (!trusted) return Unauthenticated("invalid callback token");
    return NotFound("unknown run or callback_id");
  }
  if (Status s = verifier_.Verify(run->launcher, req.bearer_token, options_.callback_url, now);
      !s) {
    LogWarn("validator callback rejected", {{"run_id", req.run_id},
                                            {"callback_id", req.callback_id},
                                            {"trace_id", req.trace_id},
                                            {"reason", s.error().message}});
    return Unauthenticated("invalid callback token");
  }
  storage::CallbackApply apply;
  apply.run_id = req.run_id;
  apply.callback_id = req.callback_id;
  apply.status = req.status;
  apply.result_uri = req.result_uri;
  apply.findings_json = req.findings_json;
  apply.error = req.error_message;
  apply.finished_at = Now();
  apply.receipt_json = json::serialize(json::object{{"ok", true},
                                                    {"run_id", req.run_id},
                                                    {"callback_id", req.callback_id},
                                                    {"status", req.status},
                                                    {"received_at", apply.finished_at}});
  auto outcome =
      Await<storage::CallbackOutcome>([&](storage::Callback<storage::CallbackOutcome> cb) {
        runs_.ApplyCallback(apply, std::move(cb));
      });
  if (!outcome) return std::move(outcome).error();
  using storage::CallbackDisposition;
  switch (outcome->disposition) {
    case CallbackDisposition::kApplied:
      LogInfo("validator callback applied", {{"run_id", req.run_id},
                                             {"callback_id", req.callback_id},
                                             {"trace_id", req.trace_id},
                                             {"status", req.status}});
      SyncTerminalEvent(*outcome->run);
      return outcome->receipt_json;
    case CallbackDisposition::kReplay: {
      LogInfo(
          "validator callback replayed",
          {{"run_id", req.run_id}, {"callback_id", req.callback_id}, {"trace_id", req.trace_id}});
      json::value receipt = ParseOr(outcome->receipt_json, json::object());
      if (receipt.is_object()) receipt.as_object()["replay"] = true;
      return std::string(json::serialize(receipt));
    }
    case CallbackDisposition::kUnknown:
      return NotFound("unknown run or callback_id");
    case CallbackDisposition::kSuperseded:
      return Conflict("callback_id was superseded by a rerun", "callback_superseded");
    case CallbackDisposition::kFinished:
      return Conflict("the execution already ended without a callback", "execution_finished");
  }
  return Internal("unhandled callback disposition");
}

void ValidationService::SyncTerminalEvent(const ValidatorRun& run) {
  const ValidatorExecution& e = run.current;
  if (Launcher* l = LauncherFor(run.launcher); l != nullptr && l->runs_on_agent()) {
    // The node's agent reports this job's lifecycle; nothing to post.
    (void)Await<Ok>(
        [&](storage::Callback<Ok> cb) { runs_.MarkEventSynced(e.callback_id, std::move(cb)); });
    return;
  }
  auto event = MakeEvent(run, TerminalJobState(e.status), e.finished_at, e.trace_id);
  auto appended = Await<storage::EventOutcome>([&](storage::Callback<storage::EventOutcome> cb) {
    jobs_.AppendEvent(event, std::move(cb));
  });
  if (!appended && appended.error().code == ErrorCode::kUnavailable) {
    LogWarn("validator job event not stored; the poller retries",
            {{"run_id", run.run_id}, {"error", appended.error().message}});
    return;
  }
  if (!appended) {
    LogError("validator job event refused",
             {{"run_id", run.run_id}, {"job_id", e.job_id}, {"error", appended.error().message}});
  }
  (void)Await<Ok>(
      [&](storage::Callback<Ok> cb) { runs_.MarkEventSynced(e.callback_id, std::move(cb)); });
}

void ValidationService::PollRun(const ValidatorRun& run, std::int64_t now_us) {
  const ValidatorExecution& e = run.current;
  if (storage::IsTerminalRunStatus(e.status)) return SyncTerminalEvent(run);
  Launcher* launcher = LauncherFor(run.launcher);
  const PollVerdict verdict = DecidePoll(e, launcher, now_us);
  if (!verdict.poll_error.empty()) {
    LogWarn("validator poll failed", {{"run_id", run.run_id}, {"error", verdict.poll_error}});
  }
  if (verdict.action == PollVerdict::Action::kWait) return;
  if (verdict.cancel_first) (void)launcher->Cancel(e.execution_name);
  ValidatorRun finished = run;
  finished.current.status = verdict.status;
  finished.current.error = verdict.error;
  finished.current.finished_at = Now();
  auto changed = Await<bool>([&](storage::Callback<bool> cb) {
    runs_.FinishWithoutCallback(e.callback_id, verdict.status, verdict.error,
                                finished.current.finished_at, std::move(cb));
  });
  if (!changed || !*changed) return;  // a callback won the race; it syncs its own event
  LogWarn("validator run finished by poll", {{"run_id", run.run_id},
                                             {"trace_id", e.trace_id},
                                             {"status", verdict.status},
                                             {"error", verdict.error}});
  SyncTerminalEvent(finished);
}

void ValidationService::PollOnce() {
  const std::int64_t now = UnixNow<std::chrono::microseconds>();
  const auto limit = static_cast<std::size_t>(options_.poll_max_executions);
  // Every open execution is due for a launcher poll, not only overdue ones:
  // ListDue with no deadline bound lists them (by deadline) with the terminal
  // ones whose job event is not stored yet. A keyset walk: this pass goes on
  // after the last execution the previous one polled, and at the end wraps
  // around to the first ones, short of where it began.
  auto list = [&](std::optional<storage::DueKey> after, std::size_t n) {
    return Await<std::vector<ValidatorRun>>([&](storage::Callback<std::vector<ValidatorRun>> cb) {
      runs_.ListDue(std::numeric_limits<std::int64_t>::max(), std::move(after), static_cast<int>(n),
                    std::move(cb));
    });
  };
  auto key = [](const ValidatorRun& r) {
    return storage::DueKey{r.current.deadline_us, r.current.callback_id};
  };
  auto due = list(poll_after_, limit);
  if (due && poll_after_ && due->size() < limit) {
    auto wrapped = list(std::nullopt, limit - due->size());
    if (wrapped) {
      for (ValidatorRun& r : *wrapped) {
        if (key(r) >= *poll_after_) break;
        due->push_back(std::move(r));
      }
    } else {
      due = std::move(wrapped);
    }
  }
  if (!due) {
    LogWarn("validator poll: store unavailable", {{"error", due.error().message}});
    return;
  }
  poll_after_.reset();
  if (due->size() == limit) poll_after_ = key(due->back());
  for (const ValidatorRun& run : *due) PollRun(run, now);
}

void ValidationService::StartPoller() {
  poller_ = std::thread([this] { PollerLoop(); });
}

void ValidationService::PollerLoop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; })) return;
    }
    try {
      PollOnce();
    } catch (const std::exception& ex) {
      LogError("validator poll threw", {{"what", ex.what()}});
    }
  }
}

}  // namespace rtgw::validators
