#ifndef RTGW_NET_LOOPBACK_SERVER_HPP_
#define RTGW_NET_LOOPBACK_SERVER_HPP_

// Test support: a real HTTP server (src/http) on 127.0.0.1:<free port> for the
// tests whose point is the wire (the libcurl client, the relay end to end).

#include <functional>
#include <string>
#include <thread>

#include "http/server.hpp"

namespace rtgw::net {

// Adapts a function to http::Handler. `handle` runs on an I/O thread: it must
// not block, and may keep `respond` to answer later from another thread.
class FunctionHandler final : public http::Handler {
 public:
  using HandleFunction = std::function<void(http::Request, http::Respond)>;
  explicit FunctionHandler(HandleFunction handle) : handle_(std::move(handle)) {}
  void Handle(http::Request request, http::Respond respond) override {
    handle_(std::move(request), std::move(respond));
  }
  http::Response MakeProtocolError(int status, std::string_view, std::string_view,
                                   const http::Request&) override {
    return http::Response{.status = status};
  }

 private:
  HandleFunction handle_;
};

// Serves `*handler` from the constructor until the destructor (which drains).
// `*handler` must outlive the server.
class LoopbackServer {
 public:
  explicit LoopbackServer(http::Handler& handler);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  // "http://127.0.0.1:<port><path>".
  std::string Url(const std::string& path = "/") const;

 private:
  http::Server server_;
  std::thread thread_;
};

// A URL on loopback where nothing listens (a port bound and released).
std::string UnusedLoopbackUrl(const std::string& path = "/");

}  // namespace rtgw::net

#endif  // RTGW_NET_LOOPBACK_SERVER_HPP_
