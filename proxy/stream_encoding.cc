// On-the-fly compression for responses that stream through (pass-through, and misses or
// coalesced requests while the fetch is still streaming). Cache hits use the stored encoded
// forms instead (stream_cache.cc). Decided once, at header time, as h2o does.
#include "lib/codec/brotli_encoder.h"
#include "lib/codec/gzip_decoder.h"
#include "lib/codec/gzip_encoder.h"
#include "filters/conditional/etag.h"
#include "proxy/client_side.h"
#include "lib/http/framing.h"
#include "lib/http/serializer.h"
#include "proxy/stream.h"

namespace edge {
namespace {

constexpr size_t kMaxDecodedBody = size_t{1} << 30;  // a decompression bomb stops here

std::string weakVariantTag(const std::string& etag, filters::Coding coding) {
  // The bytes depend on where the stream was flushed: only a weak validator is honest.
  std::string tag = filters::variantTag(etag, coding);
  return tag.starts_with("W/") ? tag : "W/" + tag;
}

}  // namespace

// An origin that sends gzip to a client that does not take it: decode on the way out.
bool Stream::startGzipDecoding(const http::Headers& headers, std::optional<uint64_t>& content_length,
                               http::Headers& decoded_headers) {
  const std::string* encoding = headers.find("content-encoding");
  std::optional<int> gzip_weight = accept_.weightOf(filters::Coding::Gzip);
  if (encoding == nullptr || !http::iequals(http::trimOws(*encoding), "gzip") ||
      (gzip_weight && *gzip_weight > 0)) {
    return false;
  }
  encoder_ = filters::codec::makeGzipDecoder(kMaxDecodedBody);
  decoded_headers = headers;
  decoded_headers.remove("content-encoding");
  filters::addVaryAcceptEncoding(decoded_headers);
  if (const std::string* etag = headers.find("etag")) {
    decoded_headers.set("ETag", etag->starts_with("W/") ? *etag : "W/" + *etag);
  }
  content_length.reset();
  return true;
}

bool Stream::startStreamingEncoding(int status, const http::Headers& headers,
                                    std::optional<uint64_t>& content_length,
                                    http::Headers& encoded_headers) {
  if (http::statusHasNoBody(status)) {
    return false;
  }
  if (startGzipDecoding(headers, content_length, encoded_headers)) {
    return true;
  }
  filters::CompressFacts facts{req_.method, status, headers, content_length,
                               !down_->requestHttp11()};
  const config::CompressionConfig& cfg = runtime_->config->compression;
  if (!cfg.enabled) {
    return false;
  }
  filters::CompressVerdict verdict = filters::decideCompression(facts, runtime_->compress);
  filters::Coding coding = filters::Coding::Identity;
  if (verdict == filters::CompressVerdict::Compress) {
    coding = filters::chooseCoding(accept_, true, true).value_or(filters::Coding::Identity);
  }
  if (coding == filters::Coding::Identity) {
    if (!filters::variesByAcceptEncoding(verdict)) {
      return false;
    }
    encoded_headers = headers;  // identity, but another client would get it compressed
    filters::addVaryAcceptEncoding(encoded_headers);
    return true;
  }
  // Cheaper settings than the stored forms: this runs for every byte of every such response.
  encoder_ = coding == filters::Coding::Gzip
                 ? filters::codec::makeGzipEncoder(cfg.stream_gzip_level)
                 : filters::codec::makeBrotliEncoder(cfg.stream_brotli_quality,
                                                     cfg.stream_brotli_window);
  encoded_headers = headers;
  encoded_headers.set("Content-Encoding", std::string(filters::codingToken(coding)));
  encoded_headers.set("Accept-Ranges", "none");
  filters::addVaryAcceptEncoding(encoded_headers);
  if (const std::string* etag = headers.find("etag")) {
    encoded_headers.set("ETag", weakVariantTag(*etag, coding));
  }
  content_length.reset();  // the compressed length is unknown: the body goes chunked
  return true;
}

void Stream::sendEncoded(std::string_view data) {
  std::string out;
  if (!encoder_->feed(data, out)) {
    failEncoding();
    return;
  }
  sendFramed(std::move(out));
}

void Stream::flushEncoder() {
  if (!encoder_ || done_) {
    return;
  }
  std::string out;
  if (!encoder_->flush(out)) {
    failEncoding();
    return;
  }
  sendFramed(std::move(out));
}

void Stream::finishEncoder() {
  std::string out;
  if (!encoder_->finish(out)) {
    failEncoding();
    return;
  }
  sendFramed(std::move(out));
}

void Stream::failEncoding() {
  // A broken body must not look complete: close instead of ending the chunked stream.
  done_ = true;
  stopFollowing();
  if (exchange_) {
    exchange_->cancel();
  }
  down_->abortResponse();
}

void Stream::sendFramed(std::string&& bytes) {
  if (bytes.empty() || done_) {
    return;
  }
  if (response_chunked_) {
    std::string chunk;
    http::appendChunk(chunk, bytes);
    down_->send(std::move(chunk));
  } else {
    down_->send(std::move(bytes));
  }
}

}  // namespace edge
