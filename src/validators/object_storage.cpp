#include "validators/object_storage.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <system_error>

#include <boost/json.hpp>

#include "common/read_file.hpp"
#include "net/curl_http_client.hpp"

namespace rtgw::validators {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kTimeout{30'000};

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

class FileStorage final : public ObjectStorage {
 public:
  explicit FileStorage(fs::path root) : root_(std::move(root)), base_("file://" + root_.string()) {}

  Status Put(const std::string& uri, const std::string& bytes, const std::string&) override {
    auto path = Resolve(uri);
    if (!path) return path.error();
    // Write to a temp file, then rename: a reader never sees half an object.
    const fs::path tmp = path->string() + ".tmp";
    // A Delete may remove a directory that became empty between creating it
    // and opening the temp file in it: create it again (the temp file then
    // keeps it non-empty until the rename).
    for (int attempt = 1;; ++attempt) {
      std::error_code ec;
      fs::create_directories(path->parent_path(), ec);
      if (ec)
        return Unavailable("cannot create " + path->parent_path().string() + ": " + ec.message());
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out.is_open() && attempt < 3 && !fs::exists(path->parent_path(), ec)) continue;
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out.flush();
      if (!out) return Unavailable("cannot write " + tmp.string());
      break;
    }
    std::error_code ec;
    fs::rename(tmp, *path, ec);
    if (ec) return Unavailable("cannot rename to " + path->string() + ": " + ec.message());
    return Ok{};
  }

  Result<std::string> Get(const std::string& uri) override {
    auto path = Resolve(uri);
    if (!path) return path.error();
    std::optional<std::string> text = ReadFileText(*path);
    if (!text) return NotFound("object not found: " + uri);
    return std::move(*text);
  }

  Status Delete(const std::string& uri) override {
    auto path = ResolveEntry(uri);
    if (!path) return path.error();
    if (::unlink(path->c_str()) != 0 && errno != ENOENT) {
      return Unavailable("cannot delete " + path->string() + ": " +
                         std::generic_category().message(errno));
    }
    // Directories do not exist in object storage: drop the ones this left
    // empty, up to the root. rmdir refuses a non-empty one, which ends it.
    for (fs::path dir = path->parent_path(); dir != root_ && Under(dir); dir = dir.parent_path()) {
      if (::rmdir(dir.c_str()) != 0) break;
    }
    return Ok{};
  }

  const std::string& base_uri() const override { return base_; }

  // file:///abs/path -> the path, if it stays under the root.
  Result<fs::path> Resolve(const std::string& uri) const {
    if (!StartsWith(uri, "file://")) return InvalidArgument("not a file:// URI: " + uri);
    const std::string raw = uri.substr(7);
    if (raw.empty() || raw.front() != '/') return InvalidArgument("file:// URI must be absolute");
    if (raw.find('\0') != std::string::npos) return InvalidArgument("bad file:// URI");
    // weakly_canonical resolves ".." and the symlinks of the existing prefix.
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::path(raw), ec);
    if (ec) return InvalidArgument("bad file:// URI: " + ec.message());
    auto rel = p.lexically_relative(root_);
    if (rel.empty() || *rel.begin() == ".." || rel.is_absolute()) {
      return PermissionDenied("path is outside MEDIA_ROOT", "path_outside_media_root");
    }
    return p;
  }

  // As Resolve, but the last component is not followed: the entry itself (a
  // symlink under the root names the link, not what it points to).
  Result<fs::path> ResolveEntry(const std::string& uri) const {
    auto parent = Resolve(uri.substr(0, uri.find_last_of('/')));
    if (!parent) return parent.error();
    const std::string name = uri.substr(uri.find_last_of('/') + 1);
    if (name.empty() || name == "." || name == "..") {
      return InvalidArgument("file:// URI does not name an object: " + uri);
    }
    return *parent / name;
  }

  // `dir` lies strictly under the root.
  bool Under(const fs::path& dir) const {
    auto rel = dir.lexically_relative(root_);
    return !rel.empty() && *rel.begin() != ".." && *rel.begin() != "." && !rel.is_absolute();
  }

 private:
  fs::path root_;
  std::string base_;
};

class GcsStorage final : public ObjectStorage {
 public:
  GcsStorage(std::string base, std::string endpoint, AccessTokenSource token)
      : base_(std::move(base)), endpoint_(std::move(endpoint)), token_(std::move(token)) {}

  Status Put(const std::string& uri, const std::string& bytes,
             const std::string& content_type) override {
    auto parts = Split(uri);
    if (!parts) return parts.error();
    auto token = token_();
    if (!token) return token.error();
    net::HttpResponse r = http_.Send(
        {.method = "POST",
         .url = endpoint_ + "/upload/storage/v1/b/" + net::UrlEncode(parts->first) +
                "/o?uploadType=media&name=" + net::UrlEncode(parts->second),
         .headers = {{"Authorization", "Bearer " + *token}, {"Content-Type", content_type}},
         .body = bytes,
         .timeout = kTimeout});
    if (r.status / 100 != 2) return Failure("upload", uri, r);
    return Ok{};
  }

