#ifndef RTGW_STORAGE_POSTGRES_PG_TEST_SUPPORT_HPP_
#define RTGW_STORAGE_POSTGRES_PG_TEST_SUPPORT_HPP_

// Tests only: a fresh PostgreSQL schema per test on the database named by
// RTGW_TEST_PG_DSN (scripts/test.sh sets it). Without it the tests FAIL, as
// postgres_job_store_test.cpp does: a skipped store test would look like a
// passing one. The schema is dropped afterwards (only the test's own).

#include <stdlib.h>

#include <memory>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "storage/postgres/pg_database.hpp"
#include "storage/store_test_support.hpp"

namespace rtgw::storage::postgres::test_support {

using namespace rtgw::storage::test_support;  // MakeSubmit, SubmitSync, Await, ...

inline std::string Dsn() {
  const char* dsn = ::getenv("RTGW_TEST_PG_DSN");
  return dsn ? dsn : "";
}

// A raw admin connection: creates and drops the test's schema, reads rows.
class RawPg {
 public:
  explicit RawPg(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    EXPECT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  RawPg(const RawPg&) = delete;
  RawPg& operator=(const RawPg&) = delete;
  ~RawPg() { PQfinish(conn_); }
  void Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    EXPECT_TRUE(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
  }
  std::string Text(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      out = PQgetvalue(r, 0, 0);
    } else {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    }
    PQclear(r);
    return out;
  }
  std::int64_t Int(const std::string& sql) { return std::stoll(Text(sql)); }

 private:
  PGconn* conn_;
};

// One test's database: a fresh schema, dropped afterwards. Also the
// PostgreSQL Backend of the scenario suites (StoreScenarioTest in
// storage/store_test_support.hpp).
class PgTestDatabase {
 public:
  static constexpr const char* kName = "postgresql";

  void SetUpDatabase() {
    ASSERT_FALSE(Dsn().empty())
        << "RTGW_TEST_PG_DSN is not set: these tests need a real PostgreSQL "
           "(scripts/services/postgres-up.sh prints a DSN; scripts/test.sh sets it)";
    std::random_device rd;
    schema_ = "rtgw_ut_" + std::to_string(rd()) + std::to_string(rd() % 1000);
    raw_ = std::make_unique<RawPg>(Dsn());
    raw_->Exec("CREATE SCHEMA " + schema_);
    raw_->Exec("SET search_path TO " + schema_);
    url_ = Dsn() + (Dsn().find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
           schema_;
  }
  void TearDownDatabase() {
    if (raw_) raw_->Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }

  // A store on the schema, migrating it on first use.
  std::unique_ptr<PgDatabase> Open(int pool_size = 3) {
    PostgresOptions o;
    o.url = url_;
    o.migrate = true;
    o.pool_size = pool_size;
    Result<std::unique_ptr<PgDatabase>> s = PgDatabase::Open(std::move(o), nullptr);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    if (!s.ok()) return nullptr;
    return std::move(s).value();
  }
  std::int64_t QueryInt(const std::string& sql) { return raw_->Int(sql); }

 protected:
  std::string schema_;
  std::string url_;
  std::unique_ptr<RawPg> raw_;
};

class PgSchemaTest : public ::testing::Test, protected PgTestDatabase {
 protected:
  void SetUp() override { SetUpDatabase(); }
  void TearDown() override { TearDownDatabase(); }
};

}  // namespace rtgw::storage::postgres::test_support

#endif  // RTGW_STORAGE_POSTGRES_PG_TEST_SUPPORT_HPP_
