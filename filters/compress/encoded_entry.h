// Compressed forms of a stored response: made once from the entry's identity body, with the
// header block a hit in that encoding sends. Pure: no event loop.
#pragma once

#include <memory>

#include "filters/compress/accept_encoding.h"
#include "lib/cache/entry.h"

namespace edge::filters {

struct EncodingLevels {
  int gzip_level = 6;       // made on the request path the first time a hit asks for it
  int brotli_quality = 11;  // made off the request path (~100-200 ms for 64 KB at 11)
};

inline size_t encodedSlot(Coding coding) { return coding == Coding::Gzip ? 0 : 1; }

// The entry's body in `coding` (gzip or Brotli) with its header block: the stored headers
// plus Content-Encoding, the variant's ETag (see variantTag) and Vary: Accept-Encoding.
std::shared_ptr<const cache::CachedEntry::Encoded> encodeEntry(const cache::CachedEntry& entry,
                                                               Coding coding,
                                                               const EncodingLevels& levels);

// Compression alone, for running on another thread: no shared state is touched.
std::string compressBody(const std::string& body, Coding coding, const EncodingLevels& levels);

// The encoded form with an already compressed body (see compressBody).
std::shared_ptr<const cache::CachedEntry::Encoded> encodedForm(const cache::CachedEntry& entry,
                                                               Coding coding,
                                                               std::string&& compressed);

}  // namespace edge::filters
