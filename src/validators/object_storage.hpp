#ifndef RTGW_VALIDATORS_OBJECT_STORAGE_HPP_
#define RTGW_VALIDATORS_OBJECT_STORAGE_HPP_

#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"

namespace rtgw::validators {

// Where envelopes (input.json + files) and results live, addressed by URI.
// Two backends behind this interface:
//  - file://<abs path> under MEDIA_ROOT: a URI outside the root (after
//    resolving "..", symlinks of existing parents) is refused with
//    PermissionDenied("path_outside_media_root").
//  - gs://<bucket>/<object> through the GCS JSON API: upload
//    POST <endpoint>/upload/storage/v1/b/<bucket>/o?uploadType=media&name=<object>,
//    download GET <endpoint>/storage/v1/b/<bucket>/o/<object>?alt=media,
//    delete DELETE <endpoint>/storage/v1/b/<bucket>/o/<object>, with
//    "Authorization: Bearer <access token>".
// All BLOCK: call from the validation service's or the retention's threads
// only.
// Thread-safety: safe for concurrent use.
class ObjectStorage {
 public:
  virtual ~ObjectStorage() = default;
  virtual Status Put(const std::string& uri, const std::string& bytes,
                     const std::string& content_type) = 0;
  virtual Result<std::string> Get(const std::string& uri) = 0;
  // Removes the object. An object that is not there counts as deleted (Ok):
  // a retried delete of a half-pruned run succeeds. file:// unlinks the path
  // itself (a symlink, not its target), then removes the parent directories
  // that became empty, up to MEDIA_ROOT (Put re-creates them, also when a
  // delete removed one under its feet). gs:// answers 204, or 404 (gone).
  virtual Status Delete(const std::string& uri) = 0;
  // Base URI objects of runs are written under ("file:///abs/media", "gs://b/prefix").
  virtual const std::string& base_uri() const = 0;
};

// file:// storage rooted at `media_root` (created when missing).
Result<std::unique_ptr<ObjectStorage>> MakeFileStorage(const std::string& media_root);

// Returns an OAuth access token for Google APIs (cached by the caller's
// choice of source). Blocking.
using AccessTokenSource = std::function<Result<std::string>()>;

// gs://bucket/prefix storage. `endpoint` is https://storage.googleapis.com in
// production (a local server in tests).
Result<std::unique_ptr<ObjectStorage>> MakeGcsStorage(const std::string& base_uri,
                                                      const std::string& endpoint,
                                                      AccessTokenSource token);

// Access tokens: a fixed token when `static_token` is set, else the GCE/Cloud
// Run metadata server at `metadata_url`
// (GET <metadata_url>/computeMetadata/v1/instance/service-accounts/default/token
// with "Metadata-Flavor: Google"), cached until a minute before expiry.
AccessTokenSource MakeAccessTokenSource(std::string static_token, std::string metadata_url);

// "<base>/<relative>" with exactly one '/'.
std::string JoinUri(const std::string& base, const std::string& relative);

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_OBJECT_STORAGE_HPP_
