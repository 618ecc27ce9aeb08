// gzip (RFC 1952) compression with zlib's deflate.
#pragma once

#include <string>
#include <string_view>

#include "lib/codec/encoder.h"

namespace edge::filters::codec {

// A streaming gzip encoder: one gzip member, windowBits 15, memLevel 8. `level` is clamped to
// 1..9 (1 fastest, 9 smallest). flush() is Z_SYNC_FLUSH.
TransformerPtr makeGzipEncoder(int level);

// The whole body as one gzip member, for cache variants compressed once at store time. Empty
// only if zlib could not allocate its state.
std::string gzipCompress(std::string_view body, int level);

}  // namespace edge::filters::codec
