#ifndef RTGW_CONFIG_RELAY_CONFIG_HPP_
#define RTGW_CONFIG_RELAY_CONFIG_HPP_

#include <chrono>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/options.hpp"

namespace rtgw::config {

// The projection relay's settings (docs/contracts/projection-update.md),
// shared by `rtgw serve` (in-process relay) and `rtgw relay`.
struct RelayConfig {
  std::string projection_url;     // empty: no relay
  std::string projection_secret;  // required with a URL
  // Whether job writes fill the outbox: "auto" = when a projection URL is set
  // (a serve replica whose relay runs elsewhere sets "on").
  bool outbox = false;
  bool run_relay = true;  // run the relay in this process when a URL is set
  int workers = 8;
  int max_attempts = 10;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{60'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds lease{30'000};
  std::chrono::milliseconds poll_interval{1'000};

  bool relay_enabled() const { return run_relay && !projection_url.empty(); }
};

// Option specs (flags and RTGW_* env names) of the relay settings.
const std::vector<OptionSpec>& RelayOptionSpecs();

// Validates the parsed relay options. kInvalidArgument naming the flag/env key.
Result<RelayConfig> BuildRelayConfig(const OptionValues& values);

}  // namespace rtgw::config

#endif  // RTGW_CONFIG_RELAY_CONFIG_HPP_
