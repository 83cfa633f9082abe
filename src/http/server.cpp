#include "http/server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/http/write.hpp>

#include "common/logging.hpp"
#include "http/pending_response.hpp"
#include "http/response_stream.hpp"

namespace rtgw::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using Strand = asio::strand<asio::io_context::executor_type>;
using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// Bytes asked for by the read that waits for the first byte of a request.
constexpr std::size_t kIdleReadBytes = 16 * 1024;
// After a protocol error the client may still be sending (e.g. the body of a
// 413). Closing with unread data makes the kernel send RST, which can destroy
// our error response before the client reads it, so we half-close and discard
// input for a bounded time and amount first (nginx's lingering close).
constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr std::size_t kLingerBytesMax = 1 << 20;
// Last resort after drain_timeout: how long force-closed connections get to
// unwind before the io_context is stopped.
constexpr std::chrono::milliseconds kForceCloseGrace{1000};
// Back-off after a failed accept (EMFILE and friends) so we do not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";
// Chunked framing of a streamed body (RFC 9112 section 7.1), written by hand so
// that a chunk, and the last chunk after it, leave in one writev.
constexpr std::string_view kChunkEnd = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr std::string_view kChunkEndAndLastChunk = "\r\n0\r\n\r\n";

std::string ChunkSizeLine(std::size_t size) {
  std::array<char, 2 * sizeof(std::size_t)> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), size, 16);
  std::string line(digits.data(), end);
  line += "\r\n";
  return line;
}

char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ToLowerAscii(x) == ToLowerAscii(y);
         });
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  std::string out = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  out += ':';
  out += std::to_string(endpoint.port());
  return out;
}

// Copies what the parser has seen so far (start line, fields) into `out`.
void CopyHead(const BeastRequest& message, Request& out) {
  out.method = std::string(message.method_string());
  out.target = std::string(message.target());
  const std::size_t question = out.target.find('?');
  out.path = out.target.substr(0, question);
  out.query = question == std::string::npos ? std::string() : out.target.substr(question + 1);
  out.headers.clear();
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) c = ToLowerAscii(c);
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
}

// A header the handler may set: the server owns message framing, and CR/LF
// or NUL in a name or value would let a handler split the response.
bool IsAllowedResponseHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  const auto bad = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
  if (std::any_of(name.begin(), name.end(), bad) || std::any_of(value.begin(), value.end(), bad)) {
    return false;
  }
  if (name.find(':') != std::string_view::npos || name.find(' ') != std::string_view::npos) {
    return false;
  }
  return !EqualsIgnoreCase(name, "content-length") && !EqualsIgnoreCase(name, "connection") &&
         !EqualsIgnoreCase(name, "transfer-encoding");
}

// RFC 9110 6.4.1: 1xx, 204 and 304 have no content.
bool HasNoContent(int status) { return status < 200 || status == 204 || status == 304; }

// The status line and the fields of `response` the handler chose (content type and its allowed
// headers). Framing fields are the caller's. Returns the status sent.
int FillHead(const Response& response, unsigned version, bhttp::response_header<>& out) {
  out.version(version);
  const int status = (response.status >= 100 && response.status <= 999) ? response.status : 500;
  out.result(static_cast<unsigned>(status));
  if (!response.content_type.empty()) out.set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) {
    if (!IsAllowedResponseHeader(name, value)) {
      LogWarn("http response header dropped", {{"name", name}});
      continue;
    }
    out.insert(name, value);
  }
  return status;
}

BeastResponse ToBeastResponse(Response response, unsigned version, bool keep_alive,
                              bool head_request) {
  BeastResponse out;
  const int status = FillHead(response, version, out);
  // 204 and 1xx carry no Content-Length either. HEAD gets the length of the
  // body it would have got.
  const bool no_content = HasNoContent(status);
  if (!no_content) out.content_length(response.body.size());
  if (!no_content && !head_request) out.body() = std::move(response.body);
  out.keep_alive(keep_alive);
  return out;
}

struct ProtocolFailure {
  int status;
  std::string_view code;
  std::string message;
};

// Field rules Beast's parser leaves to us: Host on HTTP/1.1, and fields that must not repeat.
std::optional<ProtocolFailure> CheckHeaderFields(const BeastRequest& message,
                                                 const ServerOptions& options) {
  if (message.version() >= 11 && message.count(bhttp::field::host) == 0) {
    return ProtocolFailure{400, "bad_request", "an HTTP/1.1 request must carry a Host header"};
  }
  for (const std::string& name : options.single_value_headers) {
    if (message.count(name) > 1) {
      return ProtocolFailure{400, "bad_request", "header field '" + name + "' must not repeat"};
    }
  }
  return std::nullopt;
}

