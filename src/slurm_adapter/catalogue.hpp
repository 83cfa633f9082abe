#ifndef RTGW_SLURM_ADAPTER_CATALOGUE_HPP_
#define RTGW_SLURM_ADAPTER_CATALOGUE_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "common/error.hpp"

namespace rtgw::slurm_adapter {

// The live Slurm catalogue of one management node, as its agent last reported
// it in a heartbeat (docs/contracts/agent-protocol.md). Plain data.
struct Partition {
  std::string name;
  std::string state;  // Slurm's partition state, lowercased: "up", "down", "drain", "inactive"
  bool is_default = false;
  std::optional<std::int64_t> max_time_minutes;  // nullopt: UNLIMITED
  std::optional<std::int64_t> total_nodes;
  std::optional<std::int64_t> idle_nodes;
  std::optional<std::int64_t> total_cpus;
  std::optional<std::int64_t> idle_cpus;
};

struct Catalogue {
  std::string version;  // Slurm version, "22.05.8"
  std::string cluster;
  std::vector<Partition> partitions;
  std::vector<std::string> accounts;  // empty: not known (not checked)
  std::vector<std::string> qos;       // empty: not known (not checked)

  const Partition* FindPartition(std::string_view name) const;
};

// Limits on what a heartbeat may carry.
inline constexpr std::size_t kMaxPartitions = 1024;
inline constexpr std::size_t kMaxNames = 4096;  // accounts, qos

// Parses the heartbeat's "slurm" object. Errors are InvalidArgument naming the
// field path under `path` ("slurm.partitions[2].max_time_minutes: ..."). Pure.
Result<Catalogue> ParseCatalogue(const boost::json::value& value, std::string_view path = "slurm");

// Canonical JSON text of a catalogue (the stored form; ParseCatalogue reads it back).
std::string CatalogueJson(const Catalogue& catalogue);

// Parses stored text (CatalogueJson output).
Result<Catalogue> ParseCatalogueText(std::string_view text);

}  // namespace rtgw::slurm_adapter

#endif  // RTGW_SLURM_ADAPTER_CATALOGUE_HPP_
