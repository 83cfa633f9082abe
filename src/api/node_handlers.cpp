#include "api/node_handlers.hpp"

#include <utility>

#include "api/error_mapping.hpp"
#include "api/job_requests.hpp"
#include "api/node_requests.hpp"
#include "common/logging.hpp"
#include "jobs/job_state.hpp"

namespace rtgw::api {
namespace {

http::Response Json(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string WaitKey(const std::string& tenant_id, const std::string& node_id) {
  return tenant_id + '\n' + node_id;
}

SystemTime Now() { return std::chrono::system_clock::now(); }

}  // namespace

struct NodeApi::AcquireState {
  std::shared_ptr<Call> call;
  AcquireBody body;
  LeaseWaiters::Clock::time_point deadline;
};

NodeApi::NodeApi(NodeApiOptions options, storage::NodeStore& store,
                 const slurm_adapter::AdapterSettings& adapter, Finisher finish)
    : options_(options),
      store_(store),
      adapter_(adapter),
      finish_(std::move(finish)),
      waiters_(options.recheck) {}

NodeApi::~NodeApi() { Shutdown(); }

void NodeApi::Shutdown() { waiters_.Shutdown(); }

void NodeApi::NotifyWork(const std::string& tenant_id, const std::string& node_id) {
  waiters_.Notify(WaitKey(tenant_id, node_id));
}

// /nodes/{node_id}/ routes: a node token for exactly that node.
bool NodeApi::RequireNodeToken(Call& call) {
  if (!call.token_node_id) {
    finish_(call, MakeErrorResponse(ApiCode::kNodeTokenRequired,
                                    "this route needs a node token (a JWT with a node_id claim)",
                                    call.trace_id));
    return false;
  }
  if (*call.token_node_id != call.node_id) {
    finish_(call,
            MakeErrorResponse(ApiCode::kNodeMismatch,
                              "the token's node_id is not the node in the path", call.trace_id));
    return false;
  }
  if (!IsValidNodeId(call.node_id)) {
    finish_(call, MakeErrorResponse(ApiCode::kInvalidArgument, NodeIdRule(), call.trace_id));
    return false;
  }
  return true;
}

void NodeApi::Heartbeat(const std::shared_ptr<Call>& call) {
  if (!RequireNodeToken(*call)) return;
  auto body = ParseHeartbeat(call->request.body);
  if (!body) return finish_(*call, MakeErrorResponse(body.error(), call->trace_id));
  const SystemTime now = Now();
  storage::NodeHeartbeat hb;
  hb.tenant_id = call->tenant_id;
  hb.node_id = call->node_id;
  hb.sub = call->sub;
  hb.agent_version = body->agent_version;
  hb.executor = body->executor;
  if (body->catalogue) hb.catalogue_json = slurm_adapter::CatalogueJson(*body->catalogue);
  hb.in_flight = body->in_flight;
  hb.now = now;
  store_.RecordHeartbeat(std::move(hb), [this, call, now](const Status& s) {
    if (!s) return finish_(*call, MakeErrorResponse(s.error(), call->trace_id));
    finish_(*call, Json(200, R"({"ok":true,"server_time":")" + FormatRfc3339(now) +
                                 R"(","stale_after_seconds":)" +
                                 std::to_string(options_.stale_after.count()) + "}"));
  });
}

void NodeApi::Acquire(std::shared_ptr<Call> call) {
  if (!RequireNodeToken(*call)) return;
  auto body = ParseAcquire(call->request.body);
  if (!body) return finish_(*call, MakeErrorResponse(body.error(), call->trace_id));
  auto state = std::make_shared<AcquireState>();
  state->call = std::move(call);
  state->body = *body;
  state->deadline = LeaseWaiters::Clock::now() + std::chrono::seconds(body->wait_seconds);
  AcquireAttempt(state, body->wait_seconds == 0);
}

void NodeApi::AcquireAttempt(const std::shared_ptr<AcquireState>& state, bool final) {
  Call& call = *state->call;
  const std::string key = WaitKey(call.tenant_id, call.node_id);
  // Read the counter BEFORE the query: a change after it wakes the park at once.
  const std::uint64_t seen = waiters_.Version(key);
  storage::LeaseRequest req{.tenant_id = call.tenant_id,
                            .node_id = call.node_id,
                            .max_jobs = state->body.max_jobs,
                            .lease = std::chrono::seconds(state->body.lease_seconds),
                            .now = Now()};
  store_.AcquireLeases(
      std::move(req), [this, state, key, seen, final](Result<storage::AcquireResult> r) {
        Call& c = *state->call;
        if (!r) return finish_(c, MakeErrorResponse(r.error(), c.trace_id));
        const bool work = !r->leases.empty() || r->new_cancellations;
        if (work || final || LeaseWaiters::Clock::now() >= state->deadline) {
          for (const storage::Lease& l : r->leases) {
            LogInfo("lease granted", {{"trace_id", c.trace_id},
                                      {"tenant_id", c.tenant_id},
                                      {"node_id", c.node_id},
                                      {"job_id", l.job.job_id},
                                      {"submission_id", l.job.submission_id},
                                      {"lease_id", l.lease_id},
                                      {"lease_expires_at", FormatRfc3339(l.expires_at)}});
          }
          return finish_(c, Json(200, AcquireResponseJson(*r)));
        }
        waiters_.Park(key, seen, state->deadline,
                      [this, state](bool last) { AcquireAttempt(state, last); });
      });
}