// Maps a failed request read to the error response it deserves, or nullopt
// when there is nobody to answer (the peer closed or reset the connection).
std::optional<ProtocolFailure> ClassifyReadFailure(const error_code& ec, bool timed_out) {
  if (timed_out) {
    return ProtocolFailure{408, "request_timeout", "request not received within the read timeout"};
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return std::nullopt;
  if (ec == bhttp::error::body_limit) {
    return ProtocolFailure{413, "payload_too_large", "request body exceeds the size limit"};
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return ProtocolFailure{431, "headers_too_large", "request headers exceed the size limit"};
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return ProtocolFailure{400, "bad_request", "malformed HTTP request"};
  }
  return std::nullopt;
}

// Size of the header block as sent: request line plus "name: value\r\n" per field.
std::size_t HeaderBytes(const BeastRequest& message) {
  std::size_t total = message.method_string().size() + message.target().size() + 12;
  for (const auto& field : message) total += field.name_string().size() + field.value().size() + 4;
  return total + 2;
}

// A non-positive timeout means "no limit".
bool IsLimited(std::chrono::milliseconds timeout) { return timeout.count() > 0; }

// State every session shares with the server. Owned by Server::Impl.
struct ServerShared {
  ServerShared(ServerOptions o, Handler& h) : options(std::move(o)), handler(h) {}
  const ServerOptions options;
  Handler& handler;
  std::atomic<bool> draining{false};
};

// One accepted TCP connection serving HTTP/1.1 requests one at a time.
//
// Thread-safety: every member is used on the connection's strand only: the
// session coroutine, the watchdog, the read that watches a streaming
// connection, and the OnDrain/ForceClose/OnResponseReady/OnStreamWake posts.
// Lifetime: shared by the co_spawn completion handler, the server's
// connection registry and pending timer/read/wake handlers; the last one frees
// it. A ResponseStream holds only a weak reference (its wake).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerShared& shared, tcp::socket socket)
      : shared_(shared),
        executor_(socket.get_executor()),
        socket_(std::move(socket)),
        watchdog_(executor_, Clock::time_point::max()),
        wake_timer_(executor_) {
    error_code ec;
    const tcp::endpoint remote = socket_.remote_endpoint(ec);
    if (!ec) {
      remote_address_ = FormatEndpoint(remote);
      peer_ = remote.address().to_string();
    }
  }
  ~Session() {
    // The io_context was torn down mid-stream: the handler still learns that it ended.
    if (stream_) stream_->Abort();
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const asio::any_io_executor& executor() const { return executor_; }
  const std::string& remote_address() const { return remote_address_; }
  const std::string& peer() const { return peer_; }

  // Connection slots (ServerOptions::max_connections). Idle = waiting for the first byte of a
  // request, which a new connection is from the start. The accept path reads these under the
  // registry lock from another thread; TryEvict and the session's own transitions are one
  // compare-and-swap each, so a session is either evicted while idle or serves its request.
  bool IsIdle() const { return slot_.load(std::memory_order_acquire) == kSlotIdle; }
  Clock::rep idle_since() const { return idle_since_.load(std::memory_order_relaxed); }
  // Takes the slot of an idle connection; the caller then posts ForceClose.
  bool TryEvict() {
    std::uint8_t expected = kSlotIdle;
    return slot_.compare_exchange_strong(expected, kSlotEvicted, std::memory_order_acq_rel);
  }

  asio::awaitable<void> Run();
  // Server is draining: a connection waiting for its next request closes now;
  // one with a request in flight finishes it and closes after the response.
  void OnDrain();
  // Drain deadline passed: close whatever the state.
  void ForceClose();

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kStreaming, kClosing };
  enum SlotState : std::uint8_t { kSlotIdle, kSlotBusy, kSlotEvicted };
  struct HandlerResult {
    std::optional<Response> response;  // nullopt: connection force-closed
    bool close = false;
  };

  asio::awaitable<bool> ReadRequest();
  asio::awaitable<HandlerResult> CallHandler(Request request);
  asio::awaitable<bool> Write(BeastResponse response);
  // A response with Response::stream. True when the connection may serve its next request.
  asio::awaitable<bool> WriteStreamed(Response response, unsigned version, bool keep_alive,
                                      bool head_request);
  // Drains stream_ onto the socket until it ends. True when the body was completed.
  asio::awaitable<bool> StreamBody(std::string first, bool chunked);
  asio::awaitable<bool> WriteStreamPiece(const std::string& data, bool chunked, bool last);
  void LimitUnacknowledgedTime();
  // While streaming, one read is kept pending so that a client going away is noticed at once.
  void ReadWhileStreaming();
  void OnStreamRead(const error_code& ec, std::size_t n);
  asio::awaitable<void> StopReadingWhileStreaming();
  void OnStreamWake(std::uint64_t request_sequence);
  asio::awaitable<void> FailRequest(const ProtocolFailure& failure);
  asio::awaitable<void> LingeringClose();
  Request PartialRequest() const;
  void OnResponseReady(std::uint64_t request_sequence);

  // Timeouts: one deadline per phase, enforced by a single watchdog timer that
  // is re-armed only when a deadline moves earlier than its expiry, so the
  // common case costs a clock read and no timer operation.
  void SetDeadline(std::chrono::milliseconds timeout);
  void ClearDeadline() { deadline_ = Clock::time_point::max(); }
  void ArmWatchdog(Clock::time_point expiry);
  void OnWatchdog(const error_code& ec, std::uint64_t generation);
  void CloseSocket();
  // False when the slot was taken by a new connection (the session must close).
  bool EnterIdle();
  bool LeaveIdle();

  ServerShared& shared_;
  const asio::any_io_executor executor_;  // the connection's strand
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  asio::steady_timer watchdog_;
  asio::steady_timer wake_timer_;  // waits for Respond or stream data; cancelled to wake
  Clock::time_point deadline_ = Clock::time_point::max();
  std::uint64_t watchdog_generation_ = 0;
  std::uint64_t request_sequence_ = 0;
  Clock::time_point received_at_{};
  std::string remote_address_;
  std::string peer_;  // the remote IP address: the per-peer cap's key
  std::atomic<std::uint8_t> slot_{kSlotIdle};
  std::atomic<Clock::rep> idle_since_{Clock::now().time_since_epoch().count()};
  Phase phase_ = Phase::kIdle;
  bool timed_out_ = false;
  bool closed_ = false;
  // The response being streamed (phase_ kStreaming), else null.
  std::shared_ptr<ResponseStream> stream_;
  bool stream_wake_ = false;           // data or the end may be queued: Take() before waiting
  bool stream_read_pending_ = false;   // ReadWhileStreaming's read has not completed
  bool stream_read_stopping_ = false;  // StopReadingWhileStreaming cancelled it
  bool stream_peer_gone_ = false;      // EOF, error or too many pipelined bytes while streaming
};

