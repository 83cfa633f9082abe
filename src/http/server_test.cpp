#include "http/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "http/response_stream.hpp"

namespace rtgw::http {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  std::string Header(std::string_view lower_name) const {
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

// Blocking HTTP/1.1 test client over a POSIX socket. Every receive gives up
// after `timeout`, so a broken server fails the test instead of hanging it.
class Client {
 public:
  // `source` binds the client to another loopback address (a second "peer").
  explicit Client(std::uint16_t port, milliseconds timeout = milliseconds(3000),
                  const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) return;
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response (Content-Length framing). nullopt on close, error or
  // timeout before it is complete.
  std::optional<ClientResponse> Read(bool head_request = false) {
    std::optional<ClientResponse> out = ReadHead();
    if (!out) return std::nullopt;
    std::size_t length = 0;
    if (!head_request && out->HasHeader("content-length")) {
      length = std::stoul(out->Header("content-length"));
    }
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    out->body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return out;
  }

  // Reads the status line and header fields of a response, nothing of its body.
  std::optional<ClientResponse> ReadHead() {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    ClientResponse out;
    const std::string head = buffer_.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    out.status = std::atoi(status_line.c_str() + 9);
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line =
          head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      out.headers.emplace_back(Lower(line.substr(0, colon)), value);
    }
    buffer_.erase(0, header_end + 4);
    return out;
  }

  // Reads one chunk of a chunked body: its data, "" for the last chunk (no
  // trailer fields expected), nullopt on close, error, timeout or bad framing.
  std::optional<std::string> ReadChunk() {
    std::size_t line_end;
    while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    std::size_t size = 0;
    try {
      size = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    const std::size_t frame = line_end + 2 + size + 2;
    while (buffer_.size() < frame) {
      if (!Fill()) return std::nullopt;
    }
    if (buffer_.compare(frame - 2, 2, "\r\n") != 0) return std::nullopt;
    std::string data = buffer_.substr(line_end + 2, size);
    buffer_.erase(0, frame);
    return data;
  }

  // Reads chunks until their data adds up to `size` bytes (or more).
  std::optional<std::string> ReadChunkedBytes(std::size_t size) {
    std::string out;
    while (out.size() < size) {
      std::optional<std::string> chunk = ReadChunk();
      if (!chunk || chunk->empty()) return std::nullopt;
      out += *chunk;
    }
    return out;
  }

  // Everything until the server closes (the body of an HTTP/1.0 streamed response).
  std::string ReadUntilClose() {
    while (Fill()) {
    }
    return std::exchange(buffer_, std::string());
  }

  // True when something arrives within `timeout`.
  bool ReadableWithin(milliseconds timeout) {
    if (!buffer_.empty()) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // True when the server closes the connection (EOF or reset) without
  // sending anything more.
  bool WaitForClose() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return buffer_.empty() && (n == 0 || (n < 0 && errno == ECONNRESET));
  }

  // True when something (data or EOF) is ready to be read.
  bool Readable() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  // Sends a simple GET and reads its response.
  std::optional<ClientResponse> Get(const std::string& target) {
    if (!Send("GET " + target + " HTTP/1.1\r\nHost: test\r\n\r\n")) return std::nullopt;
    return Read();
  }

 private:
  bool Fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// Handler whose behaviour each test sets. Protocol errors answer with the code
// in a JSON body and are recorded.
class TestHandler final : public Handler {
 public:
  std::function<void(Request, Respond)> on_request = [](const Request& request,
                                                        const Respond& respond) {
    Response r;
    r.body = request.method + " " + request.path;
    respond(std::move(r));
  };

  std::function<void()> on_drain = [] {};

  void Handle(Request request, Respond respond) override {
    on_request(std::move(request), std::move(respond));
  }
  void OnDrain() override { on_drain(); }

  Response MakeProtocolError(int status, std::string_view code, std::string_view message,
                             const Request& partial) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      codes_.emplace_back(code);
      last_partial_ = partial;
    }
    Response r;
    r.status = status;
    r.body = "{\"error\":{\"code\":\"" + std::string(code) + "\",\"message\":\"" +
             std::string(message) + "\"}}";
    return r;
  }

  std::vector<std::string> codes() {
    std::lock_guard<std::mutex> lock(mu_);
    return codes_;
  }
  Request last_partial() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_partial_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> codes_;
  Request last_partial_;
};

ServerOptions TestOptions() {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 1;
  o.read_timeout = milliseconds(2000);
  o.idle_timeout = milliseconds(5000);
  o.write_timeout = milliseconds(2000);
  o.handler_timeout = milliseconds(2000);
  o.drain_timeout = milliseconds(2000);
  return o;
}

// A listening server running on its own thread; stopped and joined on exit.
class RunningServer {
 public:
  RunningServer(ServerOptions options, Handler& handler, bool handle_signals = false,
                std::function<void()> on_hangup = {})
      : server_(std::move(options), handler) {
    if (on_hangup) server_.SetHangupHandler(std::move(on_hangup));
    const Status status = server_.Listen();
    EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().message);
    thread_ = std::thread([this, handle_signals] {
      server_.Run(handle_signals);
      returned_ = true;
    });
  }
  ~RunningServer() { StopAndJoin(); }

