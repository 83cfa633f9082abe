#ifndef RTGW_STORAGE_POSTGRES_PG_OPS_HPP_
#define RTGW_STORAGE_POSTGRES_PG_OPS_HPP_

// Private to storage/postgres: typed wrappers over PostgresJobStore's
// type-erased RunWrite/RunTask, for the NodeStore and ValidatorRunStore halves.
// The value an op produces on the store thread is kept in a shared slot and
// handed to `done` only once its transaction committed (a batch that is run
// again overwrites it; one that fails to commit completes with the error).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "storage/postgres/postgres_job_store.hpp"

namespace rtgw::storage::postgres {

struct PgOps {
  template <class T>
  static void Write(PostgresJobStore& store, std::string tenant, std::string key,
                    std::function<Result<T>(PgConn&)> fn, Callback<T> done) {
    auto slot = std::make_shared<std::optional<T>>();
    store.RunWrite(
        std::move(tenant), std::move(key),
        [slot, fn = std::move(fn)](PgConn& c) -> Status {
          slot->reset();
          Result<T> r = fn(c);
          if (!r) return std::move(r).error();
          slot->emplace(std::move(r).value());
          return Ok{};
        },
        Finish(slot, std::move(done)));
  }

  template <class T>
  static void Read(PostgresJobStore& store, std::function<Result<T>(PgConn&)> fn,
                   Callback<T> done) {
    auto slot = std::make_shared<std::optional<T>>();
    store.RunTask(
        /*read_only=*/true,
        [slot, fn = std::move(fn)](PgConn& c) -> Status {
          slot->reset();
          Result<T> r = fn(c);
          if (!r) return std::move(r).error();
          slot->emplace(std::move(r).value());
          return Ok{};
        },
        Finish(slot, std::move(done)));
  }

 private:
  template <class T>
  static Callback<Ok> Finish(std::shared_ptr<std::optional<T>> slot, Callback<T> done) {
    return [slot = std::move(slot), done = std::move(done)](Result<Ok> s) mutable {
      if (!s) return done(std::move(s).error());
      if (!*slot) return done(Internal("store op produced no value"));
      done(std::move(**slot));
    };
  }
};

}  // namespace rtgw::storage::postgres

#endif  // RTGW_STORAGE_POSTGRES_PG_OPS_HPP_
