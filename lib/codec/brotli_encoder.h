// Brotli (RFC 7932) compression with libbrotlienc's streaming API.
#pragma once

#include <string>
#include <string_view>

#include "lib/codec/encoder.h"

namespace edge::filters::codec {

// A streaming brotli encoder tuned for text (BROTLI_MODE_TEXT). `quality` is clamped to 0..11,
// `lgwin` (log2 of the window) to 10..24. flush() is BROTLI_OPERATION_FLUSH.
// Memory is bounded by the window, not the body, but the window is costly: brotli buffers up to
// 2^(lgwin+1) bytes of input before it emits a metablock (quality 0 and 1 excepted), and an
// encoder fed a large body peaks near 4 MB at quality 5 with lgwin 18, 35 MB with lgwin 22, and
// 90 MB at quality 11 with lgwin 22. Responses compressed on the fly want lgwin 18 to 20, or
// flush() when the upstream stalls.
TransformerPtr makeBrotliEncoder(int quality, int lgwin = 22);

// The whole body at once, for cache variants compressed once at store time. The window is sized
// to the body (up to lgwin 22), so small bodies cost their decoders less memory. Empty only if
// the encoder could not be allocated.
std::string brotliCompress(std::string_view body, int quality);

}  // namespace edge::filters::codec
