#include "filters/batch/batch_filter.h"

#include "lib/http/serializer.h"
#include "lib/http/via.h"
#include "lib/json/json_string.h"

namespace edge::filters::batch {
namespace {

std::string tooLarge(uint64_t limit) {
  return "the batch is larger than its limit of " + std::to_string(limit) + " bytes";
}

}  // namespace

FilterStatus BatchFilter::onRequestHeaders(http::RequestHead& head) {
  if (head.method != "POST") {
    refused_ = true;
    callbacks().localReply(405, "a batch is sent with POST", false, "Allow: POST\r\n");
    return FilterStatus::Stop;
  }
  if (!head.hasBody()) {
    refused_ = true;
    respondJson(400, "a batch needs a JSON body: {\"requests\":[...]}");
    return FilterStatus::Stop;
  }
  if (head.has_content_length && head.content_length > config_.max_request_size) {
    refused_ = true;  // the body is not read: the connection cannot be reused
    callbacks().localReply(413, tooLarge(config_.max_request_size), true, {});
    return FilterStatus::Stop;
  }
  const RequestContext& context = callbacks().context();
  parent_.host = context.host;
  parent_.client_ip = context.client_ip;
  parent_.client_tls = context.client_tls;
  parent_.request_id = context.request_id;
  for (const std::string& name : config_.inherit_headers) {
    for (const http::Header& h : head.headers) {
      if (http::iequals(h.name, name)) {
        parent_.inherited.emplace_back(h.name, h.value);
      }
    }
  }
  if (head.expect_continue) {
    callbacks().sendContinue();
  }
  return FilterStatus::Stop;  // the body comes here
}

FilterStatus BatchFilter::onRequestBody(BodyPiece& piece) {
  if (refused_) {
    return FilterStatus::Stop;
  }
  if (piece.data) {
    body_.append(*piece.data);
  }
  if (body_.size() > config_.max_request_size) {
    refused_ = true;
    callbacks().localReply(413, tooLarge(config_.max_request_size), true, {});
    return FilterStatus::Stop;
  }
  if (piece.end) {
    run();
  }
  return FilterStatus::Stop;
}

void BatchFilter::run() {
  auto parsed = parseBatch(body_, {config_.max_items});
  if (const auto* error = std::get_if<BatchError>(&parsed)) {
    respondJson(error->status, error->message);
    return;
  }
  body_.clear();
  body_.shrink_to_fit();
  running_ = runner_.run(config_, std::move(parent_), std::move(std::get<0>(parsed)),
                         [this](std::string&& body) {
                           ResponseHead head = ResponseHead::ownJson(200, "OK", body.size());
                           head.headers.add("Via", std::string(http::kVia));
                           callbacks().respond(
                               std::move(head), std::make_shared<const std::string>(std::move(body)));
                         });
}

// An error of the proxy's own as {"error": message}, compressed like any other answer.
void BatchFilter::respondJson(int status, std::string_view message) {
  std::string body = "{\"error\":";
  json::appendJsonString(body, message);
  body.append("}");
  ResponseHead head = ResponseHead::ownJson(status, http::reasonPhrase(status), body.size());
  callbacks().respond(std::move(head), std::make_shared<const std::string>(std::move(body)));
}

}  // namespace edge::filters::batch