void NodeApi::Renew(const std::shared_ptr<Call>& call) {
  if (!RequireNodeToken(*call)) return;
  auto lease = ParseRenew(call->request.body);
  if (!lease) return finish_(*call, MakeErrorResponse(lease.error(), call->trace_id));
  store_.RenewLease(call->tenant_id, call->node_id, call->lease_id, std::chrono::seconds(*lease),
                    Now(), [this, call](Result<SystemTime> r) {
                      if (!r) return finish_(*call, MakeErrorResponse(r.error(), call->trace_id));
                      std::string body = R"({"lease_id":")";
                      AppendJsonEscaped(body, call->lease_id);
                      body += R"(","lease_expires_at":")" + FormatRfc3339(*r) + "\"}";
                      finish_(*call, Json(200, std::move(body)));
                    });
}

void NodeApi::Release(const std::shared_ptr<Call>& call) {
  if (!RequireNodeToken(*call)) return;
  store_.ReleaseLease(call->tenant_id, call->node_id, call->lease_id,
                      [this, call](const Status& s) {
                        if (!s) return finish_(*call, MakeErrorResponse(s.error(), call->trace_id));
                        NotifyWork(call->tenant_id, call->node_id);
                        finish_(*call, Json(200, R"({"ok":true})"));
                      });
}

void NodeApi::Cancel(const std::shared_ptr<Call>& call) {
  if (!IsValidJobId(call->job_id)) {
    return finish_(*call, MakeErrorResponse(NotFound("job not found"), call->trace_id));
  }
  storage::CancelRequest req{.tenant_id = call->tenant_id,
                             .job_id = call->job_id,
                             .node_id = call->token_node_id,
                             .requested_by = call->sub,
                             .trace_id = call->trace_id,
                             .now = Now()};
  store_.RequestCancel(std::move(req), [this, call](Result<storage::CancelOutcome> r) {
    if (!r) return finish_(*call, MakeErrorResponse(r.error(), call->trace_id));
    LogInfo("cancel", {{"trace_id", call->trace_id},
                       {"tenant_id", call->tenant_id},
                       {"job_id", call->job_id},
                       {"state", jobs::ToString(r->state)},
                       {"cancelled_by_gateway", r->cancelled_now ? "true" : "false"},
                       {"already_requested", r->already_requested ? "true" : "false"}});
    std::string body = R"({"job_id":")";
    AppendJsonEscaped(body, call->job_id);
    body +=
        R"(","state":")" + std::string(jobs::ToString(r->state)) + R"(","cancel_requested":true})";
    // A new request for a job past 'submitted' (or leased): wake the node's
    // parked long poll so it hears about it now.
    if (!r->cancelled_now && !r->already_requested) {
      NotifyWork(call->tenant_id, r->management_node_id);
    }
    finish_(*call, Json(202, std::move(body)));
  });
}

void NodeApi::DryRun(const std::shared_ptr<Call>& call) {
  auto body = ParseDryRun(call->request.body);
  if (!body) return finish_(*call, MakeErrorResponse(body.error(), call->trace_id));
  if (call->token_node_id && *call->token_node_id != body->node_id) {
    return finish_(
        *call, MakeErrorResponse(ApiCode::kNodeMismatch,
                                 "the token's node_id is not the body's node_id", call->trace_id));
  }
  auto parsed = std::make_shared<DryRunBody>(std::move(body).value());
  store_.GetNode(
      call->tenant_id, parsed->node_id, [this, call, parsed](Result<storage::NodeRecord> r) {
        std::optional<storage::NodeRecord> existing;
        if (r) {
          existing = std::move(r).value();
        } else if (r.error().code != ErrorCode::kNotFound) {
          return finish_(*call, MakeErrorResponse(r.error(), call->trace_id));
        }
        finish_(*call, Json(200, DryRunReportJson(call->tenant_id, *parsed, existing, adapter_)));
      });
}

}  // namespace rtgw::api
