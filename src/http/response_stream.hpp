#ifndef RTGW_HTTP_RESPONSE_STREAM_HPP_
#define RTGW_HTTP_RESPONSE_STREAM_HPP_

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

// A response body written piece by piece after the header (Server-Sent
// Events). No Beast here: the server drains it from its side.
namespace rtgw::http {

// The handler side creates one with std::make_shared, puts it in
// Response::stream and keeps a reference to write to it later. The server
// sends the status and headers at once (Transfer-Encoding: chunked, no
// Content-Length, Response::body is sent as the first chunk when not empty),
// then each Write as one or more chunks, in order; Close() ends the body with
// the last chunk once everything queued is written. The connection may then
// serve its next request.
//
// The stream also ends, and OnClosed's callback runs, when the client
// disconnects (the server keeps reading the socket while streaming, so a
// client that goes away is noticed at once, not at the next write), a write
// fails or exceeds ServerOptions::write_timeout, the queued bytes would
// exceed `max_buffered_bytes` (a reader slower than its events; the chunk is
// dropped and the connection closed, so the client reconnects and resumes),
// or the server drains (Handler::OnDrain should Close streams; the drain
// timeout force-closes the rest).
//
// Thread-safety: every public member is safe to call from any thread, any
// number of times. Callbacks run outside the internal lock and must not block.
class ResponseStream {
 public:
  explicit ResponseStream(std::size_t max_buffered_bytes = 1 << 20)
      : max_buffered_bytes_(max_buffered_bytes) {}
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;

  // Queues `data` to be written. False (and nothing queued) when the stream
  // has ended, or when it would exceed max_buffered_bytes (the stream then
  // ends: closed=true, the server drops the connection).
  bool Write(std::string data);
  // Ends the body after what is queued. Idempotent.
  void Close();
  bool closed();
  // Bytes queued and not yet taken by the server: lets a writer with much to
  // send (a watch catching up) pace itself instead of overflowing.
  std::size_t queued_bytes();
  // `callback` runs exactly once, when the stream has ended for any reason
  // (at once if it already has). Replaces an earlier callback not yet run.
  void OnClosed(std::function<void()> callback);

  // ---- Server side (src/http only).
  // Moves the queued data out; `ended` true when Close() was called and the
  // queue is now empty (write the last chunk), or the stream was aborted.
  struct Taken {
    std::string data;
    bool ended = false;
    bool aborted = false;  // overflow or Abort(): drop the connection, no last chunk
  };
  Taken Take();
  // `wake` is called (outside the lock) whenever data or the end arrives
  // after Take() found nothing. Set by the server before its first Take().
  void SetWake(std::function<void()> wake);
  // The connection ended (client gone, write error, drain): ends the stream
  // and runs the OnClosed callback.
  void Abort();

 private:
  void EndLocked(std::unique_lock<std::mutex>& lock, bool aborted);

  const std::size_t max_buffered_bytes_;
  std::mutex mu_;
  std::string queued_;               // GUARDED_BY(mu_)
  bool close_requested_ = false;     // GUARDED_BY(mu_)
  bool ended_ = false;               // GUARDED_BY(mu_)
  bool aborted_ = false;             // GUARDED_BY(mu_)
  std::function<void()> on_closed_;  // GUARDED_BY(mu_)
  std::function<void()> wake_;       // GUARDED_BY(mu_)
};

}  // namespace rtgw::http

#endif  // RTGW_HTTP_RESPONSE_STREAM_HPP_
