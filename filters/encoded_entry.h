// Compressed forms of a stored response: made once from the entry's identity body, with the
// header block a hit in that encoding sends. Pure: no event loop.
#pragma once

#include <memory>

#include "filters/accept_encoding.h"
#include "proxy/cache/entry.h"

namespace edge::filters {

struct EncodingLevels {
  int gzip_level = 6;
  int brotli_quality = 5;  // made on the request path: 11 compresses better but takes ~50x longer
};

inline size_t encodedSlot(Coding coding) { return coding == Coding::Gzip ? 0 : 1; }

// The entry's body in `coding` (gzip or Brotli) with its header block: the stored headers
// plus Content-Encoding, the variant's ETag (see variantTag) and Vary: Accept-Encoding.
std::shared_ptr<const cache::CachedEntry::Encoded> encodeEntry(const cache::CachedEntry& entry,
                                                               Coding coding,
                                                               const EncodingLevels& levels);

}  // namespace edge::filters