  Result<std::string> Get(const std::string& uri) override {
    auto parts = Split(uri);
    if (!parts) return parts.error();
    auto token = token_();
    if (!token) return token.error();
    net::HttpResponse r =
        http_.Send({.url = endpoint_ + "/storage/v1/b/" + net::UrlEncode(parts->first) + "/o/" +
                           net::UrlEncode(parts->second) + "?alt=media",
                    .headers = {{"Authorization", "Bearer " + *token}},
                    .timeout = kTimeout});
    if (r.status == 404) return NotFound("object not found: " + uri);
    if (r.status / 100 != 2) return Failure("download", uri, r);
    return std::move(r.body);
  }

  Status Delete(const std::string& uri) override {
    auto parts = Split(uri);
    if (!parts) return parts.error();
    auto token = token_();
    if (!token) return token.error();
    net::HttpResponse r =
        http_.Send({.method = "DELETE",
                    .url = endpoint_ + "/storage/v1/b/" + net::UrlEncode(parts->first) + "/o/" +
                           net::UrlEncode(parts->second),
                    .headers = {{"Authorization", "Bearer " + *token}},
                    .timeout = kTimeout});
    if (r.status == 404) return Ok{};  // already gone: what the caller wanted
    if (r.status / 100 != 2) return Failure("delete", uri, r);
    return Ok{};
  }

  const std::string& base_uri() const override { return base_; }

 private:
  static Result<std::pair<std::string, std::string>> Split(const std::string& uri) {
    if (!StartsWith(uri, "gs://")) return InvalidArgument("not a gs:// URI: " + uri);
    const auto slash = uri.find('/', 5);
    if (slash == std::string::npos || slash == 5 || slash + 1 == uri.size()) {
      return InvalidArgument("gs:// URI needs a bucket and an object: " + uri);
    }
    return std::make_pair(uri.substr(5, slash - 5), uri.substr(slash + 1));
  }
  static Error Failure(const char* what, const std::string& uri, const net::HttpResponse& r) {
    return Unavailable(std::string("GCS ") + what + " of " + uri + " failed: " +
                       (r.status == 0 ? r.error : "HTTP " + std::to_string(r.status)));
  }

  std::string base_;
  std::string endpoint_;
  AccessTokenSource token_;
  net::CurlHttpClient http_;
};

}  // namespace

Result<std::unique_ptr<ObjectStorage>> MakeFileStorage(const std::string& media_root) {
  std::error_code ec;
  fs::create_directories(media_root, ec);
  if (ec) return InvalidArgument("MEDIA_ROOT " + media_root + ": " + ec.message());
  fs::path root = fs::canonical(media_root, ec);
  if (ec) return InvalidArgument("MEDIA_ROOT " + media_root + ": " + ec.message());
  return std::unique_ptr<ObjectStorage>(new FileStorage(root));
}

Result<std::unique_ptr<ObjectStorage>> MakeGcsStorage(const std::string& base_uri,
                                                      const std::string& endpoint,
                                                      AccessTokenSource token) {
  if (!StartsWith(base_uri, "gs://") || base_uri.size() <= 5 || base_uri[5] == '/') {
    return InvalidArgument("expected gs://<bucket>[/<prefix>], got '" + base_uri + "'");
  }
  std::string base = base_uri;
  while (base.size() > 5 && base.back() == '/') base.pop_back();
  return std::unique_ptr<ObjectStorage>(new GcsStorage(base, endpoint, std::move(token)));
}

AccessTokenSource MakeAccessTokenSource(std::string static_token, std::string metadata_url) {
  if (!static_token.empty()) {
    return [t = std::move(static_token)]() -> Result<std::string> { return t; };
  }
  struct Cache {
    std::mutex mu;
    std::string token;
    std::chrono::steady_clock::time_point expires;
    net::CurlHttpClient http;
  };
  auto cache = std::make_shared<Cache>();
  return [cache, url = std::move(metadata_url)]() -> Result<std::string> {
    std::lock_guard lock(cache->mu);
    const auto now = std::chrono::steady_clock::now();
    if (!cache->token.empty() && now < cache->expires) return cache->token;
    net::HttpResponse r = cache->http.Send(
        {.url = url + "/computeMetadata/v1/instance/service-accounts/default/token",
         .headers = {{"Metadata-Flavor", "Google"}},
         .timeout = std::chrono::milliseconds(5'000)});
    if (r.status != 200) {
      return Unavailable("metadata server token: " +
                         (r.status == 0 ? r.error : "HTTP " + std::to_string(r.status)));
    }
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("access_token") ||
        !v.at("access_token").is_string()) {
      return Unavailable("metadata server token: unexpected answer");
    }
    std::int64_t ttl = 300;
    if (const json::value* e = v.as_object().if_contains("expires_in"); e && e->is_int64()) {
      ttl = e->as_int64();
    }
    cache->token = std::string(v.at("access_token").as_string());
    cache->expires = now + std::chrono::seconds(std::max<std::int64_t>(ttl - 60, 0));
    return cache->token;
  };
}

std::string JoinUri(const std::string& base, const std::string& relative) {
  std::string out = base;
  while (!out.empty() && out.back() == '/') out.pop_back();
  std::string_view rel = relative;
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  out += '/';
  out += rel;
  return out;
}

}  // namespace rtgw::validators