asio::awaitable<void> Session::Run() {
  error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);

  while (!closed_ && !shared_.draining.load(std::memory_order_acquire)) {
    if (buffer_.size() == 0) {
      // Keep-alive wait: nothing of the next request has arrived yet. Read its
      // first bytes here so the read timeout can start from the first byte.
      // A new connection gets the read timeout for its first byte, not the
      // idle timeout: a silent connection must not hold a slot for a minute.
      phase_ = Phase::kIdle;
      SetDeadline(request_sequence_ == 0 ? shared_.options.read_timeout
                                         : shared_.options.idle_timeout);
      if (!EnterIdle()) break;
      auto [read_ec, n] =
          co_await socket_.async_read_some(buffer_.prepare(kIdleReadBytes), kAsTuple);
      // EOF, idle timeout, reset, drain or eviction: close silently.
      if (!LeaveIdle() || read_ec) break;
      buffer_.commit(n);
    }

    phase_ = Phase::kReading;
    if (!co_await ReadRequest()) break;

    BeastRequest& message = parser_->get();
    const bool keep_alive = message.keep_alive();
    const bool head_request = message.method() == bhttp::verb::head;
    const unsigned version = message.version();
    Request request;
    CopyHead(message, request);
    request.body = std::move(message.body());
    request.remote_address = remote_address_;
    request.received_at = received_at_;

    HandlerResult result = co_await CallHandler(std::move(request));
    if (!result.response) break;
    const bool keep_open =
        keep_alive && !result.close && !shared_.draining.load(std::memory_order_acquire);
    if (result.response->stream) {
      if (!co_await WriteStreamed(std::move(*result.response), version, keep_open, head_request)) {
        break;
      }
      continue;
    }
    BeastResponse response =
        ToBeastResponse(std::move(*result.response), version, keep_open, head_request);
    if (!co_await Write(std::move(response)) || !keep_open) break;
  }
  CloseSocket();
}

// Reads one request into parser_. On failure answers it if appropriate and
// returns false (the connection must close).
asio::awaitable<bool> Session::ReadRequest() {
  const ServerOptions& options = shared_.options;
  parser_.emplace();
  parser_->header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(options.header_limit_bytes, UINT32_MAX)));
  parser_->body_limit(static_cast<std::uint64_t>(options.body_limit_bytes));
  SetDeadline(options.read_timeout);

  auto [ec, n] = co_await bhttp::async_read_header(socket_, buffer_, *parser_, kAsTuple);
  // Beast applies header_limit to each parse window, not to the whole header
  // block: many small fields arriving in several reads can pass it. Enforce
  // the total here, before anything looks at the request.
  if (!ec && HeaderBytes(parser_->get()) > options.header_limit_bytes) {
    ec = bhttp::error::header_limit;
  }
  if (!ec) {
    received_at_ = Clock::now();
    const BeastRequest& message = parser_->get();
    if (std::optional<ProtocolFailure> failure = CheckHeaderFields(message, options)) {
      co_await FailRequest(*failure);
      co_return false;
    }
    if (!parser_->is_done() && message.version() >= 11 &&
        EqualsIgnoreCase(message[bhttp::field::expect], "100-continue")) {
      auto [write_ec, written] =
          co_await asio::async_write(socket_, asio::buffer(kContinueResponse), kAsTuple);
      ec = write_ec;
    }
    if (!ec && !parser_->is_done()) {
      std::tie(ec, n) = co_await bhttp::async_read(socket_, buffer_, *parser_, kAsTuple);
    }
  }
  if (!ec) co_return true;
  if (closed_) co_return false;
  const std::optional<ProtocolFailure> failure = ClassifyReadFailure(ec, timed_out_);
  if (failure) co_await FailRequest(*failure);
  co_return false;
}

