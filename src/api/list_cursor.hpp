#ifndef RTGW_API_LIST_CURSOR_HPP_
#define RTGW_API_LIST_CURSOR_HPP_

// Private to api: the one cursor of the keyset lists (docs/contracts/http-api.md "Listing
// jobs", validator-callback.md "Listing runs"): a prefix naming the list and its version, then
// base64url of {"k":[<order key>, <id>],"f":<filter hash>,"t":<tenant fingerprint>[,"w":<n>]}.
// Opaque to clients; bound to the tenant and the filters, so a cursor of another tenant's list,
// of other filters or of another list is refused (InvalidArgument naming `cursor`). Pure; safe
// for concurrent use.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"

namespace rtgw::api {

// Where a page ended: the last row's order key (an RFC 3339 instant) and id.
struct ListCursorKey {
  std::string at;
  std::string id;
};

struct ListCursor {
  ListCursorKey key;
  std::optional<std::int64_t> watch_from;  // "w", when the list carries one
};

std::string EncodeKeysetCursor(std::string_view prefix, const std::string& tenant_id,
                               const std::string& filter_hash, const ListCursor& cursor);

// The cursor's key and "w" (required, >= 0, when `with_watch_from`). Checks the prefix, the
// shape, the tenant and the filter hash; the caller checks the key's values.
Result<ListCursor> DecodeKeysetCursor(std::string_view prefix, std::string_view cursor,
                                      const std::string& tenant_id, const std::string& filter_hash,
                                      bool with_watch_from);

// InvalidArgument "cursor: not a cursor of this list ...": what DecodeKeysetCursor answers for a
// cursor it cannot read, for a caller whose key check fails.
Error MalformedListCursor();

// sha256 of "name=value\n" per filter (value empty when absent), 16 hex: what a cursor binds.
// Callers pass values normalised (sorted sets, UTC instants), so the same request in another
// spelling gets the same hash.
std::string ListFilterHash(
    std::initializer_list<std::pair<std::string_view, std::optional<std::string>>> filters);

}  // namespace rtgw::api

#endif  // RTGW_API_LIST_CURSOR_HPP_
