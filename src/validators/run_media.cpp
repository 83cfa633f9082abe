#include "validators/run_media.hpp"

#include <set>
#include <string_view>
#include <utility>

#include <boost/json.hpp>

namespace rtgw::validators {
namespace json = boost::json;

namespace {

constexpr std::string_view kEnvelopeName = "input.json";

// "<prefix>" of an execution's input_uri "<prefix><callback_id>/input.json",
// where the prefix ends in "/<run_id>/"; empty when the URI has another shape.
std::string RunPrefix(const storage::ValidatorExecution& e, const std::string& run_id) {
  const std::string tail = "/" + e.callback_id + "/" + std::string(kEnvelopeName);
  const std::string& uri = e.input_uri;
  if (e.callback_id.empty() || uri.size() <= tail.size() ||
      uri.compare(uri.size() - tail.size(), tail.size(), tail) != 0) {
    return "";
  }
  std::string prefix = uri.substr(0, uri.size() - tail.size() + 1);
  const std::string run_dir = "/" + run_id + "/";
  if (prefix.size() <= run_dir.size() ||
      prefix.compare(prefix.size() - run_dir.size(), run_dir.size(), run_dir) != 0) {
    return "";
  }
  return prefix;
}

bool Under(const std::string& uri, const std::string& prefix) {
  return !prefix.empty() && uri.size() > prefix.size() &&
         uri.compare(0, prefix.size(), prefix) == 0 &&
         uri.find("/../", prefix.size() - 1) == std::string::npos;
}

}  // namespace

std::vector<std::string> RunMediaUris(const storage::PrunableRun& run,
                                      const std::vector<std::string>& envelopes) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& uri, const std::string& prefix) {
    if (Under(uri, prefix) && seen.insert(uri).second) out.push_back(uri);
  };
  std::vector<std::string> envelope_uris;
  for (std::size_t i = 0; i < run.executions.size(); ++i) {
    const storage::ValidatorExecution& e = run.executions[i];
    const std::string prefix = RunPrefix(e, run.run.run_id);
    if (prefix.empty()) {
      // Not rtgw's layout: the envelope is still the execution's own object.
      if (!e.input_uri.empty()) envelope_uris.push_back(e.input_uri);
      continue;
    }
    if (i < envelopes.size() && !envelopes[i].empty()) {
      boost::system::error_code ec;
      json::value env = json::parse(envelopes[i], ec);
      if (!ec && env.is_object()) {
        if (const json::value* files = env.as_object().if_contains("files");
            files != nullptr && files->is_array()) {
          for (const json::value& f : files->as_array()) {
            const json::value* uri = f.is_object() ? f.as_object().if_contains("uri") : nullptr;
            if (uri != nullptr && uri->is_string()) add(std::string(uri->as_string()), prefix);
          }
        }
        if (const json::value* r = env.as_object().if_contains("result_uri");
            r != nullptr && r->is_string()) {
          add(std::string(r->as_string()), prefix);
        }
      }
    }
    add(prefix + e.callback_id + "/result.json", prefix);
    if (!e.result_uri.empty()) add(e.result_uri, prefix);
    envelope_uris.push_back(e.input_uri);
  }
  for (std::string& uri : envelope_uris) {
    if (seen.insert(uri).second) out.push_back(std::move(uri));
  }
  return out;
}

Result<ObjectStorage*> ObjectStorageRunMedia::Storage() {
  std::lock_guard lock(mu_);
  if (!storage_) {
    Result<std::unique_ptr<ObjectStorage>> opened = open_();
    if (!opened) return std::move(opened).error();
    storage_ = std::move(opened).value();
  }
  return storage_.get();
}

Status ObjectStorageRunMedia::DeleteMedia(const storage::PrunableRun& run) {
  Result<ObjectStorage*> storage = Storage();
  if (!storage) return std::move(storage).error();
  std::vector<std::string> envelopes;
  envelopes.reserve(run.executions.size());
  for (const storage::ValidatorExecution& e : run.executions) {
    Result<std::string> text = (*storage)->Get(e.input_uri);
    if (!text && text.error().code != ErrorCode::kNotFound) {
      return Unavailable("reading " + e.input_uri + ": " + text.error().message);
    }
    envelopes.push_back(text ? std::move(text).value() : std::string());
  }
  for (const std::string& uri : RunMediaUris(run, envelopes)) {
    if (Status s = (*storage)->Delete(uri); !s) {
      return Unavailable("deleting " + uri + ": " + s.error().message);
    }
  }
  return Ok{};
}

}  // namespace rtgw::validators