asio::awaitable<Session::HandlerResult> Session::CallHandler(Request request) {
  ClearDeadline();
  const std::uint64_t sequence = ++request_sequence_;
  auto pending = std::make_shared<PendingResponse>();
  // Abandon on every exit, including destruction of this frame when the
  // io_context is torn down, so no later Respond reaches this session.
  struct AbandonOnExit {
    PendingResponse& pending;
    ~AbandonOnExit() {
      std::optional<Response> dropped = pending.Abandon();
      if (dropped && dropped->stream) dropped->stream->Abort();
    }
  } abandon_on_exit{*pending};

  bool handler_threw = false;
  try {
    shared_.handler.Handle(std::move(request), [pending](Response response) {
      std::shared_ptr<ResponseStream> stream = response.stream;
      if (!pending->Complete(std::move(response))) {
        LogWarn("http respond ignored: already responded or timed out");
        // Nobody will drain it: end it, so that its writer learns at once (OnClosed).
        if (stream) stream->Abort();
      }
    });
  } catch (const std::exception& e) {
    LogError("http handler threw", {{"error", e.what()}, {"remote", remote_address_}});
    handler_threw = true;
  } catch (...) {
    LogError("http handler threw", {{"error", "unknown exception"}, {"remote", remote_address_}});
    handler_threw = true;
  }
  if (handler_threw) {
    if (std::optional<Response> response = pending->Abandon()) {
      co_return HandlerResult{std::move(response)};
    }
    co_return HandlerResult{
        shared_.handler.MakeProtocolError(500, "internal", "handler failed", PartialRequest()),
        true};
  }

  // Fast path: the handler responded synchronously.
  std::optional<Response> response = pending->TakeOrWait([self = shared_from_this(), sequence] {
    asio::post(self->executor_, [self, sequence] { self->OnResponseReady(sequence); });
  });
  if (response) co_return HandlerResult{std::move(response)};

  phase_ = Phase::kHandling;
  const std::chrono::milliseconds handler_timeout = shared_.options.handler_timeout;
  if (IsLimited(handler_timeout)) {
    wake_timer_.expires_after(handler_timeout);
  } else {
    wake_timer_.expires_at(Clock::time_point::max());
  }
  // Woken by OnResponseReady (cancel), ForceClose (cancel) or the timeout.
  co_await wake_timer_.async_wait(kAsTuple);
  response = pending->Abandon();
  if (response) co_return HandlerResult{std::move(response)};
  if (closed_) co_return HandlerResult{};
  LogWarn("http handler timed out",
          {{"remote", remote_address_},
           {"handler_timeout_ms", static_cast<long long>(handler_timeout.count())}});
  co_return HandlerResult{
      shared_.handler.MakeProtocolError(
          503, "handler_timeout", "the request handler did not respond in time", PartialRequest()),
      true};
}

void Session::OnResponseReady(std::uint64_t request_sequence) {
  // A wake for an earlier request (its response raced with its timeout) must
  // not cut the wait for the current one short.
  if (request_sequence == request_sequence_ && phase_ == Phase::kHandling) wake_timer_.cancel();
}

asio::awaitable<bool> Session::Write(BeastResponse response) {
  phase_ = Phase::kWriting;
  SetDeadline(shared_.options.write_timeout);
  // string_body serializes header and body as one buffer sequence, so a small
  // response leaves in a single writev.
  auto [ec, n] = co_await bhttp::async_write(socket_, response, kAsTuple);
  ClearDeadline();
  co_return !ec;
}

asio::awaitable<bool> Session::WriteStreamed(Response response, unsigned version, bool keep_alive,
                                             bool head_request) {
  phase_ = Phase::kStreaming;
  stream_ = std::move(response.stream);
  // HTTP/1.0 has no chunked coding: the body goes out raw and the end of the
  // connection ends it.
  const bool chunked = version >= 11;
  const bool keep_open = keep_alive && chunked;
  bhttp::response<bhttp::empty_body> head;
  const int status = FillHead(response, version, head);
  const bool no_content = HasNoContent(status);
  // HEAD gets the fields a GET would have got, Transfer-Encoding included.
  if (chunked && !no_content) head.chunked(true);
  head.keep_alive(keep_open);

  SetDeadline(shared_.options.write_timeout);
  bhttp::response_serializer<bhttp::empty_body> serializer(head);
  auto [ec, n] = co_await bhttp::async_write_header(socket_, serializer, kAsTuple);
  ClearDeadline();
  bool completed = !ec;
  if (completed && !head_request && !no_content) {
    LimitUnacknowledgedTime();
    completed = co_await StreamBody(std::move(response.body), chunked);
  }
  const std::shared_ptr<ResponseStream> stream = std::move(stream_);
  stream->SetWake(nullptr);
  // Ends the stream (running OnClosed) unless its end was written; for HEAD and
  // statuses without content it ends as soon as the header is out.
  stream->Abort();
  const bool serve_next = completed && keep_open;
  co_return serve_next;
}

