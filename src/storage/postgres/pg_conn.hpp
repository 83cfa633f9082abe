#ifndef RTGW_STORAGE_POSTGRES_PG_CONN_HPP_
#define RTGW_STORAGE_POSTGRES_PG_CONN_HPP_

// Private to storage/postgres: thin RAII owners of a libpq connection and of a
// query result. Keeps <libpq-fe.h> out of every other header.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "storage/change_batch.hpp"

struct pg_conn;
struct pg_result;

namespace rtgw::storage::postgres {

// Checks that `url` is a libpq connection URI (postgresql:// or postgres://)
// that libpq can parse. Never connects. InvalidArgument with libpq's reason.
Status ValidateConnectionUrl(const std::string& url);

// `url` with the password (if any) replaced by "***", for logs and errors.
std::string RedactUrl(const std::string& url);

// Text parameters of one statement ($1, $2, ...). Holds pointers into the
// caller's strings (which must outlive the Exec call) and owns the text of
// integers it formats.
class Params {
 public:
  Params& Text(const std::string& value);
  Params& OptText(const std::optional<std::string>& value);
  // A temporary would dangle before the statement runs.
  Params& Text(std::string&& value) = delete;
  Params& OptText(std::optional<std::string>&& value) = delete;
  Params& Int(std::int64_t value);
  Params& Bool(bool value);
  Params& Null();
  // One parameter per value, in order: bool as Bool, other integers as Int,
  // std::optional<std::string> as OptText, strings as Text (lvalues only).
  template <class... T>
  static Params Of(T&&... values) {
    Params p;
    p.values_.reserve(sizeof...(T));
    (p.Add(std::forward<T>(values)), ...);
    return p;
  }

  // One parameter per value of a statement built with its values (the list
  // SQL's SqlWithParams::params): strings as Text (they must outlive the
  // Exec call), integers as Int.
  static Params OfValues(const std::vector<std::variant<std::string, std::int64_t>>& values);

  const char* const* values() const { return values_.data(); }
  int size() const { return static_cast<int>(values_.size()); }

 private:
  template <class T>
  void Add(T&& value) {
    using V = std::remove_cvref_t<T>;
    if constexpr (std::is_same_v<V, bool>) {
      Bool(value);
    } else if constexpr (std::is_integral_v<V>) {
      Int(value);
    } else if constexpr (std::is_same_v<V, std::optional<std::string>>) {
      OptText(std::forward<T>(value));
    } else {
      Text(std::forward<T>(value));
    }
  }

  std::vector<const char*> values_;
  std::deque<std::string> owned_;  // deque: growing it never moves earlier strings
};

// One result set (text format). Move-only.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* res);
  int rows() const;
  std::string Text(int row, int col) const;
  std::optional<std::string> OptText(int row, int col) const;
  std::int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const;  // a boolean column: true for 't'
  bool IsNull(int row, int col) const;
  // Rows changed by INSERT/UPDATE/DELETE without RETURNING.
  std::int64_t Affected() const;

 private:
  struct Deleter {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, Deleter> res_;
};

// Row `row` of a result as the shared record mappers read it
// (storage/record_rows.hpp).
class PgRow {
 public:
  PgRow(const PgResult& result, int row) : result_(result), row_(row) {}
  std::string Text(int col) const { return result_.Text(row_, col); }
  std::optional<std::string> OptText(int col) const { return result_.OptText(row_, col); }
  std::int64_t Int(int col) const { return result_.Int(row_, col); }
  bool Bool(int col) const { return result_.Bool(row_, col); }

 private:
  const PgResult& result_;
  int row_;
};

// Every row of `result` through `read_row(PgRow)`, in order.
template <class F>
auto MapRows(const PgResult& result, F&& read_row) {
  std::vector<std::invoke_result_t<F&, PgRow>> out;
  out.reserve(static_cast<std::size_t>(result.rows()));
  for (int i = 0; i < result.rows(); ++i) out.push_back(read_row(PgRow(result, i)));
  return out;
}

// One connection. Not thread-safe: used by the thread that owns it.
//
// Errors of every call: Unavailable ("store_unavailable") when the server
// cannot be reached, the connection broke, the server is shutting down or out
// of resources; Internal for anything else (a bug: bad SQL, a constraint). The
// SQLSTATE of the last failed call is kept (last_sqlstate()) so the caller can
// retry deadlocks and serialization failures.
class PgConn {
 public:
  // Connects (blocking). Adds connect_timeout=3, application_name=rtgw, TCP
  // keepalives and tcp_user_timeout=20000 unless the URL sets them.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& url);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs one or more statements without parameters.
  Status Exec(std::string_view sql, std::string_view what);
  // Runs one statement with parameters; returns its rows.
  Result<PgResult> Query(std::string_view sql, const Params& params, std::string_view what);
  // As Query, but through a statement prepared once per connection under
  // `name` (the same name must always mean the same SQL).
  Result<PgResult> QueryPrepared(const char* name, const char* sql, const Params& params,
                                 std::string_view what);
  // As QueryPrepared, for a statement whose rows (if any) are not needed.
  Status ExecPrepared(const char* name, const char* sql, const Params& params,
                      std::string_view what);
  // As ExecPrepared for an INSERT, UPDATE or DELETE: true when it changed a row.
  Result<bool> ExecPreparedChanged(const char* name, const char* sql, const Params& params,
                                   std::string_view what);

  // Runs a query without parameters and hands its rows to `fn` one at a time
  // (libpq single-row mode: the result set is never held whole in memory).
  Status StreamRows(const std::string& sql, const std::function<Status(const PgResult&)>& fn,
                    std::string_view what);

  // False once the connection is unusable; the owner then drops it and reconnects.
  bool ok() const;
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // Deadlock or serialization failure: the statement can be run again later.
  bool LastErrorRetryable() const;
  // True inside a transaction block (also an aborted one).
  bool InTransaction() const;
  // True inside a transaction block that an error aborted (only ROLLBACK [TO] works).
  bool TransactionFailed() const;

  // The job changes of the open group-commit transaction (change_batch.hpp):
  // the job writes add them, the batch runner flushes them before COMMIT.
  ChangeBatch& changes() { return changes_; }

  // ---- LISTEN (a connection that only waits for notifications) ----
  // Waits up to `timeout_ms` for input on the socket, then reads it and
  // returns the payloads of the notifications received (possibly none).
  // Unavailable when the connection broke.
  Result<std::vector<std::string>> WaitForNotifications(int timeout_ms);

 private:
  explicit PgConn(pg_conn* conn) : conn_(conn) {}
  Result<PgResult> Check(pg_result* res, std::string_view what);

  pg_conn* conn_ = nullptr;
  std::unordered_set<std::string> prepared_;
  std::string last_sqlstate_;
  ChangeBatch changes_;
};

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_CONN_HPP_
