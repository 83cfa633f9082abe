#include "config/relay_config.hpp"

#include <charconv>

namespace rtgw::config {
namespace {

Result<long long> ParseInt(const OptionValues& v, std::string_view flag, long long min,
                           long long max) {
  return ParseIntOption(v, flag, min, max);
}

Result<std::chrono::milliseconds> ParseMillis(const OptionValues& v, std::string_view flag,
                                              long long min, long long max) {
  Result<long long> n = ParseInt(v, flag, min, max);
  if (!n) return n.error();
  return std::chrono::milliseconds(*n);
}

}  // namespace

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
  auto workers = ParseInt(v, "relay-workers", 1, 256);
  if (!workers) return workers.error();
  c.workers = static_cast<int>(*workers);
  auto attempts = ParseInt(v, "relay-max-attempts", 1, 1000);
  if (!attempts) return attempts.error();
  c.max_attempts = static_cast<int>(*attempts);
  auto base = ParseMillis(v, "relay-backoff-base-ms", 1, 600'000);
  if (!base) return base.error();
  c.backoff_base = *base;
  auto max = ParseMillis(v, "relay-backoff-max-ms", 1, 86'400'000);
  if (!max) return max.error();
  c.backoff_max = *max;
  if (c.backoff_max < c.backoff_base) {
    return InvalidArgument(v.Source("relay-backoff-max-ms") +
                           ": must be at least the backoff base");
  }
  auto timeout = ParseMillis(v, "relay-request-timeout-ms", 10, 600'000);
  if (!timeout) return timeout.error();
  c.request_timeout = *timeout;
  auto lease = ParseMillis(v, "relay-lease-ms", 20, 3'600'000);
  if (!lease) return lease.error();
  c.lease = *lease;
  if (c.lease < c.request_timeout * 2) {
    return InvalidArgument(v.Source("relay-lease-ms") +
                           ": must be at least twice the request timeout (a POST outliving its "
                           "lease could reach the sink after a newer version)");
  }
  auto poll = ParseMillis(v, "relay-poll-interval-ms", 1, 60'000);
  if (!poll) return poll.error();
  c.poll_interval = *poll;
  return c;
}

}  // namespace rtgw::config
