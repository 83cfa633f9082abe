#ifndef RTGW_COMMON_AWAIT_HPP_
#define RTGW_COMMON_AWAIT_HPP_

#include <future>
#include <memory>
#include <utility>

#include "common/error.hpp"

namespace rtgw {

// Runs an asynchronous call and blocks until it has answered. `start` receives
// the completion callback (void(Result<T>)), which the call invokes exactly
// once, on any thread. Only for threads that may block (service threads, CLI
// commands, tests), never for an HTTP I/O thread.
template <class T, class Start>
Result<T> Await(Start start) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  start([promise](Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace rtgw

#endif  // RTGW_COMMON_AWAIT_HPP_
