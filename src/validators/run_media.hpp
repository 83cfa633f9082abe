#ifndef RTGW_VALIDATORS_RUN_MEDIA_HPP_
#define RTGW_VALIDATORS_RUN_MEDIA_HPP_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "storage/validator_run_pruner.hpp"
#include "validators/object_storage.hpp"

// A validator run's media files, and deleting them when the run is pruned
// (docs/contracts/retention.md "Validator runs").
namespace rtgw::validators {

// The objects rtgw addressed for a run, all under the run's prefix
// <storage>/validations/<tenant>/<run_id>/ (validation_service.cpp writes
// them there; the prefix is read off each execution's stored input_uri, so a
// later change of RTGW_VALIDATOR_STORAGE does not matter):
//  - files/<name>: the launch's input files, as each envelope lists them;
//  - <callback_id>/input.json: each execution's envelope (input_uri);
//  - <callback_id>/result.json: the result_uri each envelope gave the
//    validator, whether or not it wrote one;
//  - the result_uri the callback reported, when it lies under the prefix.
// A URI outside the run's prefix (a callback's result_uri elsewhere, a file
// URI an envelope does not own) is never deleted: it is not the run's to
// delete, and a validator cannot make rtgw delete another run's object.
// `envelopes` are the envelopes' texts, one per execution (empty: not found);
// the result lists the envelopes last, so a delete that stops half way still
// has the envelopes that name the rest.
std::vector<std::string> RunMediaUris(const storage::PrunableRun& run,
                                      const std::vector<std::string>& envelopes);

// RunMediaDeleter over the object storage client: reads each execution's
// envelope, then deletes RunMediaUris one by one (a missing object counts as
// deleted). The storage is opened on first use, so a walk that finds no run
// never touches MEDIA_ROOT or Google. Thread-safety: safe for concurrent use.
class ObjectStorageRunMedia final : public storage::RunMediaDeleter {
 public:
  using Open = std::function<Result<std::unique_ptr<ObjectStorage>>()>;
  explicit ObjectStorageRunMedia(Open open) : open_(std::move(open)) {}

  Status DeleteMedia(const storage::PrunableRun& run) override;

 private:
  Result<ObjectStorage*> Storage();

  Open open_;
  std::mutex mu_;
  std::unique_ptr<ObjectStorage> storage_;  // GUARDED_BY(mu_) until set, then read-only
};

}  // namespace rtgw::validators

#endif  // RTGW_VALIDATORS_RUN_MEDIA_HPP_
