#pragma once
// How a handler answers a request: one complete response, or a chunked stream (server-sent
// events). Thread contract: every method may be called from any thread (the scheduler's included),
// in order from one thread at a time; calls after the client has gone are ignored. The object may
// outlive the connection.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "http/http_message.h"

namespace tandem::http {

class Responder {
 public:
  virtual ~Responder() = default;

  // Ends the exchange with a complete response.
  virtual void send(HttpResponse response) = 0;

  // Starts a chunked response; then any number of send_chunk and one end_stream.
  virtual void start_stream(int status, std::string content_type, Headers headers = {}) = 0;
  virtual void send_chunk(std::string data) = 0;
  // Ends the stream; `last` (if any) goes out in the same write as the end, so a client that
  // hangs up as soon as it has read it still gets a complete response.
  virtual void end_stream(std::string last = {}) = 0;

  // `callback` runs once, on an I/O thread, when the client disconnects before the exchange ends
  // (at once if it already has). It must not block.
  virtual void on_disconnect(std::function<void()> callback) = 0;
  virtual bool disconnected() const = 0;

  // Flow control for a stream's producer (the gateway's proxy): the bytes given to send_chunk
  // that have not been written to the client's socket yet, and a wait until they fall to `limit`
  // or below. `callback` runs once, on any thread (it must not block), when that happens, at once
  // if it already has, or when the client disconnects; a later call replaces an earlier waiter.
  // A responder without a write queue of its own has nothing pending.
  virtual size_t pending_bytes() const { return 0; }
  virtual void when_drained(size_t limit, std::function<void()> callback) {
    (void)limit;
    callback();
  }
};

using Handler = std::function<void(const HttpRequest& request, std::shared_ptr<Responder> responder)>;

}  // namespace tandem::http