  std::uint16_t port() const { return server_.Port(); }
  void Stop() { server_.Stop(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  void StopAndJoin() {
    Stop();
    Join();
  }
  bool returned() const { return returned_; }

 private:
  Server server_;
  std::thread thread_;
  std::atomic<bool> returned_{false};
};

// One-shot latch for "the handler has been called".
class Latch {
 public:
  void Set() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool WaitFor(milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Holds Respond callables a handler did not use yet. Thread-safe.
class ParkedResponds {
 public:
  void Park(Respond respond) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      responds_.push_back(std::move(respond));
    }
    parked_.Set();
  }
  bool WaitForOne(milliseconds timeout) { return parked_.WaitFor(timeout); }
  Respond Take() {
    std::lock_guard<std::mutex> lock(mu_);
    Respond r = std::move(responds_.front());
    responds_.erase(responds_.begin());
    return r;
  }

 private:
  std::mutex mu_;
  std::vector<Respond> responds_;
  Latch parked_;
};

Response TextResponse(std::string body) {
  Response r;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

long long ElapsedMs(SteadyClock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - since).count();
}

// The streams a test's handler opened, by name, and how many of them ended
// (OnClosed ran). Thread-safe.
class OpenedStreams {
 public:
  std::shared_ptr<ResponseStream> Open(const std::string& name,
                                       std::size_t max_buffered_bytes = 1 << 20) {
    auto stream = std::make_shared<ResponseStream>(max_buffered_bytes);
    stream->OnClosed([this] {
      std::lock_guard<std::mutex> lock(mu_);
      ++closed_;
      cv_.notify_all();
    });
    std::lock_guard<std::mutex> lock(mu_);
    streams_[name] = stream;
    cv_.notify_all();
    return stream;
  }
  bool WaitForOpened(std::size_t count, milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return streams_.size() >= count; });
  }
  bool WaitForClosed(std::size_t count, milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return closed_ >= count; });
  }
  std::shared_ptr<ResponseStream> WaitFor(const std::string& name, milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return streams_.count(name) > 0; });
    return streams_.count(name) > 0 ? streams_.at(name) : nullptr;
  }
  std::shared_ptr<ResponseStream> Get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return streams_.at(name);
  }
  std::size_t closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<ResponseStream>> streams_;
  std::size_t closed_ = 0;
};

Response StreamedResponse(std::shared_ptr<ResponseStream> stream, std::string first = {}) {
  Response r;
  r.content_type = "text/event-stream";
  r.headers = {{"cache-control", "no-store"}};
  r.body = std::move(first);
  r.stream = std::move(stream);
  return r;
}

// The tests' fixture: the handler every server of a test runs on, and the
// streams it opens (they outlive the servers, whatever else the test declares).
class ServerTest : public ::testing::Test {
 protected:
  OpenedStreams streams_;
  TestHandler handler_;

  // Paths starting with /watch get a streamed response named after the path;
  // others the default handler's answer.
  void ServeStreamsUnderWatch(std::size_t max_buffered_bytes = 1 << 20) {
    handler_.on_request = [this, max_buffered_bytes](const Request& request,
                                                     const Respond& respond) {
      if (request.path.rfind("/watch", 0) == 0) {
        return respond(StreamedResponse(streams_.Open(request.path, max_buffered_bytes)));
      }
      respond(TextResponse(request.method + " " + request.path));
    };
  }

  // Asks for `path` (served by ServeStreamsUnderWatch) and reads the header.
  // The handler's stream, or null when the response did not start.
  std::shared_ptr<ResponseStream> StartWatch(Client& client, const std::string& path = "/watch") {
    if (!client.Send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")) return nullptr;
    std::optional<ClientResponse> head = client.ReadHead();
    if (!head || head->status != 200) return nullptr;
    return streams_.WaitFor(path, milliseconds(2000));
  }
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::mutex mu;
  std::vector<Request> seen;
  handler_.on_request = [&](Request request, const Respond& respond) {
    Response r = TextResponse(request.method + "|" + request.path + "|" + request.query + "|" +
                              request.body);
    r.headers.emplace_back("X-Extra", "1");
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(std::move(request));
    }
    respond(std::move(r));
  };
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.connected());

  ASSERT_TRUE(client.Send("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: test\r\nX-Custom:  Value \r\n\r\n"));
  auto r1 = client.Read();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r1->body, "GET|/a/b|x=1&y=2|");
  EXPECT_EQ(r1->Header("content-type"), "text/plain");
  EXPECT_EQ(r1->Header("x-extra"), "1");
  EXPECT_FALSE(r1->HasHeader("connection"));

  ASSERT_TRUE(
      client.Send("POST /jobs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                  "Content-Length: 5\r\n\r\nhello"));
  auto r2 = client.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "POST|/jobs||hello");

  auto r3 = client.Get("/third");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->body, "GET|/third||");

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  const Request& first = seen[0];
  EXPECT_EQ(first.target, "/a/b?x=1&y=2");
  ASSERT_EQ(first.headers.size(), 2u);
  EXPECT_EQ(first.headers[0].first, "host");
  EXPECT_EQ(first.headers[1].first, "x-custom");
  EXPECT_EQ(first.Header("x-custom"), "Value");
  EXPECT_EQ(first.remote_address.rfind("127.0.0.1:", 0), 0u) << first.remote_address;
  EXPECT_NE(first.received_at.time_since_epoch().count(), 0);
  EXPECT_EQ(seen[1].Header("content-type"), "application/json");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n"
                  "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (const char* want : {"GET /1", "GET /2", "GET /3"}) {
    auto r = client.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, want);
  }
}

