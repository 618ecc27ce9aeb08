// The end of the filter chain: the response as the filters left it goes to the client, framed
// once from its final head (stored header blocks and shared bodies of hits are sent as they
// are, without copies).
#include "lib/cache/shared_cache.h"
#include "lib/http/serializer.h"
#include "proxy/client_side.h"
#include "proxy/stream.h"

namespace edge {
namespace {

const char* outcomeLabel(filters::CacheOutcome outcome) {
  static constexpr const char* kLabels[] = {"",      "HIT",         "MISS",     "STALE",
                                            "REVALIDATED", "COALESCED", "BYPASS"};
  return kLabels[static_cast<int>(outcome)];
}

}  // namespace

void Stream::writeHead(filters::ResponseHead& head, bool end) {
  if (down_ == nullptr || done_) {
    return;
  }
  ctx_.status = head.status;
  if (!head.materialised && head.form) {
    beginResponse(head.status, head.reason, head.form->wire_headers, head.content_length);
  } else if (!head.materialised && head.entry) {
    beginResponse(head.status, head.reason, head.entry->wire_headers, head.content_length);
  } else {
    beginResponse(head.status, head.reason, http::headerLines(head.headers), head.content_length);
  }
  if (end) {
    endResponse();
  }
}

void Stream::writeBody(filters::BodyPiece& piece) {
  if (down_ == nullptr || done_) {
    return;
  }
  if (piece.data) {
    sendBodyPiece(std::move(piece.data));
  }
  if (piece.end) {
    endResponse();
  } else if (piece.flush) {
    down_->flush();
  }
}

// A filter cannot finish the body (it failed to encode): it must not look complete.
void Stream::resetStream(filters::ErrorKind kind) {
  ctx_.error = kind;
  markDone();
  done_ = true;
  stopFollowing();
  if (exchange_) {
    exchange_->cancel();
  }
  if (down_ != nullptr) {
    down_->abortResponse();
  }
}

void Stream::localReply(int status, std::string_view reason, bool close,
                        std::string_view extra_header_lines) {
  done_ = true;
  noteLocalReply(status, reason);
  if (down_ != nullptr) {
    down_->replyLocally(status, std::string(reason), close, extra_header_lines);
  }
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

std::string Stream::cacheHeaderLines() const {
  if (ctx_.outcome == Outcome::None) {
    return {};
  }
  std::string lines;
  lines.append("X-Cache: ").append(outcomeLabel(ctx_.outcome)).append("\r\n");
  lines.append("Cache-Status: edge-proxy; ").append(ctx_.cache_detail).append("\r\n");
  if (ctx_.entry_age_ms >= 0) {
    lines.append("Age: ")
        .append(std::to_string(cache::ageSeconds(ctx_.entry_age_ms)))
        .append("\r\n");
  }
  return lines;
}

void Stream::beginResponse(int status, std::string_view reason, std::string_view header_lines,
                           std::optional<uint64_t> content_length) {
  http::DownstreamResponseFraming framing = http::downstreamResponseFraming(
      {ctx_.head_request, status, content_length.has_value(), content_length.value_or(0),
       down_->requestHttp11()});
  response_started_ = true;
  response_chunked_ = framing.framing.kind == http::BodyFraming::Chunked;
  response_must_close_ = framing.must_close;
  body_allowed_ = framing.framing.kind != http::BodyFraming::None;
  http::ResponseConnection connection{response_must_close_ || down_->closeAfterResponse(),
                                      down_->requestHttp11()};
  std::string head = http::serializeResponseHead(status, reason, header_lines, framing,
                                                 connection, cacheHeaderLines());
  ctx_.timings.first_byte_out = worker_.nowMs();
  ctx_.bytes_out += head.size();
  down_->send(std::move(head));
}

void Stream::sendBodyPiece(cache::Body chunk) {
  if (!body_allowed_ || chunk->empty()) {
    return;
  }
  ctx_.bytes_out += chunk->size();
  if (response_chunked_) {
    std::string size_line;
    http::appendChunkHeader(size_line, chunk->size());
    ctx_.bytes_out += size_line.size() + 2;  // and the CRLF after the data
    down_->send(std::move(size_line));
    size_t size = chunk->size();
    down_->sendShared(std::move(chunk), 0, size);
    down_->send(std::string("\r\n"));
    return;
  }
  size_t size = chunk->size();
  down_->sendShared(std::move(chunk), 0, size);
}

void Stream::endResponse() {
  if (done_) {
    return;
  }
  if (response_chunked_) {
    ctx_.bytes_out += http::kLastChunk.size();
    down_->send(std::string(http::kLastChunk));
  }
  done_ = true;
  response_complete_ = true;
  markDone();
  stopFollowing();
  down_->responseDone(response_must_close_);
}

}  // namespace edge
