#include "proxy/batch_item.h"

#include "lib/http/response_parser.h"
#include "proxy/stream.h"
#include "proxy/timer.h"
#include "proxy/worker.h"

namespace edge {
namespace {

constexpr size_t kHeadAllowance = 64 * 1024;  // room for the head beyond the body limit

// Reads the response the item's Stream wrote back into its parts.
class Collector : public http::ResponseSink {
 public:
  explicit Collector(filters::batch::ItemResponse& out) : out_(out) {}
  void onResponseHead(http::ResponseHead&& head) override {
    out_.status = head.status;
    for (const http::Header& h : head.headers) {
      out_.headers.emplace_back(h.name, h.value);
    }
  }
  void onResponseBody(const char* data, size_t len) override { out_.body.append(data, len); }
  void onResponseEnd() override { complete_ = true; }
  bool complete() const { return complete_; }

 private:
  filters::batch::ItemResponse& out_;
  bool complete_ = false;
};

// "Name: value\r\n" lines (the cache labels of a local reply) as header pairs.
void addHeaderLines(std::string_view lines, filters::batch::ItemResponse& out) {
  while (!lines.empty()) {
    const size_t end = lines.find("\r\n");
    const std::string_view line = lines.substr(0, end);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      out.headers.emplace_back(std::string(line.substr(0, colon)),
                               std::string(http::trimOws(line.substr(colon + 1))));
    }
    lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 2);
  }
}

}  // namespace

BatchItem::BatchItem(Worker& worker, const BatchParent& parent, uint64_t max_response_bytes)
    : worker_(worker), parent_(parent), max_response_bytes_(max_response_bytes) {}

BatchItem::~BatchItem() { stopStream(true); }

void BatchItem::start(const filters::batch::ItemRequest& request, size_t number,
                      uint64_t timeout_ms, Done done) {
  id_ = request.id;
  started_ms_ = worker_.nowMs();
  done_ = std::move(done);
  head_request_ = request.method == "HEAD";
  http::RequestHead head;
  head.method = request.method;
  head.target = request.path;
  head.headers.add("Host", parent_.host);
  for (const auto& [name, value] : parent_.inherited) {
    head.headers.add(name, value);
  }
  for (const auto& [name, value] : request.headers) {
    head.headers.add(name, value);
  }
  if (!parent_.request_id.empty()) {
    head.headers.set("X-Request-Id", parent_.request_id + "-" + std::to_string(number));
  }
  if (request.body) {
    head.has_content_length = true;
    head.content_length = request.body->size();
    head.headers.set("Content-Length", std::to_string(request.body->size()));
    if (request.body_is_json && head.headers.find("content-type") == nullptr) {
      head.headers.add("Content-Type", "application/json");
    }
  }
  timer_ = Timer::create(worker_.loop(), [this, timeout_ms] {
    stopStream(true);
    finish(filters::batch::errorResponse(
        id_, 504, "the item took longer than " + std::to_string(timeout_ms) + " ms"));
  });
  timer_->start(timeout_ms);
  stream_ = std::make_unique<Stream>(*this, worker_, std::move(head));
  // The Stream may answer at once (a cache hit) and be handed to the graveyard; it stays
  // alive until this callback stack has unwound, and ignores input once it is done.
  Stream* stream = stream_.get();
  stream->start();
  if (request.body && !request.body->empty()) {
    stream->onRequestBody(request.body->data(), request.body->size());
  }
  stream->onRequestEnd();
}

void BatchItem::cancel() {
  done_ = nullptr;
  finished_ = true;
  stopStream(true);
}

// `unfinished`: the Stream has not completed its response and must drop everything.
void BatchItem::stopStream(bool unfinished) {
  if (timer_ != nullptr) {
    timer_->close();
    timer_ = nullptr;
  }
  if (stream_) {
    if (unfinished) {
      stream_->onDownstreamGone();
    }
    worker_.deferDelete(std::move(stream_));
  }
}

void BatchItem::append(const char* data, size_t len) {
  if (too_large_ || finished_) {
    return;
  }
  if (captured_.size() + len > max_response_bytes_ + kHeadAllowance) {
    too_large_ = true;
    captured_.clear();
    return;
  }
  captured_.append(data, len);
}

void BatchItem::send(std::string&& bytes) { append(bytes.data(), bytes.size()); }

void BatchItem::sendShared(std::shared_ptr<const std::string> buffer, size_t offset,
                           size_t length) {
  append(buffer->data() + offset, length);
}

void BatchItem::responseDone(bool /*close*/) {
  if (too_large_) {
    finish(filters::batch::errorResponse(
        id_, 502, "the response is larger than what is left of the batch's max_response_size"));
    return;
  }
  filters::batch::ItemResponse response{id_, 0, {}, {}};
  Collector collector(response);
  http::ResponseParser parser(collector);
  parser.expectResponse(head_request_);
  parser.execute(captured_.data(), captured_.size());
  if (!collector.complete()) {
    finish(filters::batch::errorResponse(id_, 502, "the response could not be read back"));
    return;
  }
  finish(std::move(response));
}

void BatchItem::abortResponse() {
  finish(filters::batch::errorResponse(id_, 502, "the response broke off"));
}

void BatchItem::replyLocally(int status, const std::string& reason, bool /*close*/,
                             std::string_view extra_headers) {
  filters::batch::ItemResponse response = filters::batch::errorResponse(id_, status, reason);
  addHeaderLines(extra_headers, response);
  finish(std::move(response));
}

void BatchItem::finish(filters::batch::ItemResponse&& response) {
  if (finished_) {
    return;
  }
  finished_ = true;
  stopStream(false);
  captured_ = std::string();  // read back already; the item lives until the batch ends
  if (Done done = std::move(done_)) {
    done(std::move(response));
  }
}

}  // namespace edge
