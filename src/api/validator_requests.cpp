#include "api/validator_requests.hpp"

#include <algorithm>
#include <array>

#include <boost/json.hpp>

#include "api/canonical_json.hpp"
#include "api/list_cursor.hpp"
#include "api/query_params.hpp"
#include "api/schemas.hpp"
#include "common/logging.hpp"
#include "common/text.hpp"
#include "common/time_format.hpp"
#include "crypto/crypto.hpp"
#include "storage/validator_run_store.hpp"

namespace rtgw::api {
namespace json = boost::json;
using validators::CallbackRequest;
using validators::InputFile;
using validators::LaunchRequest;

namespace {

constexpr std::size_t kMaxFindingsBytes = 1 << 20;
constexpr std::size_t kMaxErrorMessageBytes = 4096;

// The first `max_bytes` bytes of `utf8` or fewer, cut before a character, never inside one:
// the message is stored and served in JSON, where half a character is invalid UTF-8. `utf8` is
// valid UTF-8 (Boost.JSON checked it), so backing up over continuation bytes (10xxxxxx) ends at
// the lead byte of the character the cut would split.
std::string Utf8Prefix(std::string_view utf8, std::size_t max_bytes) {
  if (utf8.size() <= max_bytes) return std::string(utf8);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(utf8[cut]) & 0xC0) == 0x80) --cut;
  return std::string(utf8.substr(0, cut));
}

bool ValidFileName(std::string_view s) {
  return schema::Matches(schema::kInputFileName, s) && s.front() != '.';
}

// "1-128 characters of A-Z a-z 0-9 . _ -"
std::string CharsRule(const schema::StringField& field) {
  return "1-" + std::to_string(field.max_chars) + " characters of " + schema::CharsetText(field);
}

Result<json::object> ParseObject(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return InvalidArgument("body is not valid JSON", "invalid_json");
  if (!v.is_object()) return InvalidArgument("body must be a JSON object", "invalid_json");
  return std::move(v.as_object());
}

std::optional<std::string> String(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

constexpr std::string_view kRunListCursorPrefix = "r1.";

// `status=A,B`: each a run status, once each, in storage::kRunStatuses order (so the hash does
// not depend on the spelling).
Result<std::vector<std::string>> RunStatuses(const QueryParams& params) {
  auto text = params.String(schema::kRunFilterStatus);
  if (!text) return text.error();
  std::vector<std::string> asked;
  if (!*text) return asked;
  for (const std::string_view name : SplitCommaList(**text)) {
    if (std::find(storage::kRunStatuses.begin(), storage::kRunStatuses.end(), name) ==
        storage::kRunStatuses.end()) {
      return InvalidArgument("status: '" + std::string(name) +
                             "' is not a run status (PENDING, RUNNING, SUCCEEDED, FAILED, "
                             "CANCELLED)");
    }
    asked.emplace_back(name);
  }
  std::vector<std::string> statuses;
  for (const char* s : storage::kRunStatuses) {
    if (std::find(asked.begin(), asked.end(), s) != asked.end()) statuses.emplace_back(s);
  }
  return statuses;
}

}  // namespace

Result<RunListRequest> ParseRunListRequest(std::string_view query, const std::string& tenant_id) {
  static constexpr std::array<QueryParamSpec, 4> kAllowed = {{
      {schema::kRunFilterStatus.name},
      {schema::kRunFilterValidator.name},
      {schema::kRunListLimit.name},
      {schema::kListCursor.name},
  }};
  auto params = QueryParams::Parse(query, kAllowed);
  if (!params) return params.error();
  RunListRequest out;
  storage::RunListQuery& q = out.query;
  q.tenant_id = tenant_id;
  auto statuses = RunStatuses(*params);
  if (!statuses) return statuses.error();
  q.statuses = std::move(statuses).value();
  auto validator = params->String(schema::kRunFilterValidator);
  if (!validator) return validator.error();
  q.validator = std::move(validator).value();
  auto limit = params->Integer(schema::kRunListLimit);
  if (!limit) return limit.error();
  q.limit = static_cast<int>(limit->value_or(50));
  auto cursor = params->String(schema::kListCursor);
  if (!cursor) return cursor.error();
  std::string statuses_text;
  for (const std::string& s : q.statuses) statuses_text += s + ",";
  out.filter_hash = ListFilterHash(
      {{"status", statuses_text.empty() ? std::nullopt : std::optional<std::string>(statuses_text)},
       {"validator", q.validator}});
  if (*cursor) {
    Result<ListCursor> decoded = DecodeKeysetCursor(kRunListCursorPrefix, **cursor, tenant_id,
                                                    out.filter_hash, /*with_watch_from=*/false);
    if (!decoded) return decoded.error();
    if (!ParseRfc3339(decoded->key.at) || !schema::Matches(schema::kRunId, decoded->key.id)) {
      return MalformedListCursor();
    }
    q.after = storage::RunListQuery::Key{std::move(decoded->key.at), std::move(decoded->key.id)};
  }
  return out;
}

std::string EncodeRunListCursor(const std::string& tenant_id, const std::string& filter_hash,
                                const storage::ValidatorRun& last) {
  return EncodeKeysetCursor(kRunListCursorPrefix, tenant_id, filter_hash,
                            ListCursor{{last.created_at, last.run_id}, std::nullopt});
}

std::string RunListJson(const std::vector<storage::ValidatorRun>& runs,
                        const std::optional<std::string>& next_cursor) {
  std::string out = R"({"runs":[)";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (i > 0) out += ',';
    out += validators::RunJson(runs[i]);
  }
  out += R"(],"next_cursor":)";
  out += next_cursor ? JsonQuoted(*next_cursor) : std::string("null");
  out += '}';
  return out;
}

