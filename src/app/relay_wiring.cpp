#include "app/relay_wiring.hpp"

#include <boost/json.hpp>

namespace rtgw::app {
namespace json = boost::json;

relay::RelayOptions ToRelayOptions(const config::RelayConfig& c) {
  relay::RelayOptions o;
  o.url = c.projection_url;
  o.secret = c.projection_secret;
  o.workers = c.workers;
  o.max_attempts = c.max_attempts;
  o.backoff_base = c.backoff_base;
  o.backoff_max = c.backoff_max;
  o.request_timeout = c.request_timeout;
  o.lease = c.lease;
  o.poll_interval = c.poll_interval;
  return o;
}

api::HealthCheckResult RelayCheck(const relay::RelayStatus& s) {
  auto opt = [](const std::optional<std::string>& v) {
    return v ? json::value(*v) : json::value(nullptr);
  };
  json::object o{
      {"status", s.degraded ? "degraded" : "ok"},
      {"sink", s.sink},
      {"running", s.running},
      {"in_flight", s.in_flight},
      {"delivered_total", s.delivered_total},
      {"failed_attempts_total", s.failed_attempts_total},
      {"consecutive_failures", s.consecutive_failures},
      {"last_delivery_at", opt(s.last_delivery_at)},
      {"last_error", opt(s.last_error)},
      {"backlog", s.outbox.pending},
      {"dead_letters", s.outbox.dead},
      {"oldest_undelivered_seconds", s.outbox.oldest_pending_age_seconds},
  };
  if (s.consecutive_failures > 0) {
    o["reason"] = std::to_string(s.consecutive_failures) +
                  " consecutive delivery attempts to the projection sink failed (last_error); " +
                  std::to_string(s.outbox.pending) + " updates wait";
  } else if (s.outbox.dead > 0) {
    o["reason"] = std::to_string(s.outbox.dead) +
                  " updates are dead letters: their jobs' later updates wait until they are "
                  "replayed (projection dead-letters:replay)";
  }
  return {s.degraded, json::serialize(o)};
}

api::HealthCheckFn RelayHealthCheck(relay::ProjectionRelay& relay) {
  return [r = &relay](std::function<void(api::HealthCheckResult)> done) {
    r->GetLiveStatus(
        [done = std::move(done)](const relay::RelayStatus& s) { done(RelayCheck(s)); });
  };
}

}  // namespace rtgw::app
