#include "api/validator_handlers.hpp"

#include "api/error_mapping.hpp"
#include "api/validator_requests.hpp"
#include "validators/validation_service.hpp"

namespace rtgw::api {
namespace {

// `status` with the run as the API shows it, or the error.
http::Response RunResponse(const Result<storage::ValidatorRun>& run, int status,
                           const std::string& trace_id) {
  if (!run) return MakeErrorResponse(run.error(), trace_id);
  http::Response out;
  out.status = status;
  out.body = validators::RunJson(*run);
  return out;
}

}  // namespace

void ValidatorHandlers::Launch(ValidatorCall call) {
  auto req = ParseLaunchBody(call.request->body);
  if (!req) return call.respond(MakeErrorResponse(req.error(), call.trace_id));
  req->tenant_id = call.tenant_id;
  req->subject = call.subject;
  req->trace_id = call.trace_id;
  service_.Launch(std::move(req).value(), [call](const Result<storage::ValidatorRun>& r) {
    call.respond(RunResponse(r, 202, call.trace_id));
  });
}

void ValidatorHandlers::Get(ValidatorCall call) {
  service_.Get(call.tenant_id, call.path_param, [call](const Result<storage::ValidatorRun>& r) {
    call.respond(RunResponse(r, 200, call.trace_id));
  });
}

void ValidatorHandlers::List(ValidatorCall call) {
  auto req = ParseRunListRequest(call.request->query, call.tenant_id);
  if (!req) return call.respond(MakeErrorResponse(req.error(), call.trace_id));
  service_.List(std::move(req->query),
                [call, hash = std::move(req->filter_hash)](const Result<storage::RunPage>& page) {
                  if (!page) return call.respond(MakeErrorResponse(page.error(), call.trace_id));
                  std::optional<std::string> next;
                  if (page->more && !page->runs.empty()) {
                    next = EncodeRunListCursor(call.tenant_id, hash, page->runs.back());
                  }
                  http::Response out;
                  out.status = 200;
                  out.body = RunListJson(page->runs, next);
                  call.respond(std::move(out));
                });
}

void ValidatorHandlers::Rerun(ValidatorCall call) {
  service_.Rerun(call.tenant_id, call.path_param, call.trace_id,
                 [call](const Result<storage::ValidatorRun>& r) {
                   call.respond(RunResponse(r, 202, call.trace_id));
                 });
}

void ValidatorHandlers::Callback(ValidatorCall call) {
  if (call.bearer_token.empty()) {
    return call.respond(
        MakeErrorResponse(ApiCode::kUnauthenticated, "missing bearer ID token", call.trace_id));
  }
  auto req = ParseCallbackBody(call.request->body);
  if (!req) return call.respond(MakeErrorResponse(req.error(), call.trace_id));
  req->bearer_token = std::move(call.bearer_token);
  req->trace_id = call.trace_id;
  service_.Callback(std::move(req).value(), [call](const Result<std::string>& receipt) {
    if (!receipt) return call.respond(MakeErrorResponse(receipt.error(), call.trace_id));
    http::Response out;
    out.status = 200;
    out.body = *receipt;
    call.respond(std::move(out));
  });
}

}  // namespace rtgw::api
