#ifndef RTGW_HTTP_HTTP_TYPES_HPP_
#define RTGW_HTTP_HTTP_TYPES_HPP_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Plain request/response types shared by the HTTP server and the API layer.
// No Beast here: Beast stays inside src/http/*.cpp.
namespace rtgw::http {

struct Request {
  std::string method;  // "GET", "POST", ... as received
  std::string target;  // raw request-target, e.g. "/api/health?deep=1"
  std::string path;    // target up to '?', percent-decoding NOT applied
  std::string query;   // after '?', without it; empty if none
  // Header names lowercased; values as received (trimmed). Order preserved.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;  // "ip:port"
  std::chrono::steady_clock::time_point received_at;

  // First header with that (lowercase) name, or empty.
  std::string_view Header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return v;
    }
    return {};
  }
  bool HasHeader(std::string_view lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return true;
    }
    return false;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  // Set: a streamed body (http/response_stream.hpp); the header goes out at
  // once with Transfer-Encoding: chunked, `body` (if any) as the first chunk,
  // then what the handler writes to the stream until it closes it (the
  // connection then serves its next request) or it is aborted (the connection
  // closes). HEAD and 204/304: the header only, and the stream ends at once.
  // An HTTP/1.0 client gets the body raw, ended by closing the connection.
  // A stream the server will never send (the Respond came too late, the
  // connection is gone) is aborted, so its OnClosed always runs.
  std::shared_ptr<class ResponseStream> stream;
};

// Completes a request. Call exactly once, from any thread.
using Respond = std::function<void(Response)>;

// What the server serves. Implemented by the API layer.
// Thread-safety: Handle is called concurrently from the I/O threads; it must
// not block (hand blocking work to another executor and call `respond` later).
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void Handle(Request request, Respond respond) = 0;

  // Builds the response for a request the server rejected before it reached
  // Handle (status 400 malformed, 408 read timeout, 413 body too large,
  // 431 headers too large, 503 draining). `code` is a machine-readable
  // code such as "payload_too_large". Must not block.
  virtual Response MakeProtocolError(int status, std::string_view code, std::string_view message,
                                     const Request& partial) = 0;

  // Called once when the server starts draining (Stop, SIGTERM), before it
  // waits for in-flight requests: a handler holding requests open (long
  // polls) answers them now and Closes its response streams. Must not block.
  // Default: nothing.
  virtual void OnDrain() {}
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = pick a free port; see Server::Port()
  int io_threads = 1;
  std::size_t body_limit_bytes = 1 << 20;     // 413 above
  std::size_t header_limit_bytes = 16 << 10;  // 431 above (request line + all fields)
  // Whole request, from its first byte; 408. A new connection's first byte must also arrive
  // within it: a connection that never sends anything holds its slot this long, not idle_timeout.
  // Neither this nor idle_timeout applies while a response is streamed.
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  // A response; for a streamed one, each write (the header, each chunk): a reader too slow to
  // take a chunk within it is cut off (connection closed, the stream aborted). A streaming
  // connection also gets it as TCP_USER_TIMEOUT: a client gone without closing is cut once data
  // stays unacknowledged this long.
  std::chrono::milliseconds write_timeout{10'000};
  // 503 if Handle never responds. For a streamed response it bounds the wait for the header
  // only: the stream itself may stay open for as long as the handler keeps it.
  std::chrono::milliseconds handler_timeout{30'000};
  // Graceful shutdown bound. Draining calls Handler::OnDrain (which should Close its streams),
  // lets in-flight requests and streams finish, then closes what is left at this timeout.
  std::chrono::milliseconds drain_timeout{10'000};
  // Open connections. At the cap a new connection closes the connection that has been idle
  // longest (no request in progress, including one that has not sent a byte yet) and takes its
  // slot; only when every connection has a request in progress is the new one closed unserved.
  // A connection streaming a response has a request in progress: it is never evicted.
  std::size_t max_connections = 10'000;
  // Open connections per peer IP address (0 = no such cap). At it, the same eviction applies
  // among that peer's connections only.
  std::size_t max_connections_per_peer = 0;
  // Header fields (lowercase names) a request may carry at most once; a repeated one gets 400
  // (RFC 9110 section 5.3: only list-valued fields may repeat, and "first one wins" would let a
  // proxy in front and this server act on different values). An HTTP/1.1 request without Host
  // gets 400 too (RFC 9112 section 3.2). The API layer adds its own (x-tenant-id, proxy auth).
  std::vector<std::string> single_value_headers = {"host", "content-length", "content-type",
                                                   "authorization"};
};

}  // namespace rtgw::http

#endif  // RTGW_HTTP_HTTP_TYPES_HPP_
