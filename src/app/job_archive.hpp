#ifndef RTGW_APP_JOB_ARCHIVE_HPP_
#define RTGW_APP_JOB_ARCHIVE_HPP_

#include <memory>
#include <string>

#include "common/error.hpp"
#include "storage/job_pruner.hpp"
#include "storage/validator_run_pruner.hpp"

// The archive pruned jobs and validator runs are written to before they are
// deleted (docs/contracts/retention.md "Archive"). JSON Lines, one job or run
// per line, told apart by the first key:
//   {"job": <the object GET /api/runtime/jobs/{job_id} answered>,
//    "events": <the "events" array GET /api/runtime/jobs/{job_id}/detail answered>}
//   {"validator_run": <the object GET /api/runtime/validations/{run_id} answered>,
//    "executions": [<every execution, attempt order>]}
// Destinations:
//  - file:///abs/dir: one new file per run, <dir>/rtgw-archive-<UTC time>-<n>.jsonl
//    (n from 1, the first name not taken), created with O_EXCL, each batch
//    appended and fsynced (the directory too, once, after the create) before
//    Put returns.
//  - gs://bucket/prefix: one object per batch (objects cannot be appended to),
//    <prefix>/rtgw-archive-<UTC time of the run>-<batch n>.jsonl, uploaded
//    through the object storage client (validators/object_storage.hpp); Put
//    returns once the upload was answered 2xx.
namespace rtgw::app {

struct ArchiveOptions {
  std::string uri;  // file:///abs/dir or gs://bucket[/prefix]
  // gs:// only (the flags of the validator storage, same names).
  std::string gcs_endpoint = "https://storage.googleapis.com";
  std::string gcp_access_token;  // fixed token; empty: the metadata server
  std::string metadata_url = "http://metadata.google.internal";
};

// One archive, both kinds of lines: a job walk and the validator-run walk of
// one prune write to the same file (file://) or object series (gs://).
class Archive : public storage::JobArchiver, public storage::ValidatorRunArchiver {};

// InvalidArgument naming the accepted forms for any other URI, or a file://
// directory that does not exist.
Result<std::unique_ptr<Archive>> OpenJobArchive(const ArchiveOptions& options);

// One archive line (without the newline) for a job and its events.
std::string ArchiveLine(const storage::JobDetail& detail);
// One archive line (without the newline) for a validator run.
std::string RunArchiveLine(const storage::PrunableRun& run);

}  // namespace rtgw::app

#endif  // RTGW_APP_JOB_ARCHIVE_HPP_
