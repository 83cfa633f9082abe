#ifndef RTGW_APP_VALIDATOR_WIRING_HPP_
#define RTGW_APP_VALIDATOR_WIRING_HPP_

#include <atomic>
#include <memory>
#include <string>

#include "api/validator_handlers.hpp"
#include "common/error.hpp"
#include "config/validator_config.hpp"
#include "storage/job_store.hpp"
#include "storage/node_store.hpp"
#include "storage/validator_run_pruner.hpp"
#include "storage/validator_run_store.hpp"
#include "validators/object_storage.hpp"

namespace rtgw::app {

// Everything validator runs need in `rtgw serve`, owned together: storage
// backend, launchers, callback token verifier, run store, service, routes.
// Built in two steps so that `rtgw serve` checks its whole configuration before
// it binds the port or creates anything: PrepareValidatorStack reads and checks
// the registry and the launchers' keys and trust (creates nothing), Start
// creates the object storage (MEDIA_ROOT) and attaches the stores.
class ValidatorStack {
 public:
  virtual ~ValidatorStack() = default;
  // Once. `store`, `nodes` and `runs` (the same database, storage::OpenedStore)
  // must outlive the stack. The poller runs only when the role serves internal
  // routes (worker, all).
  virtual Status Start(storage::JobStore& store, storage::NodeStore& nodes,
                       storage::ValidatorRunStore& runs,
                       const std::string& default_callback_url) = 0;
  virtual api::ValidatorEndpoints* endpoints() = 0;  // null before Start
  virtual void Stop() = 0;
};

// Forwards to endpoints set once the server is bound (the default callback
// URL needs the port); until then, and when none are set, answers 404.
class LateValidatorEndpoints final : public api::ValidatorEndpoints {
 public:
  void Set(api::ValidatorEndpoints* target) { target_.store(target); }
  void Launch(api::ValidatorCall call) override {
    if (auto* t = Target(call)) t->Launch(std::move(call));
  }
  void Get(api::ValidatorCall call) override {
    if (auto* t = Target(call)) t->Get(std::move(call));
  }
  void List(api::ValidatorCall call) override {
    if (auto* t = Target(call)) t->List(std::move(call));
  }
  void Rerun(api::ValidatorCall call) override {
    if (auto* t = Target(call)) t->Rerun(std::move(call));
  }
  void Callback(api::ValidatorCall call) override {
    if (auto* t = Target(call)) t->Callback(std::move(call));
  }

 private:
  api::ValidatorEndpoints* Target(api::ValidatorCall& call);
  std::atomic<api::ValidatorEndpoints*> target_{nullptr};
};

// The object storage of validator runs as configured: file:// under
// MEDIA_ROOT (created when missing) or RTGW_VALIDATOR_STORAGE gs://; errors
// name the setting.
Result<std::unique_ptr<validators::ObjectStorage>> OpenValidatorStorage(
    const config::ValidatorConfig& cfg, validators::AccessTokenSource token);

// What deletes a pruned validator run's media (validators/run_media.hpp) on
// that storage, opened on first use (a walk that finds no run never creates
// MEDIA_ROOT).
std::unique_ptr<storage::RunMediaDeleter> MakeRunMediaDeleter(const config::ValidatorConfig& cfg);

// Null (no error) when no validators file is configured. Errors name the
// setting (RTGW_VALIDATORS_FILE, RTGW_VALIDATOR_JWKS, ...).
Result<std::unique_ptr<ValidatorStack>> PrepareValidatorStack(const config::ValidatorConfig& cfg);

}  // namespace rtgw::app

#endif  // RTGW_APP_VALIDATOR_WIRING_HPP_
