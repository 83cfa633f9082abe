#include "api/outbox_views.hpp"

#include <gtest/gtest.h>

namespace rtgw::api {
namespace {

TEST(OutboxViews, LimitDefaultsAndBounds) {
  EXPECT_EQ(ParseDeadLetterLimit("").value(), 100);
  EXPECT_EQ(ParseDeadLetterLimit("x=1&limit=7").value(), 7);
  EXPECT_FALSE(ParseDeadLetterLimit("limit=0").ok());
  EXPECT_FALSE(ParseDeadLetterLimit("limit=1001").ok());
  EXPECT_FALSE(ParseDeadLetterLimit("limit=ten").ok());
  EXPECT_FALSE(ParseDeadLetterLimit("limit=").ok());
}

TEST(OutboxViews, ReplayRequestNeedsAPositiveIntegerId) {
  EXPECT_EQ(ParseReplayRequest(R"({"id": 42})").value(), 42);
  EXPECT_EQ(ParseReplayRequest("{}").error().message, "id: is required");
  EXPECT_EQ(ParseReplayRequest(R"({"id": "42"})").error().message, "id: must be an integer");
  EXPECT_EQ(ParseReplayRequest(R"({"id": 0})").error().message, "id: must be at least 1");
  EXPECT_EQ(ParseReplayRequest("[1]").error().message, "request body must be a JSON object");
  EXPECT_EQ(ParseReplayRequest("{").error().api_code, "invalid_json");
}

TEST(OutboxViews, DeadLettersCarryThePayloadAsAnObject) {
  storage::OutboxItem item;
  item.id = 3;
  item.tenant_id = "t";
  item.job_id = "j";
  item.projection_version = 2;
  item.attempts = 10;
  item.last_error = "HTTP 500";
  item.created_at = "2026-01-01T00:00:00.000000Z";
  item.dead_at = "2026-01-01T00:01:00.000000Z";
  item.payload_json = R"({"job_id":"j","projection_version":2})";
  EXPECT_EQ(DeadLettersJson({item}),
            R"({"dead_letters":[{"id":3,"tenant_id":"t","job_id":"j","projection_version":2,)"
            R"("attempts":10,"last_error":"HTTP 500","created_at":"2026-01-01T00:00:00.000000Z",)"
            R"("dead_at":"2026-01-01T00:01:00.000000Z",)"
            R"("payload":{"job_id":"j","projection_version":2}}]})");
  EXPECT_EQ(DeadLettersJson({}), R"({"dead_letters":[]})");
}

}  // namespace
}  // namespace rtgw::api
