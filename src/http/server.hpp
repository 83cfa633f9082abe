#ifndef RTGW_HTTP_SERVER_HPP_
#define RTGW_HTTP_SERVER_HPP_

#include <cstdint>
#include <functional>
#include <memory>

#include "common/error.hpp"
#include "http/http_types.hpp"

namespace rtgw::http {

// HTTP/1.1 server (Boost.Beast, C++20 coroutines) on `options.io_threads`
// threads. Keep-alive, one request at a time per connection, every limit of
// ServerOptions enforced where it acts, TCP_NODELAY, each response written in
// one write.
//
// Streamed responses (Response::stream, http/response_stream.hpp): the header
// is written at once, then what the handler wrote, as chunks (what queued up
// during a write goes out as one), each write bounded by write_timeout;
// ResponseStream::Close ends the body with the last chunk and the connection
// goes on with keep-alive. While streaming the server keeps a read pending on
// the socket: EOF or an error (the client went away) aborts the stream at once,
// running its OnClosed; one that vanished without closing is cut once data
// stays unacknowledged for write_timeout (TCP_USER_TIMEOUT, set on streaming
// connections). Bytes a pipelining client sends meanwhile are kept and served
// as the next request after the stream ends, up to header_limit_bytes +
// body_limit_bytes; beyond that the connection closes (stream aborted). A
// streaming connection counts as a request in progress (never evicted at
// max_connections); read_timeout and idle_timeout do not apply to it.
//
// Lifetime: `*handler` must outlive the server. Run() blocks until Stop() and
// the drain finish. Stop() is safe to call from any thread or a signal
// watcher: it stops accepting, calls Handler::OnDrain (which closes the
// handler's streams), lets in-flight requests and streams finish (bounded by
// drain_timeout: streams still open then are aborted, without a last chunk),
// closes idle keep-alive connections, then returns from Run().
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
  // Call before Run(true): each SIGHUP then runs `on_hangup` (on the server's control strand,
  // which also accepts connections: keep it short, e.g. re-reading a small file) instead of
  // ending the process. Without it, or without handle_signals, SIGHUP keeps its default action.
  void SetHangupHandler(std::function<void()> on_hangup);
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtgw::http

#endif  // RTGW_HTTP_SERVER_HPP_