asio::awaitable<bool> Session::StreamBody(std::string first, bool chunked) {
  ResponseStream& stream = *stream_;
  stream.SetWake([weak = weak_from_this(), sequence = request_sequence_] {
    if (std::shared_ptr<Session> self = weak.lock()) {
      asio::post(self->executor_, [self, sequence] { self->OnStreamWake(sequence); });
    }
  });
  stream_peer_gone_ = false;
  ReadWhileStreaming();
  std::string data = std::move(first);
  bool completed = false;
  for (;;) {
    stream_wake_ = false;
    ResponseStream::Taken taken = stream.Take();
    if (taken.aborted || closed_ || stream_peer_gone_) break;
    if (data.empty()) {
      data = std::move(taken.data);
    } else {
      data += taken.data;
    }
    if (!data.empty() || (taken.ended && chunked)) {
      if (!co_await WriteStreamPiece(data, chunked, taken.ended)) break;
      data.clear();
    }
    if (taken.ended) {
      completed = true;
      break;
    }
    // Woken by OnStreamWake, OnStreamRead or ForceClose. A wake that came
    // while writing already set stream_wake_: Take() again first.
    if (!stream_wake_ && !closed_ && !stream_peer_gone_) {
      wake_timer_.expires_at(Clock::time_point::max());
      co_await wake_timer_.async_wait(kAsTuple);
    }
  }
  co_await StopReadingWhileStreaming();
  co_return completed;
}

asio::awaitable<bool> Session::WriteStreamPiece(const std::string& data, bool chunked, bool last) {
  SetDeadline(shared_.options.write_timeout);
  error_code ec;
  if (!chunked) {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(data), kAsTuple);
  } else if (data.empty()) {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket_, asio::buffer(kLastChunk), kAsTuple);
  } else {
    const std::string size_line = ChunkSizeLine(data.size());
    const std::array<asio::const_buffer, 3> buffers{
        asio::buffer(size_line), asio::buffer(data),
        asio::buffer(last ? kChunkEndAndLastChunk : kChunkEnd)};
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, buffers, kAsTuple);
  }
  ClearDeadline();
  co_return !ec;
}

void Session::LimitUnacknowledgedTime() {
  // A client that vanished without FIN or RST (a partition, a host gone) would
  // otherwise hold its stream until TCP gives up retransmitting, after about 15
  // minutes, since small writes (heartbeats) never fill the send buffer. With
  // TCP_USER_TIMEOUT, data left unacknowledged for write_timeout ends the
  // connection: the pending read fails and the stream is aborted. It stays set
  // for later responses on the connection, where write_timeout bounds the
  // write anyway.
  const std::chrono::milliseconds timeout = shared_.options.write_timeout;
  if (!IsLimited(timeout)) return;
  const auto timeout_ms = static_cast<unsigned int>(
      std::min<std::chrono::milliseconds::rep>(timeout.count(), INT32_MAX));
  if (::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms,
                   sizeof(timeout_ms)) != 0) {
    LogWarn("http: TCP_USER_TIMEOUT not set", {{"remote", remote_address_}});
  }
}

void Session::ReadWhileStreaming() {
  stream_read_pending_ = true;
  socket_.async_read_some(buffer_.prepare(kIdleReadBytes),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) {
                            self->OnStreamRead(ec, n);
                          });
}

void Session::OnStreamRead(const error_code& ec, std::size_t n) {
  stream_read_pending_ = false;
  buffer_.commit(n);
  if (stream_read_stopping_) {
    wake_timer_.cancel();  // StopReadingWhileStreaming waits for this
    return;
  }
  // Bytes of a pipelined next request are kept for after the stream, as much
  // as one request may hold; beyond that the client is not one we can serve.
  const ServerOptions& options = shared_.options;
  if (!ec && buffer_.size() <= options.header_limit_bytes + options.body_limit_bytes) {
    ReadWhileStreaming();
    return;
  }
  // EOF, reset, or the write watchdog cancelled the socket: the client is gone
  // or cut off. The writer learns now, not at its next write.
  stream_peer_gone_ = true;
  if (stream_) stream_->Abort();
  wake_timer_.cancel();
}

asio::awaitable<void> Session::StopReadingWhileStreaming() {
  stream_read_stopping_ = true;
  if (stream_read_pending_ && !closed_) {
    error_code ignored;
    socket_.cancel(ignored);  // nothing else is pending on the socket now
  }
  while (stream_read_pending_) {
    wake_timer_.expires_at(Clock::time_point::max());
    co_await wake_timer_.async_wait(kAsTuple);
  }
  stream_read_stopping_ = false;
}

void Session::OnStreamWake(std::uint64_t request_sequence) {
  // A wake for an earlier stream must not cut another wait short.
  if (request_sequence != request_sequence_ || phase_ != Phase::kStreaming) return;
  stream_wake_ = true;
  wake_timer_.cancel();
}

asio::awaitable<void> Session::FailRequest(const ProtocolFailure& failure) {
  Response response = shared_.handler.MakeProtocolError(failure.status, failure.code,
                                                        failure.message, PartialRequest());
  const unsigned version = 11;
  if (co_await Write(ToBeastResponse(std::move(response), version, /*keep_alive=*/false,
                                     /*head_request=*/false))) {
    co_await LingeringClose();
  }
}

asio::awaitable<void> Session::LingeringClose() {
  phase_ = Phase::kClosing;
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  SetDeadline(kLingerTimeout);
  std::size_t discarded = 0;
  while (!closed_ && discarded < kLingerBytesMax) {
    buffer_.clear();
    auto [read_ec, n] = co_await socket_.async_read_some(buffer_.prepare(kIdleReadBytes), kAsTuple);
    if (read_ec) break;
    discarded += n;
  }
  ClearDeadline();
}

