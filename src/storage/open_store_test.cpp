#include "storage/open_store.hpp"

#include <gtest/gtest.h>

namespace rtgw::storage {
namespace {

TEST(OpenStoreTest, ParsesBothBackends) {
  Result<DatabaseUrl> rel = ParseDatabaseUrl("sqlite://rtgw.db");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->backend, Backend::kSqlite);
  EXPECT_EQ(rel->sqlite_path, "rtgw.db");
  Result<DatabaseUrl> abs = ParseDatabaseUrl("sqlite:///var/lib/rtgw/rtgw.db");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->sqlite_path, "/var/lib/rtgw/rtgw.db");
  for (const char* u : {"postgresql://u:p@localhost:5432/db", "postgres://u@h/db",
                        "postgresql://u:p@127.0.0.1/db?sslmode=disable"}) {
    Result<DatabaseUrl> pg = ParseDatabaseUrl(u);
    ASSERT_TRUE(pg.ok()) << u << ": " << pg.error().message;
    EXPECT_EQ(pg->backend, Backend::kPostgres);
  }
}

TEST(OpenStoreTest, RefusesOtherUrlsWithoutEchoingPasswords) {
  for (const char* u : {"mysql://x", "sqlite://", "sqlite://:memory:", "", "rtgw.db",
                        "postgresql://u:p@h/db?nosuchoption=1"}) {
    Result<DatabaseUrl> r = ParseDatabaseUrl(u);
    ASSERT_FALSE(r.ok()) << u;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  Result<DatabaseUrl> r = ParseDatabaseUrl("postgresql://u:hunter2@h/db?nosuchoption=1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  EXPECT_EQ(RedactDatabaseUrl("postgresql://u:hunter2@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactDatabaseUrl("sqlite://rtgw.db"), "sqlite://rtgw.db");
}

}  // namespace
}  // namespace rtgw::storage
