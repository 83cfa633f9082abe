#ifndef RTGW_HTTP_PENDING_RESPONSE_HPP_
#define RTGW_HTTP_PENDING_RESPONSE_HPP_

#include <functional>
#include <mutex>
#include <optional>

#include "http/http_types.hpp"

namespace rtgw::http {

// The meeting point of a session waiting for a handler's response and the
// Respond callable handed to Handler::Handle. Internal to the HTTP server.
//
// The Respond side (Complete) may run on any thread, any number of times, and
// after the session has gone: only the first Complete() before Abandon() is
// kept, later ones are ignored and reported as such.
//
// The session side (TakeOrWait, Abandon) runs on the connection's strand.
// `wake` passed to TakeOrWait is called at most once, by the thread that calls
// Complete, outside the internal lock; it must not block. Abandon() drops
// `wake`, so once it returns no session resource is reachable from here and the
// object may outlive the session (and the server).
//
// Thread-safety: safe for concurrent use. Shared ownership (std::shared_ptr):
// the Respond callable and the waiting session each hold a reference.
class PendingResponse {
 public:
  PendingResponse() = default;
  PendingResponse(const PendingResponse&) = delete;
  PendingResponse& operator=(const PendingResponse&) = delete;

  // Respond side. Returns false when ignored: a response was already given or
  // the session stopped waiting (handler timeout, connection closed).
  bool Complete(Response response);

  // Session side. Returns the response if it already arrived; otherwise keeps
  // `wake` to be called when it does (unless Abandon() comes first).
  std::optional<Response> TakeOrWait(std::function<void()> wake);

  // Session side: stop waiting. Returns the response if it arrived and was not
  // taken yet. Every later Complete() is ignored. Idempotent.
  std::optional<Response> Abandon();

 private:
  std::mutex mu_;
  std::optional<Response> response_;  // GUARDED_BY(mu_)
  std::function<void()> wake_;        // GUARDED_BY(mu_)
  bool completed_ = false;            // GUARDED_BY(mu_)
  bool abandoned_ = false;            // GUARDED_BY(mu_)
};

}  // namespace rtgw::http

#endif  // RTGW_HTTP_PENDING_RESPONSE_HPP_
