// The Stream's part of the request context: what the exchange saw, replies of its own, and
// when the response was over. Read in the log phase and by the worker's counters.
#include "proxy/client_side.h"
#include "proxy/stream.h"

namespace edge {

// What the exchange saw (a pass-through, a fetch this stream leads or adopted): the upstream's
// timings and address, and why it failed.
void Stream::noteExchange() {
  if (exchange_) {
    noteRecord(exchange_->record());
  }
}

void Stream::noteRecord(const upstream::ExchangeRecord& record) {
  ctx_.timings.upstream_connected = record.connected_ms;
  ctx_.timings.upstream_first_byte = record.first_byte_ms;
  if (record.server != nullptr) {
    ctx_.upstream_server = record.server;
  }
  if (ctx_.error == filters::ErrorKind::None) {
    ctx_.error = record.error;
  }
}

// A reply of the proxy's own: its status, and its time. Whoever failed (the exchange, a
// shared fetch) has set the error kind already; a 4xx is a refused request.
void Stream::noteLocalReply(int status) {
  ctx_.status = status;
  if (ctx_.error == filters::ErrorKind::None && status >= 400 && status < 500) {
    ctx_.error = filters::ErrorKind::BadRequest;
  }
  markDone();
  if (down_ != nullptr) {
    ctx_.timings.first_byte_out = ctx_.timings.done;
  }
}

// The response is over (sent, refused, broken off or abandoned); the first end counts.
void Stream::markDone() {
  if (ctx_.timings.done == 0) {
    ctx_.timings.done = worker_.nowMs();
  }
}

// Before the log phase: a response that started and never ended broke off (unless its client
// left), and a request still open ends now.
void Stream::closeContext() {
  noteExchange();
  if (writer_.started() && !writer_.complete() && !client_gone_ &&
      ctx_.error == filters::ErrorKind::None) {
    ctx_.error = filters::ErrorKind::Aborted;
  }
  markDone();
}

}  // namespace edge
