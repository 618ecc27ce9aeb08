#include "proxy/response_writer.h"

#include "lib/cache/policy.h"
#include "lib/http/serializer.h"

namespace edge {
namespace {

const char* outcomeLabel(filters::CacheOutcome outcome) {
  static constexpr const char* kLabels[] = {"",      "HIT",         "MISS",     "STALE",
                                            "REVALIDATED", "COALESCED", "BYPASS"};
  return kLabels[static_cast<int>(outcome)];
}

}  // namespace

std::string cacheHeaderLines(const filters::RequestContext& ctx) {
  if (ctx.outcome == filters::CacheOutcome::None) {
    return {};
  }
  std::string lines;
  lines.append("X-Cache: ").append(outcomeLabel(ctx.outcome)).append("\r\n");
  lines.append("Cache-Status: edge-proxy; ").append(ctx.cache_detail).append("\r\n");
  if (ctx.entry_age_ms >= 0) {
    lines.append("Age: ")
        .append(std::to_string(cache::ageSeconds(ctx.entry_age_ms)))
        .append("\r\n");
  }
  return lines;
}

std::string proxyHeaderLines(const filters::RequestContext& ctx) {
  std::string lines = cacheHeaderLines(ctx);
  if (!ctx.request_id.empty()) {
    lines.append("X-Request-Id: ").append(ctx.request_id).append("\r\n");
  }
  return lines;
}

void ResponseWriter::begin(int status, std::string_view reason, std::string_view header_lines,
                           std::optional<uint64_t> content_length, uint64_t now_ms,
                           std::string_view more_lines) {
  http::DownstreamResponseFraming framing = http::downstreamResponseFraming(
      {ctx_.head_request, status, content_length.has_value(), content_length.value_or(0),
       client_.requestHttp11()});
  started_ = true;
  chunked_ = framing.framing.kind == http::BodyFraming::Chunked;
  must_close_ = framing.must_close;
  body_allowed_ = framing.framing.kind != http::BodyFraming::None;
  http::ResponseConnection connection{must_close_ || client_.closeAfterResponse(),
                                      client_.requestHttp11()};
  std::string head = http::serializeResponseHead(status, reason, header_lines, framing,
                                                 connection, proxyHeaderLines(ctx_).append(more_lines));
  ctx_.timings.first_byte_out = now_ms;
  ctx_.bytes_out += head.size();
  client_.send(std::move(head));
}

void ResponseWriter::body(cache::Body chunk) {
  if (!body_allowed_ || chunk->empty()) {
    return;
  }
  ctx_.bytes_out += chunk->size();
  size_t size = chunk->size();
  if (chunked_) {
    std::string size_line;
    http::appendChunkHeader(size_line, size);
    ctx_.bytes_out += size_line.size() + 2;  // and the CRLF after the data
    client_.send(std::move(size_line));
    client_.sendShared(std::move(chunk), 0, size);
    client_.send(std::string("\r\n"));
    return;
  }
  client_.sendShared(std::move(chunk), 0, size);
}

void ResponseWriter::end() {
  if (chunked_) {
    ctx_.bytes_out += http::kLastChunk.size();
    client_.send(std::string(http::kLastChunk));
  }
  complete_ = true;
  client_.responseDone(must_close_);
}

}  // namespace edge