Request Session::PartialRequest() const {
  Request partial;
  if (parser_) CopyHead(parser_->get(), partial);
  partial.remote_address = remote_address_;
  partial.received_at = received_at_;
  return partial;
}

void Session::OnDrain() {
  if (phase_ != Phase::kIdle || closed_) return;
  error_code ec;
  socket_.cancel(ec);  // the idle read completes with operation_aborted
}

void Session::ForceClose() {
  CloseSocket();
  wake_timer_.cancel();
}

void Session::CloseSocket() {
  if (closed_) return;
  closed_ = true;
  watchdog_.cancel();
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

bool Session::EnterIdle() {
  idle_since_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  std::uint8_t expected = kSlotBusy;
  if (slot_.compare_exchange_strong(expected, kSlotIdle, std::memory_order_acq_rel)) return true;
  return expected == kSlotIdle;  // a new connection is idle from the start
}

bool Session::LeaveIdle() {
  std::uint8_t expected = kSlotIdle;
  return slot_.compare_exchange_strong(expected, kSlotBusy, std::memory_order_acq_rel);
}

void Session::SetDeadline(std::chrono::milliseconds timeout) {
  timed_out_ = false;
  if (!IsLimited(timeout)) {
    ClearDeadline();
    return;
  }
  deadline_ = Clock::now() + timeout;
  if (deadline_ < watchdog_.expiry() && !closed_) ArmWatchdog(deadline_);
}

void Session::ArmWatchdog(Clock::time_point expiry) {
  watchdog_.expires_at(expiry);  // cancels a pending wait; its handler sees a stale generation
  const std::uint64_t generation = ++watchdog_generation_;
  watchdog_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
    self->OnWatchdog(ec, generation);
  });
}

void Session::OnWatchdog(const error_code& ec, std::uint64_t generation) {
  if (ec || generation != watchdog_generation_ || closed_) return;
  if (deadline_ == Clock::time_point::max()) {
    watchdog_.expires_at(Clock::time_point::max());  // idle until the next SetDeadline
    return;
  }
  if (deadline_ > Clock::now()) {
    ArmWatchdog(deadline_);
    return;
  }
  ClearDeadline();
  watchdog_.expires_at(Clock::time_point::max());
  timed_out_ = true;
  // Cancel rather than close: a read timeout still owes the client a 408.
  error_code cancel_ec;
  socket_.cancel(cancel_ec);
}

}  // namespace

// Owns the io_context, the listening socket and the registry of connections.
// Accepting, draining and signal handling run on the `control_` strand.
class Server::Impl {
 public:
  Impl(ServerOptions options, Handler& handler)
      : shared_(std::move(options), handler),
        io_threads_(std::max(1, shared_.options.io_threads)),
        ioc_(io_threads_),
        control_(asio::make_strand(ioc_)),
        acceptor_(control_),
        drain_timer_(control_) {}

  ~Impl() {
    ioc_.stop();
    // Drop the registry's references while the io_context still exists;
    // frames still pending in it are destroyed with it.
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.clear();
  }

  Status Listen();
  std::uint16_t Port() const { return port_; }
  void Run(bool handle_signals);
  void Stop();
  void SetHangupHandler(std::function<void()> on_hangup) { on_hangup_ = std::move(on_hangup); }

 private:
  void WaitForSignal();
  asio::awaitable<void> AcceptLoop();
  void StartSession(tcp::socket socket);
  // Registers `session` if a slot is free or can be taken from an idle connection (returned in
  // `evicted`, already unregistered). Caller holds sessions_mu_.
  bool Admit(const std::shared_ptr<Session>& session,
             std::vector<std::shared_ptr<Session>>& evicted);
  // The connection idle longest (of `peer`'s when not empty) whose slot could be taken, or null.
  std::shared_ptr<Session> EvictOldestIdle(const std::string* peer);
  void Unregister(Session* session);
  void LogSlotPressure(bool rejected, std::size_t evicted);
  void OnSessionEnd(const std::shared_ptr<Session>& session, const std::exception_ptr& error);
  void StartDrain();
  void OnDrainDeadline(const error_code& ec);
  void FinishDrain();
  std::vector<std::shared_ptr<Session>> SnapshotSessions();
  void RunIoThread();
  Status ListenError(const std::string& what) const;

  ServerShared shared_;
  const int io_threads_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::mutex sessions_mu_;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;  // GUARDED_BY(sessions_mu_)
  // Open connections per peer address, kept only when max_connections_per_peer is set.
  std::unordered_map<std::string, std::size_t> peer_connections_;  // GUARDED_BY(sessions_mu_)
  // Declared after the state above so that it is destroyed first.
  asio::io_context ioc_;
  Strand control_;
  tcp::acceptor acceptor_;
  asio::steady_timer drain_timer_;
  std::optional<asio::signal_set> signals_;
  std::function<void()> on_hangup_;  // set before Run
  // Used on control_ only.
  bool drain_started_ = false;
  bool drain_finished_ = false;
  bool force_closed_ = false;
  Clock::time_point last_reject_log_{};
  std::size_t rejected_since_log_ = 0;
  std::size_t evicted_since_log_ = 0;
};

