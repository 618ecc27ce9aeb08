// The contract between the Stream and the features of the request path (Envoy's stream
// filters, cut to what an HTTP/1.1 cache needs). A filter is made per request by its factory
// from an immutable per-snapshot config, sees the request on the way in (in chain order) and
// the response on the way out (in reverse order), and answers each phase with a FilterStatus.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "filters/chain/request_context.h"
#include "filters/chain/response_head.h"
#include "lib/cache/inflight.h"
#include "lib/http/request_parser.h"

namespace edge::filters {

enum class FilterStatus {
  Continue,       // pass it on to the next filter
  Stop,           // hold here; the filter resumes the chain later through its callbacks
  StopAndBuffer,  // response body: hold it until complete (up to the filter's buffer limit;
                  // past it, the chain lets the response go on unchanged, streamed)
};

// A cancellable wait: the owner drops or cancels it and the callback never runs.
class Cancellable {
 public:
  virtual ~Cancellable() = default;
  virtual void cancel() = 0;
};

// A fetch that fills the cache for one key on behalf of everyone waiting for it. It outlives
// the request that starts it.
struct CacheFetchRequest {
  http::Headers headers;  // as they go upstream: the client's conditionals out, validators in
  cache::InFlightPtr flight;
  cache::EntryPtr stale;  // the entry to revalidate, or null
  bool credentialed_unscoped = false;
  bool no_store = false;
};

// The request that leads a fetch: told when the response turns out not to be shareable and
// is handed to this request alone (it then goes on as a pass-through of that response).
class FetchLeader {
 public:
  virtual ~FetchLeader() = default;
  virtual void onHandedOver(const char* reason) = 0;
};

// What both a filter and the chain may ask of the Stream that runs them.
class StreamActions {
 public:
  virtual ~StreamActions() = default;
  // A short plain reply of the proxy's own (an error that needs no filter), sent as it is;
  // `close` when the connection cannot be reused (a request body left unread). The request
  // is over. Inline.
  virtual void localReply(int status, std::string_view reason, bool close,
                          std::string_view extra_header_lines) = 0;
  // Tells a client that sent Expect: 100-continue to send its body now.
  virtual void sendContinue() = 0;
  // The response cannot go on (a body that fails to encode): the Stream cuts it off so it can
  // never look complete. Inline; the chain is done afterwards.
  virtual void resetStream(ErrorKind kind) = 0;
  // Posts `fn` to this request's worker: never inline. From a filter, dropped with the chain.
  virtual void post(std::function<void()> fn) = 0;
  // The worker's clock, in milliseconds.
  virtual uint64_t nowMs() const = 0;
  // A one-shot timer on the request's worker; never fires inline. Dropping or cancelling the
  // handle cancels it.
  virtual std::unique_ptr<Cancellable> startTimer(uint64_t ms, std::function<void()> fn) = 0;
  // The source of the response failed after its head (status and reason say why): a clean
  // error reply when nothing reached the client yet, else the response is cut off. Inline.
  virtual void failResponse(int status, std::string_view reason) = 0;
  // Starts a fetch that fills the cache (see CacheFetchRequest); `leader`, when not null, is
  // told if the response is handed to this request (never inline; dropped with the chain).
  virtual void startCacheFetch(CacheFetchRequest&& request, FetchLeader* leader) = 0;
  // The response is over: sent, refused, cut off, or its client gone.
  virtual bool responseDone() const = 0;
};

// What a filter may use. The chain implements it; every call names whether it may call back
// into the filter before it returns ("inline").
class FilterCallbacks : public StreamActions {
 public:
  virtual RequestContext& context() = 0;
  // Resumes the request side after Stop. Inline: the following filters (and the Stream's
  // lookup or upstream step) run before it returns.
  virtual void continueRequest() = 0;
  // Resumes the response side after Stop, with the head as the filter left it. Inline.
  virtual void continueResponse() = 0;
  // The held response head (between Stop/StopAndBuffer and the resume).
  virtual ResponseHead& heldResponse() = 0;
  // Answers the request from this filter: the response goes out through the filters before
  // this one (in response order). Inline; the request side does not continue.
  virtual void respond(ResponseHead&& head, cache::Body body) = 0;
  // The same answer, streamed: the head now, then the body piece by piece (the last with end
  // set). Inline.
  virtual void sendResponseHeaders(ResponseHead&& head, bool end) = 0;
  virtual void sendResponseBody(BodyPiece piece) = 0;
};

class Filter {
 public:
  virtual ~Filter() = default;

  void setCallbacks(FilterCallbacks& callbacks) { callbacks_ = &callbacks; }

  // Request side, in chain order. A filter that stops at the head owns the request: the
  // body comes to it (onRequestBody, the last piece with end set).
  virtual FilterStatus onRequestHeaders(http::RequestHead& /*head*/) {
    return FilterStatus::Continue;
  }
  virtual FilterStatus onRequestBody(BodyPiece& /*piece*/) { return FilterStatus::Continue; }
  // Response side, in reverse order. `head` may be changed in place; a filter that ends the
  // response early (a 304) sets head.content_length and returns Continue with `end` true.
  virtual FilterStatus onResponseHeaders(ResponseHead& /*head*/, bool& /*end*/) {
    return FilterStatus::Continue;
  }
  // A piece of the response body. After StopAndBuffer, the whole held body comes as one piece
  // with end set; the filter may rewrite heldResponse() before it returns Continue.
  virtual FilterStatus onResponseBody(BodyPiece& /*piece*/) { return FilterStatus::Continue; }
  // How much body StopAndBuffer may hold before the chain releases the response.
  virtual uint64_t bufferLimit() const { return 0; }
  // Once per request, after the response is done (or abandoned).
  virtual void onLog(const RequestContext& /*context*/) {}

 protected:
  FilterCallbacks& callbacks() { return *callbacks_; }

 private:
  FilterCallbacks* callbacks_ = nullptr;
};

}  // namespace edge::filters
