#ifndef RTGW_HTTP_SERVER_HPP_
#define RTGW_HTTP_SERVER_HPP_

#include <cstdint>
#include <memory>

#include "common/error.hpp"
#include "http/http_types.hpp"

namespace rtgw::http {

// HTTP/1.1 server (Boost.Beast, C++20 coroutines) on `options.io_threads`
// threads. Keep-alive, one request at a time per connection, every limit of
// ServerOptions enforced where it acts, TCP_NODELAY, each response written in
// one write.
//
// Lifetime: `*handler` must outlive the server. Run() blocks until Stop() and
// the drain finish. Stop() is safe to call from any thread or a signal
// watcher: it stops accepting, lets in-flight requests finish (bounded by
// drain_timeout), closes idle keep-alive connections, then returns from Run().
class Server {
 public:
  Server(ServerOptions options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Error (kUnavailable) with a clear message on failure.
  Status Listen();
  // Bound port (valid after Listen()).
  std::uint16_t Port() const;
  // Serves until Stop(); also stops on SIGTERM/SIGINT when `handle_signals`.
  void Run(bool handle_signals);
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtgw::http

#endif  // RTGW_HTTP_SERVER_HPP_
