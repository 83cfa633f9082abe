#include "app/validator_wiring.hpp"

#include "api/error_mapping.hpp"
#include "api/validator_handlers.hpp"
#include "auth/jws_signer.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"
#include "common/read_file.hpp"
#include "validators/callback_token.hpp"
#include "validators/cloud_run_launcher.hpp"
#include "validators/jwks_source.hpp"
#include "validators/local_launcher.hpp"
#include "validators/object_storage.hpp"
#include "validators/registry.hpp"
#include "validators/run_media.hpp"
#include "validators/slurm_launcher.hpp"
#include "validators/validation_service.hpp"

namespace rtgw::app {
namespace {

// What signs a launcher's tokens: a JWKS file (fixed keys), or an http(s) URL
// fetched now and kept fresh (jwks_source.hpp). `key` names the setting in errors.
Result<validators::TrustedCaller> LoadTrust(const std::string& where, const std::string& key,
                                            std::string issuer, std::string service_account,
                                            std::chrono::seconds min_refetch) {
  validators::TrustedCaller caller;
  caller.issuer = std::move(issuer);
  caller.service_account = std::move(service_account);
  if (where.rfind("http://", 0) == 0 || where.rfind("https://", 0) == 0) {
    validators::JwksSource::Options options;
    options.min_refetch = min_refetch;
    auto source = std::make_shared<validators::JwksSource>(where, options);
    if (auto s = source->Load(); !s) return InvalidArgument(key + ": " + s.error().message);
    caller.jwks_source = std::move(source);
    return caller;
  }
  auto r = ReadFileText(where);
  if (!r) return InvalidArgument(key + ": cannot read " + where);
  caller.jwks_json = std::move(*r);
  return caller;
}

class Stack final : public ValidatorStack {
 public:
  explicit Stack(config::ValidatorConfig cfg) : cfg_(std::move(cfg)) {}
  Status Start(storage::JobStore& store, storage::NodeStore& nodes,
               storage::ValidatorRunStore& runs, const std::string& default_callback_url) override;
  api::ValidatorEndpoints* endpoints() override { return endpoints_.get(); }
  void Stop() override {
    if (service_) service_->Stop();
  }
  ~Stack() override { Stop(); }

