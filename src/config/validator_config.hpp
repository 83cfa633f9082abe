#ifndef RTGW_CONFIG_VALIDATOR_CONFIG_HPP_
#define RTGW_CONFIG_VALIDATOR_CONFIG_HPP_

#include <chrono>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/options.hpp"

namespace rtgw::config {

// Process role and validator-run settings of `rtgw serve`
// (docs/contracts/validator-callback.md).
struct ValidatorConfig {
  std::string role = "all";  // web | worker | all
  bool serve_public() const { return role != "worker"; }
  bool serve_internal() const { return role != "web"; }

  std::string validators_file;  // empty: no validators
  std::string media_root = "./media";
  std::string storage = "file://";  // file:// (under media_root) or gs://bucket[/prefix]
  std::string callback_url;         // empty: http://<listen>/internal/validations/callback
  std::string jwks = "https://www.googleapis.com/oauth2/v3/certs";  // file path or URL
  std::string token_issuer = "https://accounts.google.com";
  std::chrono::seconds jwks_min_refetch{30};  // rate limit of JWKS URL refetches
  std::string service_account;                // cloud-run jobs' service-account email
  std::string slurm_jwks;  // agents' JWKS (file or URL); required with a slurm validator
  std::string slurm_token_issuer = "urn:rtgw:agent";
  std::string slurm_service_account = "validator@rtgw.agent";
  std::string local_key_file;  // PEM; empty: a fresh key per process
  std::string local_service_account = "validator@rtgw.local";
  std::chrono::milliseconds poll_interval{1'000};  // launcher status poll of open executions
  int poll_max_executions = 64;                    // executions one poll pass looks at
  std::size_t queue_max = 1'024;  // validation tasks waiting for a worker; beyond: 503
  std::string gcs_endpoint = "https://storage.googleapis.com";
  std::string cloud_run_endpoint = "https://run.googleapis.com";
  std::string metadata_url = "http://metadata.google.internal";
  std::string gcp_access_token;  // fixed token instead of the metadata server
};

const std::vector<OptionSpec>& ValidatorOptionSpecs();
// The Google API flags (GCS endpoint, metadata server, fixed token) that every
// command reaching Google Cloud Storage takes: part of ValidatorOptionSpecs,
// and of `rtgw store prune` for a gs:// archive.
const std::vector<OptionSpec>& GoogleStorageOptionSpecs();

// kInvalidArgument naming the flag/env key.
Result<ValidatorConfig> BuildValidatorConfig(const OptionValues& values);

}  // namespace rtgw::config

#endif  // RTGW_CONFIG_VALIDATOR_CONFIG_HPP_