Result<LaunchRequest> ParseLaunchBody(std::string_view body) {
  auto o = ParseObject(body);
  if (!o) return std::move(o).error();
  LaunchRequest r;
  auto validator = String(*o, "validator");
  if (!validator || !schema::Matches(schema::kValidator, *validator)) {
    return InvalidArgument("validator: a validator name is required");
  }
  r.validator = *validator;
  if (o->contains("version")) {
    auto version = String(*o, "version");
    if (!version || !schema::Matches(schema::kValidatorVersion, *version))
      return InvalidArgument("version: must be a version name");
    r.version = *version;
  }
  auto workspace = String(*o, "workspace_id");
  if (!workspace || !schema::Matches(schema::kValidationWorkspaceId, *workspace) ||
      HasControlChars(*workspace)) {
    return InvalidArgument("workspace_id: a string of 1-" +
                           std::to_string(schema::kValidationWorkspaceId.max_chars) +
                           " characters without control characters is required");
  }
  r.workspace_id = *workspace;
  if (o->contains("idempotency_key")) {
    auto key = String(*o, "idempotency_key");
    if (!key || !schema::Matches(schema::kValidationIdempotencyKey, *key)) {
      return InvalidArgument("idempotency_key: " + CharsRule(schema::kValidationIdempotencyKey));
    }
    r.idempotency_key = *key;
  }
  const json::value* input = o->if_contains("input");
  if (input == nullptr || !input->is_object()) {
    return InvalidArgument("input: an object {document, files?} is required");
  }
  const json::object& in = input->as_object();
  const json::value* document = in.if_contains("document");
  if (document == nullptr) return InvalidArgument("input.document: required (any JSON value)");
  r.document_json = json::serialize(*document);
  if (const json::value* files = in.if_contains("files")) {
    constexpr std::int64_t kMax = schema::kInputFilesMax;
    if (!files->is_array() || static_cast<std::int64_t>(files->as_array().size()) > kMax) {
      return InvalidArgument("input.files: an array of at most " + std::to_string(kMax) + " files");
    }
    std::size_t i = 0;
    for (const json::value& f : files->as_array()) {
      const std::string where = "input.files[" + std::to_string(i++) + "]";
      if (!f.is_object()) return InvalidArgument(where + ": must be an object");
      auto name = String(f.as_object(), "name");
      if (!name || !ValidFileName(*name)) {
        return InvalidArgument(where + ".name: " + CharsRule(schema::kInputFileName) +
                               ", not starting with '.'");
      }
      for (const InputFile& seen : r.files) {
        if (seen.name == *name) return InvalidArgument(where + ".name: duplicate");
      }
      InputFile file{*name, {}};
      if (auto text = String(f.as_object(), "content")) {
        file.bytes = *text;
      } else if (auto b64 = String(f.as_object(), "content_base64")) {
        auto bytes = crypto::Base64Decode(*b64);
        if (!bytes) return InvalidArgument(where + ".content_base64: not valid base64");
        file.bytes = std::move(*bytes);
      } else {
        return InvalidArgument(where + ": content or content_base64 is required");
      }
      r.files.push_back(std::move(file));
    }
  }
  return r;
}

Result<CallbackRequest> ParseCallbackBody(std::string_view body) {
  auto o = ParseObject(body);
  if (!o) return std::move(o).error();
  CallbackRequest r;
  auto run_id = String(*o, "run_id");
  auto callback_id = String(*o, "callback_id");
  auto status = String(*o, "status");
  if (!run_id || !schema::Matches(schema::kRunId, *run_id))
    return InvalidArgument("run_id: required");
  if (!callback_id || !schema::Matches(schema::kCallbackId, *callback_id))
    return InvalidArgument("callback_id: required");
  if (!status || !storage::IsTerminalRunStatus(*status)) {
    return InvalidArgument("status: must be SUCCEEDED, FAILED or CANCELLED");
  }
  r.run_id = *run_id;
  r.callback_id = *callback_id;
  r.status = *status;
  if (auto uri = String(*o, "result_uri")) {
    if (static_cast<std::int64_t>(uri->size()) > schema::kResultUriMaxChars ||
        HasControlChars(*uri) || (uri->rfind("file://", 0) != 0 && uri->rfind("gs://", 0) != 0)) {
      return InvalidArgument("result_uri: a file:// or gs:// URI");
    }
    r.result_uri = *uri;
  } else if (o->contains("result_uri") && !o->at("result_uri").is_null()) {
    return InvalidArgument("result_uri: a file:// or gs:// URI");
  }
  if (r.status == storage::kRunSucceeded && r.result_uri.empty()) {
    return InvalidArgument("result_uri: required when status is SUCCEEDED");
  }
  if (const json::value* f = o->if_contains("findings"); f != nullptr && !f->is_null()) {
    if (!f->is_array()) return InvalidArgument("findings: must be an array");
    r.findings_json = json::serialize(*f);
    if (r.findings_json->size() > kMaxFindingsBytes) {
      return InvalidArgument("findings: at most 1 MiB");
    }
  }
  if (const json::value* e = o->if_contains("error"); e != nullptr && !e->is_null()) {
    std::string message;
    if (e->is_string()) message = std::string(e->as_string());
    if (e->is_object()) message = String(e->as_object(), "message").value_or("");
    r.error_message = Utf8Prefix(message, kMaxErrorMessageBytes);
  }
  return r;
}

}  // namespace rtgw::api
