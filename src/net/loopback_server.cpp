#include "net/loopback_server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace rtgw::net {
namespace {

http::ServerOptions LoopbackOptions() {
  http::ServerOptions o;
  o.port = 0;
  o.io_threads = 2;
  return o;
}

}  // namespace

LoopbackServer::LoopbackServer(http::Handler& handler) : server_(LoopbackOptions(), handler) {
  if (Status s = server_.Listen(); !s) throw std::runtime_error(s.error().message);
  thread_ = std::thread([this] { server_.Run(/*handle_signals=*/false); });
}

LoopbackServer::~LoopbackServer() {
  server_.Stop();
  thread_.join();
}

std::string LoopbackServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(server_.Port()) + path;
}

std::string UnusedLoopbackUrl(const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot bind a loopback port");
  }
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + path;
}

}  // namespace rtgw::net
