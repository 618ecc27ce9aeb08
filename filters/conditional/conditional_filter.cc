#include "filters/conditional/conditional_filter.h"

#include "filters/compress/accept_encoding.h"
#include "filters/conditional/etag.h"
#include "filters/fields/json_response.h"
#include "lib/http/via.h"

namespace edge::filters {

FilterStatus ConditionalFilter::onRequestHeaders(http::RequestHead& /*head*/) {
  RequestContext& context = callbacks().context();
  if (context.upstream_headers == nullptr) {
    return FilterStatus::Continue;  // answered by the proxy itself (a batch): nothing to send on
  }
  http::Headers& headers = *context.upstream_headers;
  if (context.method == "GET" || context.method == "HEAD") {
    if (const std::string* inm = headers.find("if-none-match")) {
      context.if_none_match = *inm;
    }
    if (const std::string* ims = headers.find("if-modified-since")) {
      context.if_modified_since = *ims;
    }
  }
  // Our per-encoding tags mean nothing to the origin: it gets its own tags back.
  if (const std::string* inm = headers.find("if-none-match")) {
    headers.set("If-None-Match", stripVariantSuffixes(*inm));
  }
  return FilterStatus::Continue;
}

bool ConditionalFilter::clientSentConditionals() {
  const RequestContext& context = callbacks().context();
  return context.if_none_match.has_value() || context.if_modified_since.has_value();
}

// RFC 9110 13.1.2 / 13.1.3: If-None-Match decides when present; If-Modified-Since only
// without it. `coding` is the encoding about to be sent: a client holding another encoding's
// tag has another copy.
bool ConditionalFilter::clientHasCurrentCopy(const http::Headers& headers, Coding coding) {
  const RequestContext& context = callbacks().context();
  if (context.if_none_match) {
    const std::string* etag = headers.find("etag");
    return etag != nullptr && conditionMatchesVariant(*context.if_none_match, *etag, coding);
  }
  if (context.if_modified_since) {
    const std::string* last_modified = headers.find("last-modified");
    return last_modified != nullptr &&
           notModifiedSince(*context.if_modified_since, *last_modified);
  }
  return false;
}

void ConditionalFilter::answerNotModified(ResponseHead& head, const http::Headers& full_headers,
                                          Coding coding) {
  http::Headers headers = notModifiedHeaders(full_headers);
  if (coding != Coding::Identity) {
    if (const std::string* etag = full_headers.find("etag")) {
      headers.set("ETag", variantTag(*etag, coding));
    }
    addVaryAcceptEncoding(headers);
  }
  headers.appendToList("Via", http::kVia);
  head.status = 304;
  head.reason = "Not Modified";
  head.headers = std::move(headers);
  head.content_length.reset();
  head.form.reset();
  head.materialised = true;
  head.whole_body = false;
}

bool ConditionalFilter::wantsGeneratedTag(const ResponseHead& head) {
  const RequestContext& context = callbacks().context();
  return config_.generate_etag && head.status == 200 && !context.head_request &&
         head.headers.find("etag") == nullptr && isPlainJson(head.headers) &&
         !(head.content_length && *head.content_length > config_.max_object_size);
}

// A body at hand in full: a 304 when the client holds the coding it would be sent in.
bool ConditionalFilter::answerWhole(ResponseHead& head) {
  if (head.status != 200 || !clientSentConditionals()) {
    return false;
  }
  Coding coding = wholeBodyCoding(head, callbacks().context(), *config_.compression).coding;
  if (!clientHasCurrentCopy(head.headers, coding)) {
    return false;
  }
  http::Headers full = std::move(head.headers);
  answerNotModified(head, full, coding);
  return true;
}

FilterStatus ConditionalFilter::onResponseHeaders(ResponseHead& head, bool& end) {
  if (end || head.released) {
    return FilterStatus::Continue;
  }
  if (head.entry && !head.materialised) {
    const cache::CachedEntry& entry = *head.entry;
    if (entry.status == 200 && clientSentConditionals()) {
      Coding coding = entryCoding(entry, callbacks().context(), *config_.compression);
      if (clientHasCurrentCopy(entry.headers, coding)) {
        answerNotModified(head, entry.headers, coding);
        end = true;
      }
    }
    return FilterStatus::Continue;
  }
  if (!head.whole_body && head.answer_conditionals_at_head && head.status == 200 &&
      !callbacks().context().has_field_selection &&
      clientHasCurrentCopy(head.headers, Coding::Identity)) {
    // A shared fetch: the origin never saw this client's conditionals. The body still
    // streams into the cache for the others.
    http::Headers full = std::move(head.headers);
    answerNotModified(head, full, Coding::Identity);
    end = true;
    return FilterStatus::Continue;
  }
  if (wantsGeneratedTag(head)) {
    holding_ = true;
    return FilterStatus::StopAndBuffer;
  }
  if (head.whole_body && answerWhole(head)) {
    end = true;
  }
  return FilterStatus::Continue;
}

// The held body is complete: tag it, then answer the client's conditionals against it.
FilterStatus ConditionalFilter::onResponseBody(BodyPiece& piece) {
  if (!holding_) {
    return FilterStatus::Continue;
  }
  holding_ = false;
  ResponseHead& head = callbacks().heldResponse();
  static const std::string kEmpty;
  const std::string& body = piece.data ? *piece.data : kEmpty;
  head.headers.set("ETag", generateEtag(body));
  head.whole_body = true;
  head.content_length = body.size();
  if (answerWhole(head)) {
    piece.data = nullptr;  // a 304 carries no body; the end still comes
  }
  return FilterStatus::Continue;
}

}  // namespace edge::filters
