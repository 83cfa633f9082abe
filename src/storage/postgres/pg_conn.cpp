#include "storage/postgres/pg_conn.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <utility>

#include <libpq-fe.h>

namespace rtgw::storage::postgres {
namespace {

// SQLSTATEs that mean "the database is not there right now", not "bug".
bool IsEnvironmental(std::string_view state) {
  if (state.size() != 5) return true;  // no SQLSTATE: client-side failure (lost connection)
  const std::string_view cls = state.substr(0, 2);
  return cls == "08"           // connection exception
         || cls == "53"        // insufficient resources (disk full, too many connections)
         || cls == "57"        // operator intervention (admin shutdown, cannot connect now)
         || cls == "58"        // system error (I/O)
         || state == "25006";  // read-only transaction (a standby)
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct ConninfoDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

}  // namespace

Status ValidateConnectionUrl(const std::string& url) {
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    return InvalidArgument("not a postgresql:// or postgres:// URL");
  }
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(PQconninfoParse(url.c_str(), &err));
  if (!opts) {
    std::string reason = err ? Trim(err) : "cannot parse";
    PQfreemem(err);
    return InvalidArgument("invalid PostgreSQL URL: " + reason);
  }
  return Ok{};
}

std::string RedactUrl(const std::string& url) {
  // scheme://user:password@host... -> scheme://user:***@host...
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto auth_start = scheme_end + 3;
  const auto at = url.find('@', auth_start);
  const auto slash = url.find('/', auth_start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  const auto colon = url.find(':', auth_start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// ---- Params ----

Params& Params::Text(const std::string& value) {
  values_.push_back(value.c_str());
  return *this;
}

Params& Params::OptText(const std::optional<std::string>& value) {
  values_.push_back(value ? value->c_str() : nullptr);
  return *this;
}

Params Params::OfValues(const std::vector<std::variant<std::string, std::int64_t>>& values) {
  Params p;
  p.values_.reserve(values.size());
  for (const auto& value : values) {
    if (const auto* text = std::get_if<std::string>(&value)) {
      p.Text(*text);
    } else {
      p.Int(std::get<std::int64_t>(value));
    }
  }
  return p;
}

Params& Params::Int(std::int64_t value) {
  owned_.push_back(std::to_string(value));
  values_.push_back(owned_.back().c_str());
  return *this;
}

Params& Params::Bool(bool value) {
  values_.push_back(value ? "true" : "false");
  return *this;
}

Params& Params::Null() {
  values_.push_back(nullptr);
  return *this;
}

// ---- PgResult ----

void PgResult::Deleter::operator()(pg_result* r) const { PQclear(r); }

PgResult::PgResult(pg_result* res) : res_(res) {}

int PgResult::rows() const { return res_ ? PQntuples(res_.get()) : 0; }

std::string PgResult::Text(int row, int col) const {
  const char* v = PQgetvalue(res_.get(), row, col);
  return std::string(v, static_cast<std::size_t>(PQgetlength(res_.get(), row, col)));
}

std::optional<std::string> PgResult::OptText(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Text(row, col);
}

bool PgResult::Bool(int row, int col) const { return *PQgetvalue(res_.get(), row, col) == 't'; }

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }

std::int64_t PgResult::Int(int row, int col) const {
  const char* v = PQgetvalue(res_.get(), row, col);
  const int len = PQgetlength(res_.get(), row, col);
  std::int64_t out = 0;
  std::from_chars(v, v + len, out);
  return out;
}

std::int64_t PgResult::Affected() const {
  const char* n = res_ ? PQcmdTuples(res_.get()) : "";
  return (n == nullptr || *n == '\0') ? 0 : std::strtoll(n, nullptr, 10);
}

// ---- PgConn ----

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& url) {
  if (Status s = ValidateConnectionUrl(url); !s) return std::move(s).error();
  // Keywords after the expanded URL override it, so add defaults only for
  // what the URL leaves unset: a bounded connect, and TCP keepalives plus a
  // user timeout so a server that vanished without closing the connection
  // (host down, partition) fails the call in seconds instead of hanging a
  // store thread for the kernel's retransmission timeout.
  static constexpr std::pair<const char*, const char*> kDefaults[] = {
      {"connect_timeout", "3"},      {"application_name", "rtgw"}, {"keepalives", "1"},
      {"keepalives_idle", "10"},     {"keepalives_interval", "3"}, {"keepalives_count", "3"},
      {"tcp_user_timeout", "20000"},
  };
  std::vector<std::string_view> given;
  {
    std::unique_ptr<PQconninfoOption, ConninfoDeleter> opts(PQconninfoParse(url.c_str(), nullptr));
    for (PQconninfoOption* o = opts.get(); o != nullptr && o->keyword != nullptr; ++o) {
      if (o->val == nullptr) continue;
      for (const auto& [key, value] : kDefaults) {
        if (std::string_view(o->keyword) == key) given.push_back(key);
      }
    }
  }
  std::vector<const char*> keys = {"dbname"};
  std::vector<const char*> vals = {url.c_str()};
  for (const auto& [key, value] : kDefaults) {
    if (std::find(given.begin(), given.end(), std::string_view(key)) != given.end()) continue;
    keys.push_back(key);
    vals.push_back(value);
  }
  keys.push_back(nullptr);
  vals.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), vals.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("postgresql: out of memory", "store_unavailable");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = Trim(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable("postgresql: cannot connect: " + reason, "store_unavailable");
  }
  // Server NOTICEs ("relation already exists, skipping") are not ours to print.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConn>(new PgConn(conn));
}

PgConn::~PgConn() { PQfinish(conn_); }

bool PgConn::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

bool PgConn::InTransaction() const {
  const PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

bool PgConn::TransactionFailed() const { return PQtransactionStatus(conn_) == PQTRANS_INERROR; }

bool PgConn::LastErrorRetryable() const {
  return last_sqlstate_ == "40P01" || last_sqlstate_ == "40001";
}

Result<PgResult> PgConn::Check(pg_result* res, std::string_view what) {
  PgResult owned(res);
  const ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    last_sqlstate_.clear();
    return owned;
  }
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string message = Trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (message.empty()) message = Trim(PQerrorMessage(conn_));
  std::string text = "postgresql: " + std::string(what) + ": " + message;
  if (!ok() || IsEnvironmental(last_sqlstate_)) return Unavailable(text, "store_unavailable");
  return Internal(text);
}

Status PgConn::Exec(std::string_view sql, std::string_view what) {
  const std::string text(sql);
  Result<PgResult> r = Check(PQexec(conn_, text.c_str()), what);
  if (!r) return std::move(r).error();
  return Ok{};
}

Result<PgResult> PgConn::Query(std::string_view sql, const Params& params, std::string_view what) {
  const std::string text(sql);
  return Check(PQexecParams(conn_, text.c_str(), params.size(), nullptr, params.values(), nullptr,
                            nullptr, 0),
               what);
}

Result<PgResult> PgConn::QueryPrepared(const char* name, const char* sql, const Params& params,
                                       std::string_view what) {
  if (!prepared_.contains(name)) {
    Result<PgResult> prep = Check(PQprepare(conn_, name, sql, 0, nullptr), what);
    if (!prep) return prep;
    prepared_.insert(name);
  }
  return Check(PQexecPrepared(conn_, name, params.size(), params.values(), nullptr, nullptr, 0),
               what);
}

Status PgConn::ExecPrepared(const char* name, const char* sql, const Params& params,
                            std::string_view what) {
  Result<PgResult> r = QueryPrepared(name, sql, params, what);
  if (!r) return std::move(r).error();
  return Ok{};
}

Result<bool> PgConn::ExecPreparedChanged(const char* name, const char* sql, const Params& params,
                                         std::string_view what) {
  Result<PgResult> r = QueryPrepared(name, sql, params, what);
  if (!r) return std::move(r).error();
  return r->Affected() > 0;
}

Status PgConn::StreamRows(const std::string& sql, const std::function<Status(const PgResult&)>& fn,
                          std::string_view what) {
  if (PQsendQuery(conn_, sql.c_str()) == 0 || PQsetSingleRowMode(conn_) == 0) {
    return Unavailable("postgresql: " + std::string(what) + ": " + Trim(PQerrorMessage(conn_)),
                       "store_unavailable");
  }
  std::optional<Error> failed;
  // Every result must be consumed, even after an error, before the next query.
  while (pg_result* res = PQgetResult(conn_)) {
    const ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_SINGLE_TUPLE) {
      PgResult row(res);
      if (!failed) {
        if (Status s = fn(row); !s) failed = std::move(s).error();
      }
    } else if (st == PGRES_TUPLES_OK) {
      PQclear(res);
    } else {
      Result<PgResult> checked = Check(res, what);
      if (!checked && !failed) failed = std::move(checked).error();
    }
  }
  if (failed) return *failed;
  return Ok{};
}

Result<std::vector<std::string>> PgConn::WaitForNotifications(int timeout_ms) {
  auto broken = [this](const char* what) -> Error {
    return Unavailable(std::string("postgresql: ") + what + ": " + Trim(PQerrorMessage(conn_)),
                       "store_unavailable");
  };
  const int fd = PQsocket(conn_);
  if (fd < 0 || !ok()) return broken("notification connection lost");
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  const int ready = ::poll(&p, 1, timeout_ms);
  if (ready < 0 && errno != EINTR) return broken("poll on the notification connection");
  std::vector<std::string> payloads;
  if (ready > 0) {
    if (PQconsumeInput(conn_) == 0) return broken("notification connection lost");
  }
  while (PGnotify* n = PQnotifies(conn_)) {
    payloads.emplace_back(n->extra != nullptr ? n->extra : "");
    PQfreemem(n);
  }
  if (!ok()) return broken("notification connection lost");
  return payloads;
}

}  // namespace rtgw::storage::postgres
