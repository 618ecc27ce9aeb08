// gzip (RFC 1952) decompression with zlib's inflate.
#pragma once

#include <cstddef>

#include "lib/codec/encoder.h"

namespace edge::filters::codec {

// A streaming gzip decoder.
// - Concatenated members are accepted and decoded back to back, as RFC 1952 allows and as
//   gunzip does. Bytes after a member that do not start another member are an error
//   ("trailing data after gzip stream"), so an appended payload is never passed on silently.
// - finish() fails with "gzip stream ended early" if the last member is incomplete, or if no
//   input was fed at all.
// - `max_output` guards against decompression bombs: once more than that many bytes would be
//   decoded, the call fails with "decoded body exceeds N bytes" and at most N + 1 bytes have
//   been appended. 0 means unlimited.
// - flush() appends nothing: inflate already hands out everything it can decode.
TransformerPtr makeGzipDecoder(size_t max_output = 0);

}  // namespace edge::filters::codec
