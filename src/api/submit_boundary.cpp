#include "api/submit_boundary.hpp"

#include <memory>
#include <utility>

#include <boost/json.hpp>

#include "api/canonical_json.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace sa = slurm_adapter;
namespace {

struct SpecInputs {
  std::string queue_name;
  std::int64_t walltime_seconds = 0;
  std::int64_t cpu = 0;
  std::int64_t memory_mib = 0;
};

// spec_json was built by ParseSubmitRequest, so these fields are present and valid.
SpecInputs ReadSpec(const json::value& spec) {
  SpecInputs in;
  const json::object& o = spec.get_object();
  in.queue_name = std::string(o.at("execution_profile").at("queue_name").get_string());
  const json::object& shape = o.at("resource_shape").get_object();
  in.walltime_seconds = shape.at("walltime_seconds").to_number<std::int64_t>();
  in.cpu = shape.at("cpu").to_number<std::int64_t>();
  in.memory_mib = shape.at("memory_mib").to_number<std::int64_t>();
  return in;
}

void Finish(const sa::AdapterSettings& settings, storage::SubmitRecord record, const SpecInputs& in,
            const sa::CatalogueSnapshot* catalogue, SystemTime now,
            const std::function<void(storage::SubmitRecord, Result<sa::BoundaryRecord>)>& done) {
  sa::ResolveInput input{.tenant_id = record.tenant_id,
                         .management_node_id = record.management_node_id,
                         .queue_name = in.queue_name,
                         .walltime_seconds = in.walltime_seconds,
                         .cpu = in.cpu,
                         .memory_mib = in.memory_mib,
                         .catalogue = catalogue,
                         .now = now};
  Result<sa::BoundaryRecord> boundary = sa::Resolve(settings, input);
  if (boundary) {
    record.spec_json = WithSlurmAdapter(std::move(record.spec_json), sa::BoundaryValue(*boundary));
  }
  done(std::move(record), std::move(boundary));
}

}  // namespace

std::string WithSlurmAdapter(std::string spec_json, const json::value& boundary) {
  // Every key ParseSubmitRequest puts in the spec sorts before "slurm_adapter",
  // so the canonical form with it added is the same text with one more member
  // at the end (checked against CanonicalJson by submit_boundary_test).
  if (spec_json.size() < 2 || spec_json.front() != '{' || spec_json.back() != '}') {
    json::value spec = json::parse(spec_json);  // not an object: throws, as before
    spec.as_object()["slurm_adapter"] = boundary;
    return CanonicalJson(spec);
  }
  spec_json.pop_back();  // the closing '}'
  if (spec_json.size() > 1) spec_json.push_back(',');
  spec_json.append("\"slurm_adapter\":");
  spec_json.append(CanonicalJson(boundary));
  spec_json.push_back('}');
  return spec_json;
}

namespace {

// spec[object][field] when it is a string, else "".
std::string SpecString(std::string_view spec_json, std::string_view object,
                       std::string_view field) {
  boost::system::error_code ec;
  json::value spec = json::parse(spec_json, ec);
  if (ec || !spec.is_object()) return {};
  const json::value* o = spec.get_object().if_contains(object);
  if (o == nullptr || !o->is_object()) return {};
  const json::value* v = o->get_object().if_contains(field);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::string RequestedQueue(std::string_view spec_json) {
  return SpecString(spec_json, "execution_profile", "queue_name");
}

std::string RequestedUser(std::string_view spec_json) {
  return SpecString(spec_json, "requested_by", "user_id");
}

Result<sa::CatalogueSnapshot> CatalogueSnapshotOf(const storage::NodeRecord& node) {
  sa::CatalogueSnapshot snapshot;
  snapshot.node_id = node.node_id;
  snapshot.reported_at = node.last_seen;
  if (node.catalogue_json) {
    Result<sa::Catalogue> c = sa::ParseCatalogueText(*node.catalogue_json);
    if (!c) return std::move(c).error();
    snapshot.catalogue = std::move(c).value();
  }
  return snapshot;
}

void ResolveSubmitBoundary(
    const sa::AdapterSettings& settings, storage::NodeStore& nodes, storage::SubmitRecord record,
    SystemTime now, std::function<void(storage::SubmitRecord, Result<sa::BoundaryRecord>)> done) {
  SpecInputs in;
  {
    unsigned char buffer[2048];
    json::monotonic_resource mr(buffer, sizeof(buffer));
    in = ReadSpec(json::parse(record.spec_json, &mr));
  }
  if (settings.mode != sa::AdapterMode::kRealPolicy) {
    return Finish(settings, std::move(record), in, nullptr, now, done);
  }
  std::string tenant = record.tenant_id;
  std::string node = record.management_node_id;
  auto shared = std::make_shared<storage::SubmitRecord>(std::move(record));
  nodes.GetNode(
      std::move(tenant), std::move(node),
      [&settings, shared, in, now, done = std::move(done)](Result<storage::NodeRecord> r) {
        if (!r && r.error().code != ErrorCode::kNotFound) {
          // The store could not be read: not a Slurm verdict.
          return done(std::move(*shared), r.error());
        }
        std::optional<sa::CatalogueSnapshot> snapshot;
        if (r) {
          Result<sa::CatalogueSnapshot> s = CatalogueSnapshotOf(*r);
          if (!s) return done(std::move(*shared), s.error());
          snapshot = std::move(s).value();
        }
        Finish(settings, std::move(*shared), in, snapshot ? &*snapshot : nullptr, now, done);
      });
}

}  // namespace rtgw::api
