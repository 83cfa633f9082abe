#ifndef RTGW_API_OUTBOX_VIEWS_HPP_
#define RTGW_API_OUTBOX_VIEWS_HPP_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "storage/outbox_store.hpp"

namespace rtgw::api {

// JSON <-> domain for the projection dead-letter routes
// (docs/contracts/projection-update.md).

// `limit` from the query string: absent -> 100; 1..1000, else 400.
Result<int> ParseDeadLetterLimit(std::string_view query);

// {"id": N} with N >= 1, else 400 naming the field.
Result<std::int64_t> ParseReplayRequest(std::string_view body);

// {"dead_letters":[{id, tenant_id, job_id, projection_version, attempts,
// last_error, created_at, dead_at, payload}]}; payload is the stored
// ProjectionUpdate as a JSON object.
std::string DeadLettersJson(const std::vector<storage::OutboxItem>& items);

}  // namespace rtgw::api

#endif  // RTGW_API_OUTBOX_VIEWS_HPP_
