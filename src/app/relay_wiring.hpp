#ifndef RTGW_APP_RELAY_WIRING_HPP_
#define RTGW_APP_RELAY_WIRING_HPP_

#include <string>
#include <utility>

#include "config/relay_config.hpp"
#include "relay/projection_relay.hpp"

// Glue between the relay's configuration, the relay and the health endpoint,
// shared by `rtgw serve` and `rtgw relay`.
namespace rtgw::app {

relay::RelayOptions ToRelayOptions(const config::RelayConfig& config);

// checks.projection_relay of /api/health: {status, sink, running, in_flight,
// delivered_total, failed_attempts_total, consecutive_failures,
// last_delivery_at, last_error, backlog, dead_letters,
// oldest_undelivered_seconds}. First: whether it is degraded.
std::pair<bool, std::string> RelayHealth(const relay::ProjectionRelay& relay);

}  // namespace rtgw::app

#endif  // RTGW_APP_RELAY_WIRING_HPP_
