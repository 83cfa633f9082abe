#include "slurm_adapter/catalogue.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "common/text.hpp"

namespace rtgw::slurm_adapter {
namespace json = boost::json;
namespace {

constexpr std::size_t kMaxNameChars = 256;

Error Bad(std::string_view path, std::string_view why) {
  return InvalidArgument(std::string(path) + ": " + std::string(why));
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameChars) return false;
  return !HasControlChars(s);
}

Result<std::string> Name(const json::value& v, std::string_view path) {
  if (!v.is_string() || !ValidName(v.get_string())) {
    return Bad(path,
               "must be a non-empty string of at most 256 characters without control "
               "characters");
  }
  return std::string(v.get_string());
}

Result<std::optional<std::int64_t>> OptionalCount(const json::object& o, std::string_view key,
                                                  std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::int64_t>();
  std::string p = std::string(path) + "." + std::string(key);
  if (v->is_int64() && v->get_int64() >= 0) return std::optional<std::int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_uint64()));
  }
  return Bad(p, "must be a non-negative integer or null");
}

Result<std::vector<std::string>> Names(const json::object& o, std::string_view key,
                                       std::string_view path) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  std::string p = std::string(path) + "." + std::string(key);
  if (!v->is_array()) return Bad(p, "must be an array of strings");
  if (v->get_array().size() > kMaxNames) {
    return Bad(p, "must have at most " + std::to_string(kMaxNames) + " entries");
  }
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    auto name = Name(v->get_array()[i], p + "[" + std::to_string(i) + "]");
    if (!name) return std::move(name).error();
    out.push_back(std::move(*name));
  }
  return out;
}

}  // namespace

const Partition* Catalogue::FindPartition(std::string_view name) const {
  for (const Partition& p : partitions) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<Catalogue> ParseCatalogue(const json::value& value, std::string_view path) {
  if (!value.is_object()) return Bad(path, "must be an object");
  const json::object& o = value.get_object();
  Catalogue c;
  std::string p(path);
  const json::value* version = o.if_contains("version");
  if (version == nullptr || version->is_null()) return Bad(p + ".version", "is required");
  auto v = Name(*version, p + ".version");
  if (!v) return std::move(v).error();
  c.version = std::move(*v);
  if (const json::value* cluster = o.if_contains("cluster"); cluster && !cluster->is_null()) {
    auto name = Name(*cluster, p + ".cluster");
    if (!name) return std::move(name).error();
    c.cluster = std::move(*name);
  }
  const json::value* parts = o.if_contains("partitions");
  if (parts == nullptr || !parts->is_array()) return Bad(p + ".partitions", "must be an array");
  if (parts->get_array().size() > kMaxPartitions) {
    return Bad(p + ".partitions",
               "must have at most " + std::to_string(kMaxPartitions) + " entries");
  }
  for (std::size_t i = 0; i < parts->get_array().size(); ++i) {
    const std::string pp = p + ".partitions[" + std::to_string(i) + "]";
    const json::value& pv = parts->get_array()[i];
    if (!pv.is_object()) return Bad(pp, "must be an object");
    const json::object& po = pv.get_object();
    Partition part;
    const json::value* name = po.if_contains("name");
    if (name == nullptr) return Bad(pp + ".name", "is required");
    auto n = Name(*name, pp + ".name");
    if (!n) return std::move(n).error();
    part.name = std::move(*n);
    if (c.FindPartition(part.name) != nullptr) {
      return Bad(pp + ".name", "duplicate partition '" + part.name + "'");
    }
    const json::value* state = po.if_contains("state");
    if (state == nullptr) return Bad(pp + ".state", "is required");
    auto s = Name(*state, pp + ".state");
    if (!s) return std::move(s).error();
    part.state = std::move(*s);
    std::transform(part.state.begin(), part.state.end(), part.state.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (const json::value* d = po.if_contains("default"); d != nullptr && !d->is_null()) {
      if (!d->is_bool()) return Bad(pp + ".default", "must be a boolean");
      part.is_default = d->get_bool();
    }
#define RTGW_COUNT(field, key)                 \
  do {                                         \
    auto tmp_ = OptionalCount(po, key, pp);    \
    if (!tmp_) return std::move(tmp_).error(); \
    part.field = *tmp_;                        \
  } while (0)
    RTGW_COUNT(max_time_minutes, "max_time_minutes");
    RTGW_COUNT(total_nodes, "total_nodes");
    RTGW_COUNT(idle_nodes, "idle_nodes");
    RTGW_COUNT(total_cpus, "total_cpus");
    RTGW_COUNT(idle_cpus, "idle_cpus");
#undef RTGW_COUNT
    c.partitions.push_back(std::move(part));
  }
  auto accounts = Names(o, "accounts", p);
  if (!accounts) return std::move(accounts).error();
  c.accounts = std::move(*accounts);
  auto qos = Names(o, "qos", p);
  if (!qos) return std::move(qos).error();
  c.qos = std::move(*qos);
  return c;
}

std::string CatalogueJson(const Catalogue& c) {
  // Keys in sorted order at every depth, so the text is canonical.
  auto count = [](const std::optional<std::int64_t>& v) -> json::value {
    return v ? json::value(*v) : json::value(nullptr);
  };
  json::array parts;
  for (const Partition& p : c.partitions) {
    json::object o;
    o["default"] = p.is_default;
    o["idle_cpus"] = count(p.idle_cpus);
    o["idle_nodes"] = count(p.idle_nodes);
    o["max_time_minutes"] = count(p.max_time_minutes);
    o["name"] = p.name;
    o["state"] = p.state;
    o["total_cpus"] = count(p.total_cpus);
    o["total_nodes"] = count(p.total_nodes);
    parts.push_back(std::move(o));
  }
  json::array accounts(c.accounts.begin(), c.accounts.end());
  json::array qos(c.qos.begin(), c.qos.end());
  json::object o;
  o["accounts"] = std::move(accounts);
  o["cluster"] = c.cluster.empty() ? json::value(nullptr) : json::value(c.cluster);
  o["partitions"] = std::move(parts);
  o["qos"] = std::move(qos);
  o["version"] = c.version;
  return json::serialize(o);
}

Result<Catalogue> ParseCatalogueText(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Internal("stored catalogue is not valid JSON: " + ec.message());
  return ParseCatalogue(v, "catalogue");
}

}  // namespace rtgw::slurm_adapter