Status Server::Impl::ListenError(const std::string& what) const {
  return Unavailable("cannot listen on " + shared_.options.host + ":" +
                     std::to_string(shared_.options.port) + ": " + what);
}

Status Server::Impl::Listen() {
  const ServerOptions& options = shared_.options;
  error_code ec;
  tcp::endpoint endpoint;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    // A host name such as "localhost": resolve once, at start-up.
    tcp::resolver resolver(ioc_);
    auto results =
        resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec) return ListenError(ec.message());
    if (results.empty()) return ListenError("host resolves to no address");
    endpoint = results.begin()->endpoint();
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return ListenError(ec.message());
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) port_ = acceptor_.local_endpoint(ec).port();
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
    return ListenError(ec.message());
  }
  LogInfo("listening", {{"host", options.host},
                        {"port", static_cast<int>(port_)},
                        {"io_threads", io_threads_},
                        {"max_connections", options.max_connections},
                        {"max_connections_per_peer", options.max_connections_per_peer},
                        {"idle_timeout_ms", static_cast<long long>(options.idle_timeout.count())}});
  return Ok{};
}

void Server::Impl::Run(bool handle_signals) {
  if (!acceptor_.is_open()) {
    LogError("http server not listening; call Listen() before Run()");
    return;
  }
  if (handle_signals) {
    signals_.emplace(control_, SIGINT, SIGTERM);
    if (on_hangup_) signals_->add(SIGHUP);
    WaitForSignal();
  }
  asio::co_spawn(control_, AcceptLoop(), [](const std::exception_ptr& error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      LogError("http accept loop failed", {{"error", e.what()}});
    } catch (...) {
      LogError("http accept loop failed", {{"error", "unknown exception"}});
    }
  });

  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(io_threads_ - 1));
  for (int i = 1; i < io_threads_; ++i) threads.emplace_back([this] { RunIoThread(); });
  RunIoThread();
  for (std::thread& t : threads) t.join();
  signals_.reset();
  LogInfo("stopped", {{"port", static_cast<int>(port_)}, {"forced", force_closed_ ? 1 : 0}});
}

void Server::Impl::WaitForSignal() {
  signals_->async_wait([this](const error_code& ec, int signal_number) {
    if (ec) return;
    LogInfo("signal received", {{"signal", signal_number}});
    if (signal_number == SIGHUP) {
      on_hangup_();
      // The drain cancels the set; until then every SIGHUP is served.
      if (!drain_started_) WaitForSignal();
      return;
    }
    Stop();
  });
}

void Server::Impl::RunIoThread() {
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      // Completion handlers do not throw by design; keep the thread serving.
      LogError("http io thread caught exception", {{"error", e.what()}});
    }
  }
}

void Server::Impl::Stop() {
  if (stop_requested_.exchange(true)) return;
  asio::post(control_, [this] { StartDrain(); });
}

asio::awaitable<void> Server::Impl::AcceptLoop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), kAsTuple);
    if (!acceptor_.is_open() || shared_.draining.load(std::memory_order_acquire)) {
      error_code ignored;
      socket.close(ignored);
      break;
    }
    if (ec) {
      LogWarn("http accept failed", {{"error", ec.message()}});
      asio::steady_timer retry(control_, kAcceptRetryDelay);
      co_await retry.async_wait(kAsTuple);
      continue;
    }
    StartSession(tcp::socket(std::move(socket)));
  }
}

void Server::Impl::StartSession(tcp::socket socket) {
  auto session = std::make_shared<Session>(shared_, std::move(socket));
  std::vector<std::shared_ptr<Session>> evicted;
  bool admitted = false;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    admitted = Admit(session, evicted);
  }
  for (const auto& victim : evicted) {
    asio::post(victim->executor(), [victim] { victim->ForceClose(); });
  }
  if (!admitted || !evicted.empty()) LogSlotPressure(!admitted, evicted.size());
  if (!admitted) {
    session->ForceClose();  // never started: nothing else uses it
    return;
  }
  asio::co_spawn(
      session->executor(), session->Run(),
      [this, session](const std::exception_ptr& error) { OnSessionEnd(session, error); });
}

bool Server::Impl::Admit(const std::shared_ptr<Session>& session,
                         std::vector<std::shared_ptr<Session>>& evicted) {
  const ServerOptions& options = shared_.options;
  if (options.max_connections_per_peer > 0 &&
      peer_connections_[session->peer()] >= options.max_connections_per_peer) {
    std::shared_ptr<Session> victim = EvictOldestIdle(&session->peer());
    if (!victim) {
      if (peer_connections_[session->peer()] == 0) peer_connections_.erase(session->peer());
      return false;
    }
    evicted.push_back(std::move(victim));
  }
  if (sessions_.size() >= std::max<std::size_t>(options.max_connections, 1)) {
    std::shared_ptr<Session> victim = EvictOldestIdle(nullptr);
    if (!victim) return false;
    evicted.push_back(std::move(victim));
  }
  sessions_.emplace(session.get(), session);
  if (options.max_connections_per_peer > 0) ++peer_connections_[session->peer()];
  return true;
}