TEST_F(ServerTest, RespondCalledLaterFromAnotherThread) {
  ParkedResponds parked;
  handler_.on_request = [&](const Request&, Respond respond) { parked.Park(std::move(respond)); };
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /later HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(parked.WaitForOne(milliseconds(2000)));
  std::thread responder([respond = parked.Take()] {
    std::this_thread::sleep_for(milliseconds(50));
    respond(TextResponse("late but fine"));
  });
  auto r = client.Read();
  responder.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "late but fine");
  // The connection is still usable.
  handler_.on_request = [](const Request&, const Respond& respond) {
    respond(TextResponse("again"));
  };
  auto again = client.Get("/again");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "again");
}

TEST_F(ServerTest, SecondRespondIsIgnored) {
  handler_.on_request = [](const Request&, const Respond& respond) {
    respond(TextResponse("first"));
    respond(TextResponse("second"));
  };
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  auto r1 = client.Get("/x");
  auto r2 = client.Get("/y");
  ASSERT_TRUE(r1);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r1->body, "first");
  EXPECT_EQ(r2->body, "first");
}

// A request the server refuses before any handler sees it: the limits and the
// parser. What each case checks beyond the status is what that refusal is
// known to do (an empty field: not checked).
struct RefusedRequest {
  const char* name;
  std::size_t body_limit_bytes;    // 0: TestOptions()'s
  std::size_t header_limit_bytes;  // 0: TestOptions()'s
  std::string raw;
  int status;
  std::string code;              // in the error body
  bool connection_close_header;  // answers with "Connection: close"
  bool closes;                   // then closes the connection
  std::string partial_path;      // the partial request MakeProtocolError saw
};

void PrintTo(const RefusedRequest& c, std::ostream* os) { *os << c.name; }

class RefusedRequestTest : public ServerTest,
                           public ::testing::WithParamInterface<RefusedRequest> {};

TEST_P(RefusedRequestTest, GetsItsErrorStatus) {
  const RefusedRequest& c = GetParam();
  ServerOptions options = TestOptions();
  if (c.body_limit_bytes != 0) options.body_limit_bytes = c.body_limit_bytes;
  if (c.header_limit_bytes != 0) options.header_limit_bytes = c.header_limit_bytes;
  RunningServer server(options, handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send(c.raw));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, c.status);
  if (!c.code.empty()) {
    EXPECT_NE(r->body.find(c.code), std::string::npos) << r->body;
  }
  if (c.connection_close_header) {
    EXPECT_EQ(Lower(r->Header("connection")), "close");
  }
  if (c.closes) {
    EXPECT_TRUE(client.WaitForClose());
  }
  if (!c.partial_path.empty()) {
    EXPECT_EQ(handler_.last_partial().path, c.partial_path);
  }
}

const std::string kChunk = "300\r\n" + std::string(0x300, 'b') + "\r\n";

INSTANTIATE_TEST_SUITE_P(
    ServerTest, RefusedRequestTest,
    ::testing::Values(
        RefusedRequest{"BodyOverLimitGets413AndClose", 1024, 0,
                       "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n" +
                           std::string(4096, 'a'),
                       413, "payload_too_large", true, true, "/big"},
        RefusedRequest{"ContentLengthOverLimitGets413BeforeTheBodyIsSent", 1024, 0,
                       "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n", 413,
                       "", false, true, ""},
        RefusedRequest{"ChunkedBodyOverLimitGets413", 1024, 0,
                       "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                           kChunk + kChunk + "0\r\n\r\n",
                       413, "", false, false, ""},
        RefusedRequest{"HugeHeadersGet431", 0, 1024,
                       "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4000, 'h') + "\r\n\r\n",
                       431, "headers_too_large", false, true, ""},
        RefusedRequest{"GarbageGets400AndClose", 0, 0, "this is not http at all\r\n\r\n", 400,
                       "bad_request", true, true, ""}),
    [](const ::testing::TestParamInfo<RefusedRequest>& param) { return param.param.name; });

