// Responses held back until they are complete: a JSON 200 of a class with generate_etag gets a
// strong ETag made from its body (so If-None-Match can be answered with 304 even when nothing
// is stored), and a request with a field selection gets the selected fields only. The whole
// body then goes out at once: conditional check, compression in one piece, Content-Length.
// A body that outgrows the class's max_object_size is released and streams on unchanged.
#include "filters/compress/encoded_entry.h"
#include "filters/conditional/etag.h"
#include "filters/fields/json_response.h"
#include "proxy/client_side.h"
#include "lib/http/serializer.h"
#include "proxy/stream.h"

namespace edge {

bool Stream::startBuffering(int status, std::string_view reason, const http::Headers& headers,
                            std::optional<uint64_t> content_length) {
  if (buffering_considered_ || down_ == nullptr || route_ == nullptr) {
    return false;
  }
  buffering_considered_ = true;
  const config::RouteClass& cls = runtime_->config->classOf(*route_);
  const bool wants_tag = cls.generate_etag && headers.find("etag") == nullptr;
  if (!(wants_tag || projectable(headers)) || status != 200 || request_is_head_ ||
      !filters::isPlainJson(headers) ||
      (content_length && *content_length > cls.max_object_size)) {
    return false;
  }
  buffered_ = std::make_unique<Buffered>(
      Buffered{status, std::string(reason), headers, content_length, {}, cls.max_object_size});
  if (content_length) {
    buffered_->body.reserve(*content_length);
  }
  response_started_ = true;
  body_allowed_ = true;
  return true;
}

void Stream::bufferBody(const char* data, size_t len) {
  buffered_->body.append(data, len);
  if (buffered_->body.size() > buffered_->limit) {
    releaseBuffered();
  }
}

// Too large to hold: send what was held as it came and stream the rest.
void Stream::releaseBuffered() {
  std::unique_ptr<Buffered> held = std::move(buffered_);
  beginResponse(held->status, held->reason, held->headers, held->content_length);
  sendBodyBytes(held->body.data(), held->body.size());
}

void Stream::finishBuffered() {
  std::unique_ptr<Buffered> held = std::move(buffered_);
  if (projectable(held->headers)) {
    projectHeld(held->headers, held->body);
  }
  if (runtime_->config->classOf(*route_).generate_etag && held->headers.find("etag") == nullptr) {
    held->headers.set("ETag", filters::generateEtag(held->body));
  }
  sendComplete(held->status, held->reason, std::move(held->headers), std::move(held->body));
}

// The upstream failed after the head: nothing has been sent yet, so the client gets a clean
// error instead of a cut-off connection.
bool Stream::failBuffered(int status, const std::string& reason) {
  if (!buffered_) {
    return false;
  }
  buffered_.reset();
  response_started_ = false;
  replyLocally(status, reason);
  return true;
}

void Stream::sendComplete(int status, std::string_view reason, http::Headers headers,
                          std::string body) {
  const config::CompressionConfig& cfg = runtime_->config->compression;
  filters::CompressFacts facts{req_.method, status, headers, body.size(),
                               !down_->requestHttp11()};
  const filters::CompressVerdict verdict = filters::decideCompression(facts, runtime_->compress);
  filters::Coding coding = filters::Coding::Identity;
  if (cfg.enabled && verdict == filters::CompressVerdict::Compress) {
    coding = filters::chooseCoding(accept_, true, true).value_or(filters::Coding::Identity);
  }
  if (status == 200 && clientHasCurrentCopy(headers, coding)) {
    answerNotModified(headers, coding);
    return;
  }
  if (coding != filters::Coding::Identity) {
    // The whole body is at hand: one deterministic encoding, so the variant's tag stays strong.
    body = filters::compressBody(body, coding, {cfg.gzip_level, cfg.stream_brotli_quality});
    headers.set("Content-Encoding", std::string(filters::codingToken(coding)));
    if (const std::string* etag = headers.find("etag")) {
      headers.set("ETag", filters::variantTag(*etag, coding));
    }
  }
  if (cfg.enabled && filters::variesByAcceptEncoding(verdict)) {
    filters::addVaryAcceptEncoding(headers);
  }
  response_started_ = false;
  beginResponse(status, reason, std::string_view(http::headerLines(headers)), body.size());
  sendBodyPiece(std::make_shared<const std::string>(std::move(body)));
  endResponse();
}

}  // namespace edge
