// The end of the filter chain and what the filters may ask of the Stream: the response as the
// filters left it goes to the client through the writer, framed once from its final head
// (stored header blocks and shared bodies of hits are sent as they are, without copies).
#include <utility>

#include "lib/cache/policy.h"
#include "lib/cache/shared_cache.h"
#include "lib/http/serializer.h"
#include "proxy/client_side.h"
#include "proxy/stream.h"
#include "proxy/timer.h"

namespace edge {
namespace {

// A filter's timer: one-shot, and cancelled with its handle.
class FilterTimer : public filters::Cancellable {
 public:
  FilterTimer(uv_loop_t* loop, uint64_t ms, std::function<void()> fn)
      : timer_(Timer::create(loop, [this, fn = std::move(fn)] {
          cancel();  // one shot; the closure lives until the close callback
          fn();      // may destroy this handle
        })) {
    timer_->start(ms);
  }
  ~FilterTimer() override { cancel(); }

  void cancel() override {
    if (timer_ != nullptr) {
      std::exchange(timer_, nullptr)->close();
    }
  }

 private:
  Timer* timer_;
};

}  // namespace

void Stream::writeHead(filters::ResponseHead& head, bool end) {
  if (over()) {
    return;
  }
  step_ = Step::Deliver;
  ctx_.status = head.status;
  const uint64_t now = worker_.nowMs();
  // A stored head is sent with the time of sending as its Date (as Varnish does).
  if (!head.materialised && (head.form || head.entry)) {
    const std::string& lines = head.form ? head.form->wire_headers : head.entry->wire_headers;
    std::string date = "Date: ";
    date.append(worker_.httpDate()).append("\r\n");
    writer_.begin(head.status, head.reason, lines, head.content_length, now, date);
  } else {
    if (head.entry && head.headers.find("date") != nullptr) {
      head.headers.set("Date", worker_.httpDate());
    }
    writer_.begin(head.status, head.reason, http::headerLines(head.headers), head.content_length,
                  now);
  }
  if (end) {
    endResponse();
  }
}

void Stream::writeBody(filters::BodyPiece& piece) {
  if (over()) {
    return;
  }
  if (piece.data) {
    writer_.body(std::move(piece.data));
  }
  if (piece.end) {
    endResponse();
  } else if (piece.flush) {
    down_->flush();
  }
}

void Stream::endResponse() {
  step_ = Step::Done;
  markDone();
  writer_.end();
}

// A filter cannot finish the body (it failed to encode): it must not look complete.
void Stream::resetStream(filters::ErrorKind kind) {
  ctx_.error = kind;
  markDone();
  step_ = Step::Done;
  if (exchange_) {
    exchange_->cancel();
  }
  if (down_ != nullptr) {
    down_->abortResponse();
  }
}

// A reply of the proxy's own, with what the cache did (X-Cache, Cache-Status) if it did.
void Stream::localReply(int status, std::string_view reason, bool close,
                        std::string_view extra_header_lines) {
  step_ = Step::Done;
  if (exchange_) {
    exchange_->cancel();
  }
  noteLocalReply(status);
  if (down_ != nullptr) {
    down_->replyLocally(status, std::string(reason), close,
                        proxyHeaderLines(ctx_).append(extra_header_lines));
  }
}

// The response's source broke after its head: a clean error if a filter still holds the
// response and nothing went out, else the client sees it cut off.
void Stream::failResponse(int status, std::string_view reason) {
  if (over()) {
    return;
  }
  if (chain_ && chain_->holdingResponse()) {
    chain_->dropHeldResponse();
    localReply(status, reason, false, {});
    return;
  }
  step_ = Step::Done;
  ctx_.error = filters::ErrorKind::Aborted;
  markDone();
  down_->abortResponse();
}

void Stream::sendContinue() {
  if (down_ != nullptr) {
    std::string interim("HTTP/1.1 100 Continue\r\n\r\n");
    ctx_.bytes_out += interim.size();
    down_->send(std::move(interim));
    down_->flush();
  }
}

void Stream::post(std::function<void()> fn) { worker_.post(std::move(fn)); }

uint64_t Stream::nowMs() const { return worker_.nowMs(); }

std::unique_ptr<filters::Cancellable> Stream::startTimer(uint64_t ms, std::function<void()> fn) {
  return std::make_unique<FilterTimer>(worker_.loop(), ms, std::move(fn));
}

void Stream::startCacheFetch(filters::CacheFetchRequest&& request,
                             filters::FetchLeader* leader) {
  CacheFetchParams params;
  params.runtime = runtime_;
  params.route_class = ctx_.route_class;
  params.upstream = route_->upstream_index;
  params.request = {"GET", ctx_.target, std::move(request.headers), {}, false};
  params.target = ctx_.target;
  params.flight = std::move(request.flight);
  params.stale = std::move(request.stale);
  if (leader != nullptr) {
    if (!adopter_link_) {
      adopter_link_ = std::make_shared<AdopterLink>(AdopterLink{this});
    }
    fetch_leader_ = leader;
    params.leader = adopter_link_;
  }
  params.request_credentialed_unscoped = request.credentialed_unscoped;
  params.request_no_store = request.no_store;
  CacheFetch::start(worker_, std::move(params));
}

}  // namespace edge