  config::ValidatorConfig cfg_;
  std::vector<validators::ValidatorSpec> specs_;
  bool any_slurm_ = false;
  validators::AccessTokenSource token_;
  std::unique_ptr<validators::ObjectStorage> storage_;
  std::unique_ptr<validators::LocalLauncher> local_;
  std::unique_ptr<validators::CloudRunLauncher> cloud_run_;
  std::unique_ptr<validators::SlurmLauncher> slurm_;
  std::map<std::string, validators::Launcher*> launchers_;
  validators::CallbackTokenVerifier verifier_;
  std::unique_ptr<validators::ValidationService> service_;
  std::unique_ptr<api::ValidatorHandlers> endpoints_;
};

Status Stack::Start(storage::JobStore& store, storage::NodeStore& nodes,
                    storage::ValidatorRunStore& runs, const std::string& default_callback_url) {
  auto opened = OpenValidatorStorage(cfg_, token_);
  if (!opened) return std::move(opened).error();
  storage_ = std::move(opened).value();
  if (any_slurm_) {
    slurm_ = std::make_unique<validators::SlurmLauncher>(store, nodes);
    launchers_["slurm"] = slurm_.get();
  }
  validators::ValidationServiceOptions opts;
  opts.validators = specs_;
  opts.callback_url = cfg_.callback_url.empty() ? default_callback_url : cfg_.callback_url;
  opts.poll_interval = cfg_.poll_interval;
  opts.poll_max_executions = cfg_.poll_max_executions;
  opts.max_queued = cfg_.queue_max;
  service_ = std::make_unique<validators::ValidationService>(std::move(opts), store, runs,
                                                             *storage_, launchers_, verifier_);
  if (cfg_.serve_internal()) service_->StartPoller();
  endpoints_ = std::make_unique<api::ValidatorHandlers>(*service_);
  return Ok{};
}

}  // namespace

Result<std::unique_ptr<validators::ObjectStorage>> OpenValidatorStorage(
    const config::ValidatorConfig& cfg, validators::AccessTokenSource token) {
  if (cfg.storage == "file://") {
    auto s = validators::MakeFileStorage(cfg.media_root);
    if (!s) return InvalidArgument("MEDIA_ROOT: " + s.error().message);
    return s;
  }
  auto s = validators::MakeGcsStorage(cfg.storage, cfg.gcs_endpoint, std::move(token));
  if (!s) return InvalidArgument("RTGW_VALIDATOR_STORAGE: " + s.error().message);
  return s;
}

std::unique_ptr<storage::RunMediaDeleter> MakeRunMediaDeleter(const config::ValidatorConfig& cfg) {
  return std::make_unique<validators::ObjectStorageRunMedia>([cfg] {
    return OpenValidatorStorage(
        cfg, validators::MakeAccessTokenSource(cfg.gcp_access_token, cfg.metadata_url));
  });
}

api::ValidatorEndpoints* LateValidatorEndpoints::Target(api::ValidatorCall& call) {
  api::ValidatorEndpoints* t = target_.load();
  if (t == nullptr) {
    call.respond(api::MakeErrorResponse(
        api::ApiCode::kNotFound, "validators are not configured on this process", call.trace_id));
  }
  return t;
}

Result<std::unique_ptr<ValidatorStack>> PrepareValidatorStack(const config::ValidatorConfig& cfg) {
  if (cfg.validators_file.empty()) return std::unique_ptr<ValidatorStack>();
  auto text = ReadFileText(cfg.validators_file);
  if (!text) return InvalidArgument("RTGW_VALIDATORS_FILE: cannot read " + cfg.validators_file);
  auto specs = validators::ParseValidatorRegistry(*text);
  if (!specs) return InvalidArgument("RTGW_VALIDATORS_FILE: " + specs.error().message);
  bool any_cloud_run = false;
  auto stack = std::make_unique<Stack>(cfg);
  for (const auto& s : *specs) {
    any_cloud_run = any_cloud_run || s.launcher == "cloud-run";
    stack->any_slurm_ = stack->any_slurm_ || s.launcher == "slurm";
  }
  stack->specs_ = std::move(specs).value();
  stack->token_ = validators::MakeAccessTokenSource(cfg.gcp_access_token, cfg.metadata_url);

  // local: our own key (shared through a PEM file when several processes run).
  Result<std::unique_ptr<auth::JwsSigner>> signer =
      cfg.local_key_file.empty()
          ? auth::JwsSigner::Generate("local-" + RandomHex(4))
          : auth::JwsSigner::FromPemFile(cfg.local_key_file, "local-launcher");
  if (!signer) return InvalidArgument("RTGW_LOCAL_LAUNCHER_KEY: " + signer.error().message);
  std::shared_ptr<const auth::JwsSigner> shared_signer = std::move(signer).value();
  validators::LocalTokenIdentity identity;
  identity.service_account = cfg.local_service_account;
  if (auto s = stack->verifier_.Trust(
          "local", {shared_signer->PublicJwks(), identity.issuer, identity.service_account});
      !s) {
    return s.error();
  }
  stack->local_ = std::make_unique<validators::LocalLauncher>(shared_signer, identity);
  stack->launchers_["local"] = stack->local_.get();

  if (any_cloud_run) {
    if (cfg.service_account.empty()) {
      return InvalidArgument(
          "RTGW_VALIDATOR_SERVICE_ACCOUNT: required when a cloud-run validator is configured");
    }
    auto trust = LoadTrust(cfg.jwks, "RTGW_VALIDATOR_JWKS", cfg.token_issuer, cfg.service_account,
                           cfg.jwks_min_refetch);
    if (!trust) return trust.error();
    if (auto s = stack->verifier_.Trust("cloud-run", std::move(trust).value()); !s) {
      return InvalidArgument("RTGW_VALIDATOR_JWKS: " + s.error().message);
    }
    stack->cloud_run_ =
        std::make_unique<validators::CloudRunLauncher>(cfg.cloud_run_endpoint, stack->token_);
    stack->launchers_["cloud-run"] = stack->cloud_run_.get();
  }

  if (stack->any_slurm_) {
    if (cfg.slurm_jwks.empty()) {
      return InvalidArgument(
          "RTGW_SLURM_VALIDATOR_JWKS: required when a slurm validator is configured (the "
          "agents' public validator keys)");
    }
    auto trust = LoadTrust(cfg.slurm_jwks, "RTGW_SLURM_VALIDATOR_JWKS", cfg.slurm_token_issuer,
                           cfg.slurm_service_account, cfg.jwks_min_refetch);
    if (!trust) return trust.error();
    if (auto s = stack->verifier_.Trust("slurm", std::move(trust).value()); !s) {
      return InvalidArgument("RTGW_SLURM_VALIDATOR_JWKS: " + s.error().message);
    }
  }
  return std::unique_ptr<ValidatorStack>(std::move(stack));
}

}  // namespace rtgw::app
