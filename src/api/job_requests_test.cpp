#include "api/job_requests.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/canonical_json.hpp"

namespace rtgw::api {
namespace {

namespace json = boost::json;

json::object GoodSubmit() {
  return json::parse(R"({
    "tenant_id": "t1", "workspace_id": "t1", "job_id": "job-gate-001",
    "idempotency_key": "submit-job-gate-001", "management_node_id": "mgmt-node-1",
    "execution_profile": {"queue_name": "default"},
    "resource_shape": {"cpu": 1, "memory_mib": 2048, "walltime_seconds": 3600},
    "payload_ref": {"input_uri": "inline://gate/job-gate-001"},
    "requested_by": {"user_id": "u1"}})")
      .as_object();
}

Result<storage::SubmitRecord> Submit(const json::value& body, std::string_view tenant = "t1") {
  return ParseSubmitRequest(json::serialize(body), {tenant, "sub-1", "2026-01-01T00:00:00Z", "tr"});
}

// Sets `path` (dot-separated) in a copy of the good body to `value`, or erases it.
json::object With(const std::string& path, const json::value* value) {
  json::object body = GoodSubmit();
  json::object* obj = &body;
  std::string rest = path;
  for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
    obj = &(*obj)[rest.substr(0, dot)].as_object();
    rest = rest.substr(dot + 1);
  }
  if (value == nullptr) {
    obj->erase(rest);
  } else {
    (*obj)[rest] = *value;
  }
  return body;
}

TEST(SubmitRequestTest, AcceptsTheRunbookBody) {
  auto r = Submit(GoodSubmit());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->job_id, "job-gate-001");
  EXPECT_EQ(
      r->spec_json,
      R"({"execution_profile":{"queue_name":"default"},"payload_ref":{"input_uri":"inline://gate/job-gate-001"},"requested_by":{"user_id":"u1"},"resource_shape":{"cpu":1,"memory_mib":2048,"walltime_seconds":3600}})");
  EXPECT_EQ(
      r->response_json,
      R"({"job_id":"job-gate-001","submission_id":"sub-1","accepted_at":"2026-01-01T00:00:00Z","trace_id":"tr"})");
}

// The submit's canonical texts are written by hand (job_requests.cpp): they
// must stay the bytes CanonicalJson gives for the same objects, or the
// fingerprints stored before would no longer match a replay.
TEST(SubmitRequestTest, CanonicalTextIsCanonicalJson) {
  json::object body = GoodSubmit();
  body["workspace_id"] = "w\u00e9\"\\/\u2028";
  body["idempotency_key"] = "key \"quoted\"";
  body["requested_by"].as_object()["user_id"] = "\u00fcser \\";
  body["resource_shape"].as_object()["memory_mib"] = 65536;
  auto r = Submit(body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  json::object spec;
  spec["execution_profile"] = body["execution_profile"];
  spec["resource_shape"] = body["resource_shape"];
  spec["payload_ref"] = body["payload_ref"];
  spec["requested_by"] = body["requested_by"];
  EXPECT_EQ(r->spec_json, CanonicalJson(spec));
  json::object canonical = spec;
  for (const char* key :
       {"tenant_id", "workspace_id", "job_id", "idempotency_key", "management_node_id"}) {
    canonical[key] = body[key];
  }
  EXPECT_EQ(r->request_fingerprint, Fingerprint(canonical));
  json::object response{{"job_id", r->job_id},
                        {"submission_id", "sub-1"},
                        {"accepted_at", "2026-01-01T00:00:00Z"},
                        {"trace_id", "tr"}};
  EXPECT_EQ(r->response_json, json::serialize(response));
}

TEST(SubmitRequestTest, FingerprintIgnoresKeyOrderUnknownFieldsAndIntegralDoubles) {
  auto a = Submit(GoodSubmit());
  json::object reordered;
  auto good = GoodSubmit();
  for (auto it = good.end(); it != good.begin();) {
    --it;
    reordered[it->key()] = it->value();
  }
  reordered["unknown_extra"] = "ignored";
  reordered["resource_shape"].as_object()["cpu"] = 1.0;
  auto b = Submit(reordered);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->request_fingerprint, b->request_fingerprint);
  json::value two = 2;
  auto c = Submit(With("resource_shape.cpu", &two));
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->request_fingerprint, c->request_fingerprint);
}

