// A Stream that took a batch request: it reads the JSON body (bounded), checks it, runs the
// items through BatchRun (each a Stream of its own) and answers with all their responses.
#include "lib/json/json_string.h"
#include "proxy/batch_run.h"
#include "proxy/client_side.h"
#include "lib/http/serializer.h"
#include "lib/http/via.h"
#include "proxy/stream.h"

namespace edge {

bool Stream::isBatchRequest() const {
  const config::BatchConfig& batch = runtime_->config->batch;
  std::string_view target = ctx_.target;  // normalised origin-form
  return batch.enabled && target.substr(0, target.find('?')) == batch.path;
}

// The batch's own response goes through the filters like any other (compressed on the way
// out); the request filters run first, then acceptBatch reads the body.
void Stream::startBatch() {
  batch_mode_ = true;
  makeChain(nullptr);
  chain_->startRequest(req_);
}

void Stream::acceptBatch() {
  const config::BatchConfig& batch = runtime_->config->batch;
  if (req_.method != "POST") {
    done_ = true;
    down_->replyLocally(405, "a batch is sent with POST", false, "Allow: POST\r\n");
    return;
  }
  if (!req_.hasBody()) {
    replyJson(400, "a batch needs a JSON body: {\"requests\":[...]}");
    return;
  }
  if (req_.has_content_length && req_.content_length > batch.max_request_size) {
    done_ = true;  // the body is not read: the connection cannot be reused
    down_->replyLocally(413, "the batch is larger than its limit of " +
                                 std::to_string(batch.max_request_size) + " bytes", true);
    return;
  }
  if (req_.expect_continue) {
    down_->send(std::string("HTTP/1.1 100 Continue\r\n\r\n"));
    down_->flush();
  }
}

void Stream::onBatchBody(const char* data, size_t len) {
  if (done_) {
    return;
  }
  batch_body_.append(data, len);
  const uint64_t limit = runtime_->config->batch.max_request_size;
  if (batch_body_.size() > limit) {
    done_ = true;
    down_->replyLocally(413, "the batch is larger than its limit of " + std::to_string(limit) +
                                 " bytes", true);
  }
}

void Stream::runBatch() {
  if (done_) {
    return;
  }
  const config::BatchConfig& config = runtime_->config->batch;
  auto parsed = filters::batch::parseBatch(batch_body_, {config.max_items});
  if (const auto* error = std::get_if<filters::batch::BatchError>(&parsed)) {
    replyJson(error->status, error->message);
    return;
  }
  BatchParent parent{host_, down_->clientIp(), {}};
  for (const std::string& name : config.inherit_headers) {
    for (const http::Header& h : req_.headers) {
      if (http::iequals(h.name, name)) {
        parent.inherited.emplace_back(h.name, h.value);
      }
    }
  }
  batch_body_.clear();
  batch_body_.shrink_to_fit();
  batch_ = std::make_unique<BatchRun>(worker_, config, std::move(parent),
                                      std::move(std::get<0>(parsed)));
  batch_->start([this](std::string&& body) {
    http::Headers headers;
    headers.add("Content-Type", "application/json");
    headers.add("Cache-Control", "no-store");
    headers.add("Via", std::string(http::kVia));
    respondWhole(200, "OK", std::move(headers), std::move(body));
  });
}

// An error of the proxy's own as {"error": message}, compressed like any other answer.
void Stream::replyJson(int status, std::string_view message) {
  std::string body = "{\"error\":";
  filters::json::appendJsonString(body, message);
  body.append("}");
  http::Headers headers;
  headers.add("Content-Type", "application/json");
  headers.add("Cache-Control", "no-store");
  respondWhole(status, http::reasonPhrase(status), std::move(headers), std::move(body));
}

}  // namespace edge
