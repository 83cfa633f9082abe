#include "config/relay_config.hpp"

namespace rtgw::config {

const std::vector<OptionSpec>& RelayOptionSpecs() {
  static const std::vector<OptionSpec> kSpecs = {
      {"projection-url", "RTGW_PROJECTION_URL", "",
       "Product sink for ProjectionUpdates (e.g. a Convex HTTP action). When set, every job "
       "state change is relayed there, signed per Standard Webhooks."},
      {"projection-secret", "RTGW_PROJECTION_SECRET", "",
       "Signing key for the sink: whsec_<base64> or a raw string of at least 16 bytes.", false,
       true},
      {"outbox", "RTGW_OUTBOX", "auto",
       "Write ProjectionUpdates to the transactional outbox: auto (when a projection URL is "
       "set), on (the relay runs in another process), off."},
      {"relay", "RTGW_RELAY", "on",
       "Run the projection relay in this process when a projection URL is set: on or off."},
      {"relay-workers", "RTGW_RELAY_WORKERS", "8",
       "Deliveries in flight at once, each for a different job (1-256)."},
      {"relay-max-attempts", "RTGW_RELAY_MAX_ATTEMPTS", "10",
       "Failed attempts before an update becomes a dead letter (1-1000)."},
      {"relay-backoff-base-ms", "RTGW_RELAY_BACKOFF_BASE_MS", "500",
       "Retry delay after the first failure; doubles per attempt, with jitter (1-600000)."},
      {"relay-backoff-max-ms", "RTGW_RELAY_BACKOFF_MAX_MS", "60000",
       "Cap of the retry delay (1-86400000)."},
      {"relay-request-timeout-ms", "RTGW_RELAY_REQUEST_TIMEOUT_MS", "10000",
       "Time limit of one POST to the sink, connect included (10-600000)."},
      {"relay-lease-ms", "RTGW_RELAY_LEASE_MS", "30000",
       "How long a claimed update stays with this relay; at least twice the request timeout "
       "(20-3600000)."},
      {"relay-poll-interval-ms", "RTGW_RELAY_POLL_INTERVAL_MS", "1000",
       "Look for due updates at least this often (new commits wake the relay at once) "
       "(1-60000)."},
  };
  return kSpecs;
}

Result<RelayConfig> BuildRelayConfig(const OptionValues& v) {
  RelayConfig c;
  c.projection_url = v.GetOr("projection-url", "");
  c.projection_secret = v.GetOr("projection-secret", "");
  if (!c.projection_url.empty() && c.projection_secret.empty()) {
    return InvalidArgument(v.Source("projection-url") +
                           " is set but RTGW_PROJECTION_SECRET (--projection-secret) is not: the "
                           "sink could not verify what it receives");
  }
  const std::string outbox = v.GetOr("outbox", "auto");
  if (outbox == "auto") {
    c.outbox = !c.projection_url.empty();
  } else if (outbox == "on" || outbox == "off") {
    c.outbox = outbox == "on";
  } else {
    return InvalidArgument(v.Source("outbox") + ": expected auto, on or off, got '" + outbox + "'");
  }
  const std::string relay = v.GetOr("relay", "on");
  if (relay != "on" && relay != "off") {
    return InvalidArgument(v.Source("relay") + ": expected on or off, got '" + relay + "'");
  }
  c.run_relay = relay == "on";
  if (c.relay_enabled() && !c.outbox) {
    return InvalidArgument(v.Source("outbox") +
                           " is off but a projection URL is set: the relay would have nothing "
                           "to send");
  }
  if (Status st = ParseIntOptions(v, {{"relay-workers", 1, 256, &c.workers},
                                      {"relay-max-attempts", 1, 1000, &c.max_attempts},
                                      {"relay-backoff-base-ms", 1, 600'000, &c.backoff_base},
                                      {"relay-backoff-max-ms", 1, 86'400'000, &c.backoff_max}});
      !st.ok()) {
    return st.error();
  }
  if (c.backoff_max < c.backoff_base) {
    return InvalidArgument(v.Source("relay-backoff-max-ms") +
                           ": must be at least the backoff base");
  }
  if (Status st = ParseIntOptions(v, {{"relay-request-timeout-ms", 10, 600'000, &c.request_timeout},
                                      {"relay-lease-ms", 20, 3'600'000, &c.lease}});
      !st.ok()) {
    return st.error();
  }
  if (c.lease < c.request_timeout * 2) {
    return InvalidArgument(v.Source("relay-lease-ms") +
                           ": must be at least twice the request timeout (a POST outliving its "
                           "lease could reach the sink after a newer version)");
  }
  if (Status st = ParseIntOptions(v, {{"relay-poll-interval-ms", 1, 60'000, &c.poll_interval}});
      !st.ok()) {
    return st.error();
  }
  return c;
}

}  // namespace rtgw::config
