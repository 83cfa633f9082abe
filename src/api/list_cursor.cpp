#include "api/list_cursor.hpp"

#include <boost/json.hpp>

#include "api/job_watch.hpp"
#include "crypto/crypto.hpp"

namespace rtgw::api {
namespace json = boost::json;
namespace {

// "t": the tenant fingerprint every cursor carries, in hex.
std::string TenantFingerprint(const std::string& tenant_id) {
  return crypto::HexEncode(CursorTenantFingerprint(tenant_id));
}

}  // namespace

Error MalformedListCursor() {
  return InvalidArgument(
      "cursor: not a cursor of this list (use next_cursor of the previous page as it is)");
}

std::string EncodeKeysetCursor(std::string_view prefix, const std::string& tenant_id,
                               const std::string& filter_hash, const ListCursor& cursor) {
  json::object o{{"k", json::array{json::string(cursor.key.at), json::string(cursor.key.id)}},
                 {"f", filter_hash},
                 {"t", TenantFingerprint(tenant_id)}};
  if (cursor.watch_from) o["w"] = *cursor.watch_from;
  return std::string(prefix) + crypto::Base64UrlEncode(json::serialize(o));
}

Result<ListCursor> DecodeKeysetCursor(std::string_view prefix, std::string_view cursor,
                                      const std::string& tenant_id, const std::string& filter_hash,
                                      bool with_watch_from) {
  if (!cursor.starts_with(prefix)) return MalformedListCursor();
  const std::optional<std::string> bytes = crypto::Base64UrlDecode(cursor.substr(prefix.size()));
  if (!bytes) return MalformedListCursor();
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 4;
  const json::value v = json::parse(*bytes, ec, {}, opts);
  if (ec || !v.is_object()) return MalformedListCursor();
  const json::object& o = v.get_object();
  const json::value* k = o.if_contains("k");
  const json::value* f = o.if_contains("f");
  const json::value* t = o.if_contains("t");
  const json::value* w = o.if_contains("w");
  if (k == nullptr || f == nullptr || t == nullptr || !k->is_array() ||
      k->get_array().size() != 2 || !k->get_array()[0].is_string() ||
      !k->get_array()[1].is_string() || !f->is_string() || !t->is_string()) {
    return MalformedListCursor();
  }
  if (with_watch_from && (w == nullptr || !w->is_int64() || w->get_int64() < 0)) {
    return MalformedListCursor();
  }
  if (t->get_string() != TenantFingerprint(tenant_id)) {
    return InvalidArgument("cursor: was made for another tenant's list");
  }
  if (f->get_string() != filter_hash) {
    return InvalidArgument(
        "cursor: was made for other filters; send the filters of the first page with it");
  }
  ListCursor out;
  out.key.at = std::string(k->get_array()[0].get_string());
  out.key.id = std::string(k->get_array()[1].get_string());
  if (with_watch_from) out.watch_from = w->get_int64();
  return out;
}

std::string ListFilterHash(
    std::initializer_list<std::pair<std::string_view, std::optional<std::string>>> filters) {
  std::string text;
  for (const auto& [name, value] : filters) {
    text += name;
    text += '=';
    if (value) text += *value;  // never empty when present; control characters are refused
    text += '\n';
  }
  return crypto::Sha256Hex(text).substr(0, 16);
}

}  // namespace rtgw::api
