#include "config/validator_config.hpp"

namespace rtgw::config {

const std::vector<OptionSpec>& ValidatorOptionSpecs() {
  static const std::vector<OptionSpec> kSpecs = {
      {"role", "APP_ROLE", "all",
       "Process role: web (public API), worker (internal endpoints: validator callbacks; runs "
       "the projection relay and the validator poller), or all (both, one process). "
       "A route of the other role answers 404."},
      {"validators-file", "RTGW_VALIDATORS_FILE", "",
       "JSON file listing the validators ({\"validators\":[{name, version, launcher: local|"
       "cloud-run|slurm, command | job | node+queue, timeout_seconds}]}). Empty: no validation "
       "routes."},
      {"media-root", "MEDIA_ROOT", "./media",
       "Root of file:// storage for validator envelopes and results; URIs outside it are "
       "refused."},
      {"validator-storage", "RTGW_VALIDATOR_STORAGE", "file://",
       "Where envelopes are written: file:// (under MEDIA_ROOT) or gs://<bucket>[/<prefix>] "
       "(GCS JSON API)."},
      {"validator-callback-url", "RTGW_VALIDATOR_CALLBACK_URL", "",
       "Exact URL validator jobs call back to (the ID token audience). Default: "
       "http://<listen address>/internal/validations/callback."},
      {"validator-jwks", "RTGW_VALIDATOR_JWKS", "https://www.googleapis.com/oauth2/v3/certs",
       "JWKS (file path or http(s) URL) that signs the ID tokens of cloud-run validator jobs. "
       "Loaded only when a cloud-run validator is configured."},
      {"validator-jwks-min-refetch-seconds", "RTGW_VALIDATOR_JWKS_MIN_REFETCH_SECONDS", "30",
       "A JWKS given as a URL (RTGW_VALIDATOR_JWKS, RTGW_SLURM_VALIDATOR_JWKS) is refetched when "
       "its Cache-Control max-age has passed, or for a token with an unknown kid, but at most "
       "once per this many seconds (1-3600)."},
      {"validator-token-issuer", "RTGW_VALIDATOR_TOKEN_ISSUER", "https://accounts.google.com",
       "Required iss of cloud-run validator ID tokens."},
      {"validator-service-account", "RTGW_VALIDATOR_SERVICE_ACCOUNT", "",
       "Required email claim of cloud-run validator ID tokens (the jobs' service account); "
       "required when a cloud-run validator is configured."},
      {"slurm-validator-jwks", "RTGW_SLURM_VALIDATOR_JWKS", "",
       "JWKS (file path or http(s) URL) of the management-node agents' validator keys: it signs "
       "the callback ID tokens of slurm validator jobs (docs/agent.md). Required when a slurm "
       "validator is configured."},
      {"slurm-validator-token-issuer", "RTGW_SLURM_VALIDATOR_TOKEN_ISSUER", "urn:rtgw:agent",
       "Required iss of slurm validator ID tokens (the agents' --validator-token-issuer)."},
      {"slurm-validator-service-account", "RTGW_SLURM_VALIDATOR_SERVICE_ACCOUNT",
       "validator@rtgw.agent",
       "Required email claim of slurm validator ID tokens (the agents' "
       "--validator-service-account)."},
      {"local-launcher-key", "RTGW_LOCAL_LAUNCHER_KEY", "",
       "PEM RSA private key (>= 2048 bits) the local launcher signs its jobs' ID tokens with. "
       "Empty: a fresh key per process (then only this process accepts their callbacks)."},
      {"local-service-account", "RTGW_LOCAL_SERVICE_ACCOUNT", "validator@rtgw.local",
       "email claim of the local launcher's ID tokens."},
      {"validation-queue-max", "RTGW_VALIDATION_QUEUE_MAX", "1024",
       "Launches, reruns and callbacks waiting for a validation worker; beyond it they get 503 "
       "overloaded with Retry-After (1-1000000)."},
      {"validator-poll-interval-ms", "RTGW_VALIDATOR_POLL_INTERVAL_MS", "1000",
       "How often the worker polls every open validator execution through its launcher: one "
       "that ended without calling back is FAILED within about two intervals, one still running "
       "at its callback deadline is cancelled (10-600000)."},
      {"validator-poll-max-executions", "RTGW_VALIDATOR_POLL_MAX_EXECUTIONS", "64",
       "Validator executions one poll pass looks at, in callback deadline order, each pass going "
       "on where the last one stopped; each open one costs one launcher status call (1-10000)."},
      {"cloud-run-endpoint", "RTGW_CLOUD_RUN_ENDPOINT", "https://run.googleapis.com",
       "Cloud Run Admin API base URL (a local server in tests)."},
  };
  static const std::vector<OptionSpec> kAll = [] {
    std::vector<OptionSpec> all = kSpecs;
    const std::vector<OptionSpec>& google = GoogleStorageOptionSpecs();
    all.insert(all.end(), google.begin(), google.end());
    return all;
  }();
  return kAll;
}

const std::vector<OptionSpec>& GoogleStorageOptionSpecs() {
  static const std::vector<OptionSpec> kSpecs = {
      {"gcs-endpoint", "RTGW_GCS_ENDPOINT", "https://storage.googleapis.com",
       "GCS JSON API base URL (a local server in tests)."},
      {"gcp-metadata-url", "RTGW_GCP_METADATA_URL", "http://metadata.google.internal",
       "Metadata server for Google access tokens."},
      {"gcp-access-token", "RTGW_GCP_ACCESS_TOKEN", "",
       "Fixed Google access token instead of the metadata server (tests, local runs).", false,
       true},
  };
  return kSpecs;
}

Result<ValidatorConfig> BuildValidatorConfig(const OptionValues& v) {
  ValidatorConfig c;
  c.role = v.GetOr("role", "all");
  if (c.role != "all" && c.role != "web" && c.role != "worker") {
    return InvalidArgument(v.Source("role") + ": expected web, worker or all, got '" + c.role +
                           "'");
  }
  c.validators_file = v.GetOr("validators-file", "");
  c.media_root = v.GetOr("media-root", "./media");
  if (c.media_root.empty()) return InvalidArgument(v.Source("media-root") + ": must not be empty");
  c.storage = v.GetOr("validator-storage", "file://");
  if (c.storage != "file://" && c.storage.rfind("gs://", 0) != 0) {
    return InvalidArgument(v.Source("validator-storage") +
                           ": expected file:// or gs://<bucket>[/<prefix>]");
  }
  if (c.storage.rfind("gs://", 0) == 0 && (c.storage.size() <= 5 || c.storage[5] == '/')) {
    return InvalidArgument(v.Source("validator-storage") + ": gs:// needs a bucket");
  }
  c.callback_url = v.GetOr("validator-callback-url", "");
  if (!c.callback_url.empty() && c.callback_url.rfind("http://", 0) != 0 &&
      c.callback_url.rfind("https://", 0) != 0) {
    return InvalidArgument(v.Source("validator-callback-url") + ": must be an http(s) URL");
  }
  c.jwks = v.GetOr("validator-jwks", c.jwks);
  c.token_issuer = v.GetOr("validator-token-issuer", c.token_issuer);
  c.service_account = v.GetOr("validator-service-account", "");
  c.slurm_jwks = v.GetOr("slurm-validator-jwks", "");
  c.slurm_token_issuer = v.GetOr("slurm-validator-token-issuer", c.slurm_token_issuer);
  c.slurm_service_account = v.GetOr("slurm-validator-service-account", c.slurm_service_account);
  c.local_key_file = v.GetOr("local-launcher-key", "");
  c.local_service_account = v.GetOr("local-service-account", c.local_service_account);
  if (Status st = ParseIntOptions(
          v, {{"validator-poll-interval-ms", 10, 600'000, &c.poll_interval},
              {"validator-poll-max-executions", 1, 10'000, &c.poll_max_executions},
              {"validation-queue-max", 1, 1'000'000, &c.queue_max},
              {"validator-jwks-min-refetch-seconds", 1, 3600, &c.jwks_min_refetch}});
      !st.ok()) {
    return st.error();
  }
  c.gcs_endpoint = v.GetOr("gcs-endpoint", c.gcs_endpoint);
  c.cloud_run_endpoint = v.GetOr("cloud-run-endpoint", c.cloud_run_endpoint);
  c.metadata_url = v.GetOr("gcp-metadata-url", c.metadata_url);
  c.gcp_access_token = v.GetOr("gcp-access-token", "");
  return c;
}

}  // namespace rtgw::config
