#include "filters/compress/compress_filter.h"

#include "filters/conditional/etag.h"
#include "lib/cache/entry.h"
#include "lib/codec/brotli_encoder.h"
#include "lib/codec/gzip_decoder.h"
#include "lib/codec/gzip_encoder.h"
#include "lib/http/framing.h"

namespace edge::filters {
namespace {

constexpr size_t kMaxDecodedBody = size_t{1} << 30;  // a decompression bomb stops here

std::string weakVariantTag(const std::string& etag, Coding coding) {
  // The bytes depend on where the stream was flushed: only a weak validator is honest.
  std::string tag = variantTag(etag, coding);
  return tag.starts_with("W/") ? tag : "W/" + tag;
}

}  // namespace

FilterStatus CompressFilter::onRequestHeaders(http::RequestHead& head) {
  RequestContext& context = callbacks().context();
  context.accept = parseAcceptEncoding(context.upstream_headers != nullptr
                                           ? *context.upstream_headers
                                           : head.headers);
  return FilterStatus::Continue;
}

FilterStatus CompressFilter::onResponseHeaders(ResponseHead& head, bool& end) {
  if (head.entry) {
    // A hit (or the 304 that answered one): the Brotli form is asked for either way.
    if (wantsBrotliLater(*head.entry, callbacks().context(), config_.settings)) {
      services_.brotli->requestBrotli(head.entry);
    }
    if (!head.materialised) {
      serveStoredForm(head);
    }
    return FilterStatus::Continue;
  }
  if (end || http::statusHasNoBody(head.status)) {
    return FilterStatus::Continue;
  }
  if (head.whole_body) {
    return startWhole(head);
  }
  startStreamed(head);
  return FilterStatus::Continue;
}

// The entry's body in the chosen coding: made on first demand, then kept by storing a copy of
// the entry that holds it (so the memory budget counts it and every worker finds it).
void CompressFilter::serveStoredForm(ResponseHead& head) {
  const cache::EntryPtr& entry = head.entry;
  coding_ = entryCoding(*entry, callbacks().context(), config_.settings);
  if (coding_ == Coding::Identity) {
    return;
  }
  const size_t slot = encodedSlot(coding_);
  std::shared_ptr<const cache::CachedEntry::Encoded> form = entry->encoded[slot];
  if (!form) {
    form = encodeEntry(*entry, coding_, config_.stored_levels);
    std::shared_ptr<cache::CachedEntry> with_form = cache::cloneEntry(*entry);
    with_form->encoded[slot] = form;
    services_.cache->store.insert(std::move(with_form));
  }
  head.form = form;
  head.content_length = form->body->size();
  form_body_ = form->body;
  mode_ = Mode::StoredForm;
}

// The whole body is at hand: one deterministic encoding, so the variant's tag stays strong.
FilterStatus CompressFilter::startWhole(ResponseHead& head) {
  WholeBodyCoding decision = wholeBodyCoding(head, callbacks().context(), config_.settings);
  coding_ = decision.coding;
  if (config_.settings.config->enabled && variesByAcceptEncoding(decision.verdict)) {
    addVaryAcceptEncoding(head.headers);
  }
  if (coding_ == Coding::Identity) {
    return FilterStatus::Continue;
  }
  head.headers.set("Content-Encoding", std::string(codingToken(coding_)));
  if (const std::string* etag = head.headers.find("etag")) {
    head.headers.set("ETag", variantTag(*etag, coding_));
  }
  mode_ = Mode::Whole;
  return FilterStatus::StopAndBuffer;  // one piece: held only to learn the compressed length
}

// An origin that sends gzip to a client that does not take it: decode on the way out.
bool CompressFilter::startGzipDecoding(ResponseHead& head) {
  const std::string* encoding = head.headers.find("content-encoding");
  std::optional<int> gzip_weight = callbacks().context().accept.weightOf(Coding::Gzip);
  if (encoding == nullptr || !http::iequals(http::trimOws(*encoding), "gzip") ||
      (gzip_weight && *gzip_weight > 0)) {
    return false;
  }
  encoder_ = codec::makeGzipDecoder(kMaxDecodedBody);
  head.headers.remove("content-encoding");
  addVaryAcceptEncoding(head.headers);
  if (const std::string* etag = head.headers.find("etag")) {
    head.headers.set("ETag", etag->starts_with("W/") ? *etag : "W/" + *etag);
  }
  head.content_length.reset();
  mode_ = Mode::Streamed;
  return true;
}

void CompressFilter::startStreamed(ResponseHead& head) {
  if (startGzipDecoding(head)) {
    return;
  }
  const config::CompressionConfig& cfg = *config_.settings.config;
  if (!cfg.enabled) {
    return;
  }
  const RequestContext& context = callbacks().context();
  CompressFacts facts{context.method, head.status, head.headers, head.content_length,
                      context.client_http10};
  CompressVerdict verdict = decideCompression(facts, config_.settings.rules);
  coding_ = Coding::Identity;
  if (verdict == CompressVerdict::Compress) {
    coding_ = chooseCoding(context.accept, true, true).value_or(Coding::Identity);
  }
  if (coding_ == Coding::Identity) {
    if (variesByAcceptEncoding(verdict)) {
      addVaryAcceptEncoding(head.headers);  // identity, but another client would get it compressed
    }
    return;
  }
  // Cheaper settings than the stored forms: this runs for every byte of every such response.
  encoder_ = coding_ == Coding::Gzip
                 ? codec::makeGzipEncoder(cfg.stream_gzip_level)
                 : codec::makeBrotliEncoder(cfg.stream_brotli_quality, cfg.stream_brotli_window);
  head.headers.set("Content-Encoding", std::string(codingToken(coding_)));
  head.headers.set("Accept-Ranges", "none");
  addVaryAcceptEncoding(head.headers);
  if (const std::string* etag = head.headers.find("etag")) {
    head.headers.set("ETag", weakVariantTag(*etag, coding_));
  }
  head.content_length.reset();  // the compressed length is unknown: the body goes chunked
  mode_ = Mode::Streamed;
}

FilterStatus CompressFilter::onResponseBody(BodyPiece& piece) {
  switch (mode_) {
    case Mode::None:
      break;
    case Mode::StoredForm:
      if (piece.size() > 0) {
        piece.data = form_body_;
      }
      break;
    case Mode::Whole: {
      const config::CompressionConfig& cfg = *config_.settings.config;
      static const std::string kEmpty;
      const std::string& body = piece.data ? *piece.data : kEmpty;
      piece.data = std::make_shared<const std::string>(
          compressBody(body, coding_, {cfg.gzip_level, cfg.stream_brotli_quality}));
      callbacks().heldResponse().content_length = piece.size();
      break;
    }
    case Mode::Streamed:
      encode(piece);
      break;
  }
  return FilterStatus::Continue;
}

void CompressFilter::encode(BodyPiece& piece) {
  std::string out;
  bool ok = true;
  if (piece.size() > 0) {
    ok = encoder_->feed(*piece.data, out);
  }
  if (ok && piece.end) {
    ok = encoder_->finish(out);
  } else if (ok && piece.flush) {
    ok = encoder_->flush(out);
  }
  if (!ok) {
    // A broken body must not look complete: the stream is cut off, never ended.
    callbacks().resetStream(ErrorKind::EncodingFailed);
    return;
  }
  piece.data = out.empty() ? nullptr : std::make_shared<const std::string>(std::move(out));
}

}  // namespace edge::filters
