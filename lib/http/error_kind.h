// Why a request ended in an error of the proxy's own: one kind per failure, carried from where
// it happens (an upstream exchange, a shared fetch, a filter) to the request context, so
// nobody reads it back out of a status and a reason.
#pragma once

namespace edge::http {

enum class ErrorKind {
  None,
  BadRequest,        // the client's request was refused (400, 404, 405, 413, ...)
  ConnectRefused,    // no upstream server accepted a connection
  ConnectTimeout,
  UpstreamTls,       // connected, but the TLS handshake failed (verification, versions)
  FirstByteTimeout,  // connected, but the head did not come in time
  UpstreamReset,     // the connection broke before the response was complete
  UpstreamProtocol,  // the upstream's response could not be parsed
  OverLimit,         // a response or request outgrew a limit
  EncodingFailed,    // a body could not be (de)compressed
  Aborted,           // the response broke off after its head
};

}  // namespace edge::http