TEST(SubmitRequestTest, RejectsBadFieldsNamingThePath) {
  const json::value kStr = "x", kInt = 5, kZero = 0, kHuge = 100000, kFrac = 1.5, kNeg = -1;
  const json::value kEmpty = "", kBadId = "job/1", kNoScheme = "no-scheme", kObj = json::object{};
  const json::value kLong(std::string(300, 'a')), kCtl = "a\nb", kColon = "job:cancel";
  struct Case {
    std::string path;
    const json::value* value;  // nullptr: erase
    std::string expect_in_message;
  };
  const Case cases[] = {
      {"workspace_id", nullptr, "workspace_id: is required"},
      {"workspace_id", &kInt, "workspace_id: must be a string"},
      {"workspace_id", &kEmpty, "workspace_id: must not be empty"},
      {"workspace_id", &kLong, "workspace_id: must be at most 256"},
      {"workspace_id", &kCtl, "workspace_id: must not contain control"},
      {"job_id", &kBadId, "job_id: must be 1-128"},
      {"job_id", &kColon, "job_id: must be 1-128"},
      {"idempotency_key", nullptr, "idempotency_key: is required"},
      {"management_node_id", &kObj, "management_node_id: must be a string"},
      {"execution_profile", &kStr, "execution_profile: must be an object"},
      {"execution_profile.queue_name", nullptr, "execution_profile.queue_name: is required"},
      {"resource_shape.cpu", &kZero, "resource_shape.cpu: must be an integer from 1 to 1024"},
      {"resource_shape.cpu", &kFrac, "resource_shape.cpu: must be an integer"},
      {"resource_shape.cpu", &kStr, "resource_shape.cpu: must be an integer"},
      {"resource_shape.memory_mib", &kNeg, "resource_shape.memory_mib"},
      {"resource_shape.walltime_seconds", nullptr, "resource_shape.walltime_seconds: is required"},
      {"resource_shape.cpu", &kHuge, "resource_shape.cpu"},
      {"payload_ref.input_uri", &kNoScheme, "payload_ref.input_uri: must be a URI"},
      {"requested_by", nullptr, "requested_by: is required"},
      {"requested_by.user_id", &kInt, "requested_by.user_id: must be a string"},
      {"tenant_id", nullptr, "tenant_id: is required"},
  };
  for (const Case& c : cases) {
    auto r = Submit(With(c.path, c.value));
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.path;
    EXPECT_NE(r.error().message.find(c.expect_in_message), std::string::npos)
        << c.path << " -> " << r.error().message;
  }
}

TEST(SubmitRequestTest, RejectsNonObjectsAndBadJson) {
  for (const char* body : {"", "[]", "42", "{", "{\"a\":}", "null"}) {
    auto r = ParseSubmitRequest(body, {"t1", "s", "now", "tr"});
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << body;
  }
  EXPECT_EQ(ParseSubmitRequest("{", {"t1", "s", "now", "tr"}).error().api_code, "invalid_json");
}

TEST(SubmitRequestTest, OtherTenantIsForbidden) {
  auto r = Submit(GoodSubmit(), "t2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().api_code, "tenant_mismatch");
}

std::string GoodEvent() {
  return R"({"event_id": "evt-1", "tenant_id": "t1", "workspace_id": "t1", "job_id": "j1",
             "submission_id": "s1", "execution_id": "aiida-1", "state": "completed",
             "occurred_at": "2026-02-18T00:00:00Z", "trace_id": "tr-1",
             "result_ref": {"output_uri": "s3://out/x"},
             "error": {"code": "X", "message": "m", "exit_code": 3, "signal": 9}})";
}

