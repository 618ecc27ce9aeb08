// Conditional requests, in one place: the client's If-None-Match / If-Modified-Since are read
// once, a JSON 200 of a class with generate_etag is held until complete and gets a strong ETag
// made from its body, and a 200 the client already holds (in the coding it would be sent in)
// becomes a 304. The proxy answers conditionals itself for hits, shared fetches and bodies
// held in full; a pass-through request carries them to the origin, minus our variant suffixes.
#pragma once

#include "filters/chain/filter.h"
#include "filters/compress/negotiation.h"

namespace edge::filters {

struct ConditionalFilterConfig {
  const CompressionSettings* compression = nullptr;
  bool generate_etag = false;
  uint64_t max_object_size = 0;  // a held body larger than this streams on without a tag
};

class ConditionalFilter : public Filter {
 public:
  explicit ConditionalFilter(const ConditionalFilterConfig& config) : config_(config) {}

  FilterStatus onRequestHeaders(http::RequestHead& head) override;
  FilterStatus onResponseHeaders(ResponseHead& head, bool& end) override;
  FilterStatus onResponseBody(BodyPiece& piece) override;
  uint64_t bufferLimit() const override { return config_.max_object_size; }

 private:
  bool wantsGeneratedTag(const ResponseHead& head);
  bool clientSentConditionals();
  bool clientHasCurrentCopy(const http::Headers& headers, Coding coding);
  // Turns `head` into the 304 for it.
  void answerNotModified(ResponseHead& head, const http::Headers& full_headers, Coding coding);
  bool answerWhole(ResponseHead& head);

  const ConditionalFilterConfig& config_;
  bool holding_ = false;  // for a generated tag
};

}  // namespace edge::filters