TEST_F(ServerTest, StalledHalfRequestGets408ThenClose) {
  ServerOptions options = TestOptions();
  options.read_timeout = milliseconds(300);
  RunningServer server(options, handler_);
  Client client(server.port());
  const auto start = SteadyClock::now();
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: t\r\n"));
  auto r = client.Read();
  const long long elapsed = ElapsedMs(start);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_NE(r->body.find("request_timeout"), std::string::npos);
  EXPECT_GE(elapsed, 250);
  EXPECT_LT(elapsed, 1500);
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(ServerTest, DribblingClientIsCutOffByReadTimeout) {
  ServerOptions options = TestOptions();
  options.read_timeout = milliseconds(300);
  RunningServer server(options, handler_);
  Client client(server.port());
  const auto start = SteadyClock::now();
  ASSERT_TRUE(client.Send("GET /drip HTTP/1.1\r\nX-Drip: "));
  // One byte every 20 ms keeps every single read short but never ends the
  // request: only a whole-request deadline stops it.
  while (!client.Readable() && ElapsedMs(start) < 3000) {
    if (!client.Send("a")) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_LT(ElapsedMs(start), 1500);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  ServerOptions options = TestOptions();
  options.idle_timeout = milliseconds(200);
  RunningServer server(options, handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Get("/"));
  const auto start = SteadyClock::now();
  EXPECT_TRUE(client.WaitForClose());
  const long long elapsed = ElapsedMs(start);
  EXPECT_GE(elapsed, 150);
  EXPECT_LT(elapsed, 1500);
  EXPECT_TRUE(handler_.codes().empty());  // closed silently
}

TEST_F(ServerTest, HandlerTimeoutGives503AndLateRespondIsHarmless) {
  ParkedResponds parked;
  handler_.on_request = [&](const Request&, Respond respond) { parked.Park(std::move(respond)); };
  ServerOptions options = TestOptions();
  options.handler_timeout = milliseconds(200);
  Respond late;
  {
    RunningServer server(options, handler_);
    Client client(server.port());
    const auto start = SteadyClock::now();
    auto r = client.Get("/never");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_NE(r->body.find("handler_timeout"), std::string::npos);
    EXPECT_GE(ElapsedMs(start), 150);
    EXPECT_EQ(Lower(r->Header("connection")), "close");
    EXPECT_TRUE(client.WaitForClose());
    EXPECT_EQ(handler_.last_partial().path, "/never");

    ASSERT_TRUE(parked.WaitForOne(milliseconds(0)));
    late = parked.Take();
    Respond copy = late;
    std::thread([copy] { copy(TextResponse("too late")); }).join();  // ignored
    // The server is still healthy.
    handler_.on_request = [](const Request&, const Respond& respond) {
      respond(TextResponse("ok"));
    };
    Client other(server.port());
    auto ok = other.Get("/ok");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->body, "ok");
  }
  late(TextResponse("after the server is gone"));  // ignored, no use-after-free
}

TEST_F(ServerTest, HandlerExceptionBecomes500) {
  handler_.on_request = [](const Request&, const Respond&) { throw std::runtime_error("boom"); };
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  auto r = client.Get("/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(ServerTest, HeadGetsContentLengthWithoutBody) {
  handler_.on_request = [](const Request&, const Respond& respond) {
    respond(TextResponse("12345"));
  };
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = client.Read(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("content-length"), "5");
  auto next = client.Get("/");  // a stray body would corrupt this response
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "12345");
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  handler_.on_request = [](const Request& request, const Respond& respond) {
    respond(TextResponse(request.body));
  };
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send(
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("data"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "data");
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveAsked) {
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\n\r\n"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /old");
  EXPECT_TRUE(client.WaitForClose());

  Client keep(server.port());
  ASSERT_TRUE(keep.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto k = keep.Read();
  ASSERT_TRUE(k);
  EXPECT_EQ(Lower(k->Header("connection")), "keep-alive");
  EXPECT_TRUE(keep.Get("/b"));
}

TEST_F(ServerTest, AtMaxConnectionsTheLongestIdleConnectionMakesRoom) {
  ServerOptions options = TestOptions();
  options.max_connections = 2;
  RunningServer server(options, handler_);
  Client oldest(server.port());
  ASSERT_TRUE(oldest.Get("/a"));
  std::this_thread::sleep_for(milliseconds(20));
  Client newer(server.port());
  ASSERT_TRUE(newer.Get("/b"));
  Client third(server.port());
  EXPECT_TRUE(third.Get("/c"));        // served: it took the slot of the longest idle one
  EXPECT_TRUE(oldest.WaitForClose());  // closed without a response
  EXPECT_TRUE(newer.Get("/still-served"));
}

TEST_F(ServerTest, SilentConnectionsAreEvictedBeforeOnesThatSentARequest) {
  ServerOptions options = TestOptions();
  options.max_connections = 3;
  RunningServer server(options, handler_);
  Client served(server.port());
  ASSERT_TRUE(served.Get("/a"));
  std::this_thread::sleep_for(milliseconds(20));
  // Silent connections: they never send a byte, yet count as idle from the start.
  std::vector<std::unique_ptr<Client>> silent;
  silent.reserve(10);
  for (int i = 0; i < 10; ++i) silent.push_back(std::make_unique<Client>(server.port()));
  Client late(server.port());
  EXPECT_TRUE(late.Get("/late"));
  int closed = 0;
  for (auto& c : silent) closed += c->WaitForClose() ? 1 : 0;
  EXPECT_EQ(closed, 10);
}

TEST_F(ServerTest, AtMaxConnectionsWithEveryRequestInProgressTheNewOneIsRefused) {
  ParkedResponds parked;
  handler_.on_request = [&](const Request&, Respond respond) { parked.Park(std::move(respond)); };
  ServerOptions options = TestOptions();
  options.max_connections = 1;
  RunningServer server(options, handler_);
  Client busy(server.port());
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(parked.WaitForOne(milliseconds(2000)));
  Client refused(server.port());
  EXPECT_TRUE(refused.WaitForClose());
  parked.Take()(TextResponse("done"));
  auto r = busy.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "done");
}

TEST_F(ServerTest, PerPeerCapEvictsOnlyThatPeersConnections) {
  ServerOptions options = TestOptions();
  options.max_connections_per_peer = 2;
  RunningServer server(options, handler_);
  Client other(server.port(), milliseconds(3000), "127.0.0.2");
  ASSERT_TRUE(other.Get("/other"));
  Client a(server.port());
  ASSERT_TRUE(a.Get("/a"));
  std::this_thread::sleep_for(milliseconds(20));
  Client b(server.port());
  ASSERT_TRUE(b.Get("/b"));
  Client c(server.port());
  EXPECT_TRUE(c.Get("/c"));
  EXPECT_TRUE(a.WaitForClose());  // the peer's longest idle, not 127.0.0.2's older one
  EXPECT_TRUE(other.Get("/other-again"));
  EXPECT_TRUE(b.Get("/b-again"));
}

TEST_F(ServerTest, ANewConnectionsFirstByteGetsTheReadTimeoutNotTheIdleTimeout) {
  ServerOptions options = TestOptions();
  options.read_timeout = milliseconds(200);
  options.idle_timeout = milliseconds(5000);
  RunningServer server(options, handler_);
  Client silent(server.port());
  const auto start = SteadyClock::now();
  EXPECT_TRUE(silent.WaitForClose());
  EXPECT_LT(SteadyClock::now() - start, milliseconds(2000));
  // After a request the keep-alive wait is the idle timeout: still open past the read timeout.
  Client kept(server.port());
  ASSERT_TRUE(kept.Get("/a"));
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_FALSE(kept.Readable());
  EXPECT_TRUE(kept.Get("/b"));
}

TEST_F(ServerTest, RepeatedSingleValueHeadersAndMissingHostGet400) {
  ServerOptions options = TestOptions();
  options.single_value_headers.push_back("x-tenant-id");
  RunningServer server(options, handler_);
  const std::string bad[] = {
      "GET /a HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: t\r\nX-Tenant-Id: a\r\nx-tenant-id: a\r\n\r\n",
      std::string("POST /a HTTP/1.1\r\nHost: t\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n") +
          "Content-Length: 0\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n",
      "GET /a HTTP/1.1\r\n\r\n",
  };
  for (const std::string& request : bad) {
    Client client(server.port());
    ASSERT_TRUE(client.Send(request));
    auto r = client.Read();
    ASSERT_TRUE(r) << request;
    EXPECT_EQ(r->status, 400) << request;
  }
  EXPECT_EQ(handler_.codes().size(), 5u);
  // HTTP/1.0 needs no Host; a repeated list-valued field is fine.
  Client old(server.port());
  ASSERT_TRUE(old.Send("GET /old HTTP/1.0\r\n\r\n"));
  auto r = old.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  Client list(server.port());
  ASSERT_TRUE(list.Send("GET /l HTTP/1.1\r\nHost: t\r\nAccept: a/b\r\nAccept: c/d\r\n\r\n"));
  auto l = list.Read();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->status, 200);
}

