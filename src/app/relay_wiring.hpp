#ifndef RTGW_APP_RELAY_WIRING_HPP_
#define RTGW_APP_RELAY_WIRING_HPP_

#include "api/health.hpp"
#include "config/relay_config.hpp"
#include "relay/projection_relay.hpp"

// Glue between the relay's configuration, the relay and the health endpoint,
// shared by `rtgw serve` and `rtgw relay`.
namespace rtgw::app {

relay::RelayOptions ToRelayOptions(const config::RelayConfig& config);

// checks.projection_relay of /api/health from a status: {status, sink,
// running, in_flight, delivered_total, failed_attempts_total,
// consecutive_failures, last_delivery_at, last_error, backlog, dead_letters,
// oldest_undelivered_seconds, reason (when degraded)}.
api::HealthCheckResult RelayCheck(const relay::RelayStatus& status);

// The health check of a running relay: RelayCheck of its live status (the
// outbox counts read when health is asked). `*relay` must outlive the check.
api::HealthCheckFn RelayHealthCheck(relay::ProjectionRelay& relay);

}  // namespace rtgw::app

#endif  // RTGW_APP_RELAY_WIRING_HPP_