std::shared_ptr<Session> Server::Impl::EvictOldestIdle(const std::string* peer) {
  // A linear scan, only when a cap is reached. A candidate that starts a request between the
  // scan and TryEvict keeps its slot; scan again (bounded: under a flood of requests the new
  // connection is refused instead).
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::shared_ptr<Session> oldest;
    for (const auto& [ptr, candidate] : sessions_) {
      if (!candidate->IsIdle() || (peer != nullptr && candidate->peer() != *peer)) continue;
      if (!oldest || candidate->idle_since() < oldest->idle_since()) oldest = candidate;
    }
    if (!oldest) return nullptr;
    if (oldest->TryEvict()) {
      Unregister(oldest.get());
      return oldest;
    }
  }
  return nullptr;
}

void Server::Impl::Unregister(Session* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;  // already unregistered by an eviction
  if (shared_.options.max_connections_per_peer > 0) {
    auto peer = peer_connections_.find(session->peer());
    if (peer != peer_connections_.end() && --peer->second == 0) peer_connections_.erase(peer);
  }
  sessions_.erase(it);
}

void Server::Impl::LogSlotPressure(bool rejected, std::size_t evicted) {
  // On control_ (the accept loop). One line per second at most, with counts.
  if (rejected) ++rejected_since_log_;
  evicted_since_log_ += evicted;
  const Clock::time_point now = Clock::now();
  if (now - last_reject_log_ < std::chrono::seconds(1)) return;
  LogWarn(
      "http connection slots full: closed the longest-idle connections, refused new ones "
      "when none was idle",
      {{"max_connections", shared_.options.max_connections},
       {"max_connections_per_peer", shared_.options.max_connections_per_peer},
       {"evicted", evicted_since_log_},
       {"rejected", rejected_since_log_}});
  last_reject_log_ = now;
  rejected_since_log_ = 0;
  evicted_since_log_ = 0;
}

void Server::Impl::OnSessionEnd(const std::shared_ptr<Session>& session,
                                const std::exception_ptr& error) {
  // The one place a session's exceptions end up (e.g. MakeProtocolError or an
  // allocation throwing); the connection is already unusable, so just log.
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      LogError("http session failed", {{"remote", session->remote_address()}, {"error", e.what()}});
    } catch (...) {
      LogError("http session failed",
               {{"remote", session->remote_address()}, {"error", "unknown exception"}});
    }
    session->ForceClose();
  }
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    Unregister(session.get());
    last = sessions_.empty() && shared_.draining.load(std::memory_order_acquire);
  }
  if (last) asio::post(control_, [this] { FinishDrain(); });
}

std::vector<std::shared_ptr<Session>> Server::Impl::SnapshotSessions() {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard<std::mutex> lock(sessions_mu_);
  out.reserve(sessions_.size());
  for (const auto& entry : sessions_) out.push_back(entry.second);
  return out;
}

void Server::Impl::StartDrain() {
  if (drain_started_) return;
  drain_started_ = true;
  shared_.draining.store(true, std::memory_order_release);
  shared_.handler.OnDrain();
  error_code ignored;
  acceptor_.close(ignored);
  if (signals_) signals_->cancel(ignored);

  const std::vector<std::shared_ptr<Session>> sessions = SnapshotSessions();
  LogInfo("draining",
          {{"connections", sessions.size()},
           {"drain_timeout_ms", static_cast<long long>(shared_.options.drain_timeout.count())}});
  for (const auto& session : sessions) {
    asio::post(session->executor(), [session] { session->OnDrain(); });
  }
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    if (sessions_.empty()) {
      drain_finished_ = true;
      return;
    }
  }
  drain_timer_.expires_after(shared_.options.drain_timeout);
  drain_timer_.async_wait([this](const error_code& ec) { OnDrainDeadline(ec); });
}

void Server::Impl::OnDrainDeadline(const error_code& ec) {
  if (ec || drain_finished_) return;
  if (!force_closed_) {
    force_closed_ = true;
    const std::vector<std::shared_ptr<Session>> sessions = SnapshotSessions();
    LogWarn("drain timeout: closing connections", {{"connections", sessions.size()}});
    for (const auto& session : sessions) {
      asio::post(session->executor(), [session] { session->ForceClose(); });
    }
    drain_timer_.expires_after(kForceCloseGrace);
    drain_timer_.async_wait([this](const error_code& wait_ec) { OnDrainDeadline(wait_ec); });
    return;
  }
  LogError("http connections did not unwind after force close; stopping io threads");
  ioc_.stop();
}

void Server::Impl::FinishDrain() {
  drain_finished_ = true;
  drain_timer_.cancel();
}

Server::Server(ServerOptions options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() = default;

Status Server::Listen() { return impl_->Listen(); }

std::uint16_t Server::Port() const { return impl_->Port(); }

void Server::Run(bool handle_signals) { impl_->Run(handle_signals); }

void Server::Stop() { impl_->Stop(); }

void Server::SetHangupHandler(std::function<void()> on_hangup) {
  impl_->SetHangupHandler(std::move(on_hangup));
}

}  // namespace rtgw::http