TEST_F(ServerTest, TransferCodingNamesAreCaseInsensitive) {
  handler_.on_request = [](const Request& request, const Respond& respond) {
    respond(TextResponse(request.body));
  };
  RunningServer server(TestOptions(), handler_);
  for (const char* coding : {"chunked", "Chunked", "CHUNKED"}) {
    Client client(server.port());
    ASSERT_TRUE(client.Send(std::string("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ") +
                            coding + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    auto r = client.Read();
    ASSERT_TRUE(r) << coding;
    EXPECT_EQ(r->status, 200) << coding;
    EXPECT_EQ(r->body, "hello") << coding;
  }
}

TEST_F(ServerTest, ListenFailsClearlyWhenPortIsTaken) {
  RunningServer first(TestOptions(), handler_);
  ServerOptions options = TestOptions();
  options.port = first.port();
  Server second(options, handler_);
  const Status status = second.Listen();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(status.error().message, "cannot listen on 127.0.0.1:" + std::to_string(first.port()) +
                                        ": Address already in use");
}

TEST_F(ServerTest, StopFinishesInFlightRequestThenRefusesConnections) {
  ParkedResponds parked;
  handler_.on_request = [&](const Request& request, Respond respond) {
    if (request.path == "/slow") return parked.Park(std::move(respond));
    respond(TextResponse("fast"));
  };
  RunningServer server(TestOptions(), handler_);
  const std::uint16_t port = server.port();
  Client idle(port);
  ASSERT_TRUE(idle.Get("/fast"));
  Client busy(port);
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(parked.WaitForOne(milliseconds(2000)));

  const auto start = SteadyClock::now();
  server.Stop();
  EXPECT_TRUE(idle.WaitForClose());  // idle keep-alive connections go at once
  EXPECT_FALSE(server.returned());   // the in-flight request holds the drain open
  std::thread responder([respond = parked.Take()] { respond(TextResponse("finished")); });
  auto r = busy.Read();
  responder.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  EXPECT_TRUE(busy.WaitForClose());
  server.Join();
  EXPECT_LT(ElapsedMs(start), 1500);
  Client refused(port);
  EXPECT_FALSE(refused.connected());
}

TEST_F(ServerTest, DrainTimeoutClosesStuckRequests) {
  ParkedResponds parked;
  handler_.on_request = [&](const Request&, Respond respond) { parked.Park(std::move(respond)); };
  ServerOptions options = TestOptions();
  options.drain_timeout = milliseconds(200);
  options.handler_timeout = milliseconds(10'000);
  RunningServer server(options, handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(parked.WaitForOne(milliseconds(2000)));
  const auto start = SteadyClock::now();
  server.StopAndJoin();
  const long long elapsed = ElapsedMs(start);
  EXPECT_GE(elapsed, 150);
  EXPECT_LT(elapsed, 1500);
  EXPECT_TRUE(client.WaitForClose());
  parked.Take()(TextResponse("nobody listens"));  // harmless
}

TEST_F(ServerTest, SigtermStopsRunWhenSignalsAreHandled) {
  RunningServer server(TestOptions(), handler_, /*handle_signals=*/true);
  Client client(server.port());
  ASSERT_TRUE(client.Get("/"));  // Run() has installed the signal handler by now
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  server.Join();
  EXPECT_TRUE(server.returned());
}

TEST_F(ServerTest, SighupRunsTheHangupHandlerAndKeepsServing) {
  std::atomic<int> hangups{0};
  RunningServer server(TestOptions(), handler_, /*handle_signals=*/true, [&] { ++hangups; });
  Client client(server.port());
  ASSERT_TRUE(client.Get("/"));  // Run() has installed the signal handlers by now
  for (int expected = 1; expected <= 2; ++expected) {
    ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
    const auto give_up = SteadyClock::now() + milliseconds(5000);
    while (hangups.load() < expected && SteadyClock::now() < give_up) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    EXPECT_EQ(hangups.load(), expected);  // every SIGHUP, not only the first
  }
  EXPECT_TRUE(client.Get("/"));  // still serving, the same connection
  EXPECT_FALSE(server.returned());
  server.StopAndJoin();
  EXPECT_TRUE(server.returned());
}

TEST_F(ServerTest, HundredConcurrentConnectionsOnTwoThreads) {
  handler_.on_request = [](const Request& request, const Respond& respond) {
    respond(TextResponse(request.path));
  };
  ServerOptions options = TestOptions();
  options.io_threads = 2;
  RunningServer server(options, handler_);
  constexpr int kConnections = 100;
  constexpr int kRequests = 50;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  clients.reserve(kConnections);
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&, c] {
      Client client(server.port());
      for (int i = 0; i < kRequests; ++i) {
        const std::string path = "/c" + std::to_string(c) + "/r" + std::to_string(i);
        auto r = client.Get(path);
        if (!r || r->status != 200 || r->body != path) return;
        ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), kConnections * kRequests);
}

// ---- Streamed responses (Response::stream)

TEST_F(ServerTest, StreamedResponseHeaderArrivesBeforeAnyEvent) {
  ServeStreamsUnderWatch();
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /watch HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = client.ReadHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(Lower(head->Header("transfer-encoding")), "chunked");
  EXPECT_FALSE(head->HasHeader("content-length"));
  EXPECT_FALSE(head->HasHeader("connection"));
  EXPECT_EQ(head->Header("content-type"), "text/event-stream");
  EXPECT_EQ(head->Header("cache-control"), "no-store");
  EXPECT_FALSE(client.ReadableWithin(milliseconds(100)));  // no chunk for an empty body
  ASSERT_TRUE(streams_.Get("/watch")->Write("data: 1\n\n"));
  EXPECT_EQ(client.ReadChunk(), "data: 1\n\n");
}

TEST_F(ServerTest, StreamedResponseSendsBodyThenWhatWasQueuedBeforeRespond) {
  handler_.on_request = [&](const Request&, const Respond& respond) {
    std::shared_ptr<ResponseStream> stream = streams_.Open("s");
    stream->Write("id: 1\n\n");
    respond(StreamedResponse(stream, "retry: 3000\n\n"));
  };
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /watch HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(client.ReadHead());
  const std::string expected = "retry: 3000\n\nid: 1\n\n";
  EXPECT_EQ(client.ReadChunkedBytes(expected.size()), expected);
}

TEST_F(ServerTest, StreamChunksWrittenFromAnotherThreadArriveInOrderAndCloseEndsTheBody) {
  ServeStreamsUnderWatch();
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  std::shared_ptr<ResponseStream> stream = StartWatch(client);
  ASSERT_TRUE(stream);
  constexpr int kEvents = 2000;
  std::string expected;
  for (int i = 0; i < kEvents; ++i) expected += "data: " + std::to_string(i) + "\n\n";
  std::thread writer([stream] {
    for (int i = 0; i < kEvents; ++i) {
      EXPECT_TRUE(stream->Write("data: " + std::to_string(i) + "\n\n"));
    }
    stream->Close();
    EXPECT_FALSE(stream->Write("too late"));
  });
  EXPECT_EQ(client.ReadChunkedBytes(expected.size()), expected);
  EXPECT_EQ(client.ReadChunk(), "");  // the last chunk
  writer.join();
  EXPECT_TRUE(streams_.WaitForClosed(1, milliseconds(1000)));
  // Keep-alive: the connection serves its next request.
  auto next = client.Get("/next");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "GET /next");
}

TEST_F(ServerTest, PipelinedRequestAfterAStreamIsServedWhenTheStreamEnds) {
  ServeStreamsUnderWatch();
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(
      client.Send("GET /watch HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(client.ReadHead());
  ASSERT_TRUE(streams_.WaitForOpened(1, milliseconds(2000)));
  ASSERT_TRUE(client.Send("GET /third HTTP/1.1\r\nHost: t\r\n\r\n"));  // sent while streaming
  ASSERT_TRUE(streams_.Get("/watch")->Write("x"));
  EXPECT_EQ(client.ReadChunk(), "x");
  streams_.Get("/watch")->Close();
  EXPECT_EQ(client.ReadChunk(), "");
  auto after = client.Read();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "GET /after");
  auto third = client.Read();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->body, "GET /third");
}

TEST_F(ServerTest, ClientDisconnectEndsTheStreamPromptly) {
  ServeStreamsUnderWatch();
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  std::shared_ptr<ResponseStream> stream = StartWatch(client);
  ASSERT_TRUE(stream);
  const auto start = SteadyClock::now();
  client.Close();
  // Nothing is written: the server notices through the read it keeps pending.
  ASSERT_TRUE(streams_.WaitForClosed(1, milliseconds(1000)));
  EXPECT_LT(ElapsedMs(start), 1000);
  EXPECT_FALSE(stream->Write("nobody listens"));
}

TEST_F(ServerTest, StreamBufferOverflowClosesTheConnectionWithoutTheLastChunk) {
  ServeStreamsUnderWatch(/*max_buffered_bytes=*/64);
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  std::shared_ptr<ResponseStream> stream = StartWatch(client);
  ASSERT_TRUE(stream);
  EXPECT_FALSE(stream->Write(std::string(100, 'x')));
  EXPECT_EQ(streams_.closed(), 1U);
  EXPECT_TRUE(client.WaitForClose());  // no chunk, no last chunk: the client sees a cut body
}

TEST_F(ServerTest, StreamReaderThatStopsReadingIsCutOffByTheWriteTimeout) {
  ServeStreamsUnderWatch(/*max_buffered_bytes=*/64 << 20);
  ServerOptions options = TestOptions();
  options.write_timeout = milliseconds(200);
  RunningServer server(options, handler_);
  Client client(server.port());
  std::shared_ptr<ResponseStream> stream = StartWatch(client);
  ASSERT_TRUE(stream);
  // More than the socket buffers of both ends hold: the write cannot finish
  // while the client reads nothing.
  const auto start = SteadyClock::now();
  ASSERT_TRUE(stream->Write(std::string(32 << 20, 'x')));
  ASSERT_TRUE(streams_.WaitForClosed(1, milliseconds(2000)));
  EXPECT_GE(ElapsedMs(start), 150);
  EXPECT_FALSE(stream->Write("more"));
}

TEST_F(ServerTest, RespondingWithAStreamAfterTheHandlerTimeoutEndsTheStream) {
  ParkedResponds parked;
  handler_.on_request = [&](const Request&, Respond respond) { parked.Park(std::move(respond)); };
  ServerOptions options = TestOptions();
  options.handler_timeout = milliseconds(100);
  RunningServer server(options, handler_);
  Client client(server.port());
  auto r = client.Get("/watch");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  ASSERT_TRUE(parked.WaitForOne(milliseconds(1000)));
  parked.Take()(StreamedResponse(streams_.Open("late")));
  EXPECT_EQ(streams_.closed(), 1U);  // at once: nobody will drain it
}

TEST_F(ServerTest, HeadOfAStreamedResponseGetsTheHeaderOnlyAndEndsTheStream) {
  ServeStreamsUnderWatch();
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send("HEAD /watch HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = client.ReadHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(Lower(head->Header("transfer-encoding")), "chunked");
  ASSERT_TRUE(streams_.WaitForClosed(1, milliseconds(1000)));
  auto next = client.Get("/next");  // nothing of a body came before it
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "GET /next");
}

TEST_F(ServerTest, Http10StreamedResponseIsRawAndEndsWithTheConnection) {
  ServeStreamsUnderWatch();
  RunningServer server(TestOptions(), handler_);
  Client client(server.port());
  ASSERT_TRUE(client.Send("GET /watch HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto head = client.ReadHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_FALSE(head->HasHeader("transfer-encoding"));
  EXPECT_FALSE(head->HasHeader("content-length"));
  ASSERT_TRUE(streams_.WaitForOpened(1, milliseconds(2000)));
  std::shared_ptr<ResponseStream> stream = streams_.Get("/watch");
  ASSERT_TRUE(stream->Write("data: a\n\n"));
  ASSERT_TRUE(stream->Write("data: b\n\n"));
  stream->Close();
  EXPECT_EQ(client.ReadUntilClose(), "data: a\n\ndata: b\n\n");
}

TEST_F(ServerTest, StreamingConnectionHoldsItsSlotAndOutlivesReadAndIdleTimeouts) {
  ServeStreamsUnderWatch();
  ServerOptions options = TestOptions();
  options.max_connections = 1;
  options.read_timeout = milliseconds(100);
  options.idle_timeout = milliseconds(100);
  options.handler_timeout = milliseconds(100);
  RunningServer server(options, handler_);
  Client client(server.port());
  std::shared_ptr<ResponseStream> stream = StartWatch(client);
  ASSERT_TRUE(stream);
  std::this_thread::sleep_for(milliseconds(400));  // past every timeout but the write one
  Client refused(server.port());  // the stream is a request in progress: never evicted
  EXPECT_TRUE(refused.WaitForClose());
  ASSERT_TRUE(stream->Write("late"));
  EXPECT_EQ(client.ReadChunk(), "late");
  stream->Close();
  EXPECT_EQ(client.ReadChunk(), "");
  EXPECT_EQ(streams_.closed(), 1U);
}

TEST_F(ServerTest, DrainEndsOpenStreamsAndRunReturnsWithinTheDrainTimeout) {
  ServeStreamsUnderWatch();
  // The handler closes the streams it knows of; one it forgot is cut at the drain timeout.
  handler_.on_drain = [&] { streams_.Get("/watch/polite")->Close(); };
  ServerOptions options = TestOptions();
  options.drain_timeout = milliseconds(300);
  RunningServer server(options, handler_);
  Client polite(server.port());
  Client forgotten(server.port());
  ASSERT_TRUE(StartWatch(polite, "/watch/polite"));
  ASSERT_TRUE(StartWatch(forgotten, "/watch/forgotten"));
  const auto start = SteadyClock::now();
  server.Stop();
  EXPECT_EQ(polite.ReadChunk(), "");  // ended properly
  EXPECT_TRUE(polite.WaitForClose());
  EXPECT_LT(ElapsedMs(start), 250);
  EXPECT_TRUE(forgotten.WaitForClose());  // cut, without the last chunk
  server.Join();
  const long long elapsed = ElapsedMs(start);
  EXPECT_GE(elapsed, 250);
  EXPECT_LT(elapsed, 1300);
  EXPECT_TRUE(server.returned());
  EXPECT_EQ(streams_.closed(), 2U);
}

TEST_F(ServerTest, TwoHundredConcurrentStreamsEachGetAllTheirData) {
  ServeStreamsUnderWatch();
  ServerOptions options = TestOptions();
  options.io_threads = 2;
  RunningServer server(options, handler_);
  constexpr int kStreams = 200;
  constexpr int kEvents = 50;
  const auto event = [](int stream, int i) {
    return "id: " + std::to_string(stream) + "." + std::to_string(i) + "\ndata: x\n\n";
  };
  std::atomic<int> complete{0};
  std::vector<std::thread> clients;
  clients.reserve(kStreams);
  for (int c = 0; c < kStreams; ++c) {
    clients.emplace_back([&, c] {
      Client client(server.port(), milliseconds(10'000));
      if (!client.Send("GET /watch/" + std::to_string(c) + " HTTP/1.1\r\nHost: t\r\n\r\n")) return;
      auto head = client.ReadHead();
      if (!head || head->status != 200) return;
      std::string expected;
      for (int i = 0; i < kEvents; ++i) expected += event(c, i);
      if (client.ReadChunkedBytes(expected.size()) != expected) return;
      if (client.ReadChunk() != "") return;
      ++complete;
    });
  }
  ASSERT_TRUE(streams_.WaitForOpened(kStreams, milliseconds(10'000)));
  // Two writers interleave the streams' events.
  std::vector<std::thread> writers;
  writers.reserve(2);
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kEvents; ++i) {
        for (int c = w; c < kStreams; c += 2) {
          EXPECT_TRUE(streams_.Get("/watch/" + std::to_string(c))->Write(event(c, i)));
        }
      }
      for (int c = w; c < kStreams; c += 2) streams_.Get("/watch/" + std::to_string(c))->Close();
    });
  }
  for (auto& t : writers) t.join();
  for (auto& t : clients) t.join();
  EXPECT_EQ(complete.load(), kStreams);
  EXPECT_EQ(streams_.closed(), static_cast<std::size_t>(kStreams));
}

}  // namespace
}  // namespace rtgw::http