TEST(EventRequestTest, AcceptsFullEvent) {
  auto r = ParseEventRequest(GoodEvent(), {"t1", "j1", "2026-02-18T00:00:01Z"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->state, jobs::JobState::kCompleted);
  EXPECT_EQ(*r->result_ref_json, R"({"output_uri":"s3://out/x"})");
  EXPECT_EQ(*r->error_json, R"({"code":"X","exit_code":3,"message":"m","signal":9})");
  EXPECT_EQ(r->fingerprint.size(), 64u);
}

// The event's canonical text is written by hand (job_requests.cpp): it must
// stay the bytes CanonicalJson gives for the same object, or the fingerprints
// stored before would no longer match a replay.
TEST(EventRequestTest, CanonicalTextIsCanonicalJson) {
  json::object full = json::parse(GoodEvent()).as_object();
  full["trace_id"] = "tr \u00e9\"\\/";
  full["execution_id"] = "aiida-\u2028";
  json::object no_refs = full;
  no_refs.erase("result_ref");
  no_refs.erase("error");
  no_refs["state"] = "running";
  json::object only_error = full;
  only_error.erase("result_ref");
  only_error["state"] = "failed";
  for (const json::object& body : {full, no_refs, only_error}) {
    auto r = ParseEventRequest(json::serialize(body), {"t1", "j1", "2026-02-18T00:00:01Z"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    json::object canonical;
    for (const char* key : {"tenant_id", "job_id", "event_id", "workspace_id", "submission_id",
                            "execution_id", "state", "trace_id"}) {
      canonical[key] = body.at(key);
    }
    canonical["occurred_at"] = "2026-02-18T00:00:00.000000Z";  // stored as UTC, microseconds
    if (r->result_ref_json) canonical["result_ref"] = json::parse(*r->result_ref_json);
    if (r->error_json) canonical["error"] = json::parse(*r->error_json);
    EXPECT_EQ(r->fingerprint, Fingerprint(canonical)) << json::serialize(body);
  }
}

TEST(EventRequestTest, RejectsBadEvents) {
  struct Case {
    std::string from, to;
    ErrorCode code;
    std::string in_message;
  };
  const Case cases[] = {
      {R"("state": "completed")", R"("state": "submitted")", ErrorCode::kInvalidArgument, "state"},
      {R"("state": "completed")", R"("state": "done")", ErrorCode::kInvalidArgument, "state"},
      {R"("2026-02-18T00:00:00Z")", R"("yesterday")", ErrorCode::kInvalidArgument, "occurred_at"},
      {R"("job_id": "j1")", R"("job_id": "j2")", ErrorCode::kInvalidArgument, "job_id"},
      {R"("tenant_id": "t1")", R"("tenant_id": "t2")", ErrorCode::kPermissionDenied, "tenant"},
      {R"("s3://out/x")", R"("nope")", ErrorCode::kInvalidArgument, "result_ref.output_uri"},
      {R"("exit_code": 3)", R"("exit_code": "3")", ErrorCode::kInvalidArgument, "error.exit_code"},
      {R"("signal": 9)", R"("signal": 300)", ErrorCode::kInvalidArgument, "error.signal"},
      {R"("event_id": "evt-1", )", "", ErrorCode::kInvalidArgument, "event_id: is required"},
  };
  for (const Case& c : cases) {
    std::string body = GoodEvent();
    auto pos = body.find(c.from);
    ASSERT_NE(pos, std::string::npos) << c.from;
    body.replace(pos, c.from.size(), c.to);
    auto r = ParseEventRequest(body, {"t1", "j1", "now"});
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, c.code) << body;
    EXPECT_NE(r.error().message.find(c.in_message), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace rtgw::api
