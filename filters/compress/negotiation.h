// Which coding a response goes out in: one decision, read by the compression filter (which
// applies it) and by the conditional filter (a client's tag names one coding's bytes).
#pragma once

#include "config/config.h"
#include "filters/chain/request_context.h"
#include "filters/chain/response_head.h"
#include "filters/compress/accept_encoding.h"

namespace edge::filters {

struct CompressionSettings {
  const config::CompressionConfig* config = nullptr;
  CompressConfig rules;  // media types and minimum size, in the form decideCompression takes
};

// A hit from `entry`: compressible, and a coding the client takes that is stored (Brotli only
// once the background encoder made it; gzip is made on demand).
Coding entryCoding(const cache::CachedEntry& entry, const RequestContext& context,
                   const CompressionSettings& settings);
// The client would take Brotli, which is not stored yet: ask the background encoder.
bool wantsBrotliLater(const cache::CachedEntry& entry, const RequestContext& context,
                      const CompressionSettings& settings);

// A body at hand in full: compressed in one piece when the verdict says so.
struct WholeBodyCoding {
  Coding coding = Coding::Identity;
  CompressVerdict verdict = CompressVerdict::Compress;
};
WholeBodyCoding wholeBodyCoding(const ResponseHead& head, const RequestContext& context,
                                const CompressionSettings& settings);

}  // namespace edge::filters
