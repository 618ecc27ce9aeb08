// Shared plumbing for the zlib-based codecs. Internal to lib/codec.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#ifndef ZLIB_CONST
#define ZLIB_CONST  // next_in becomes a pointer to const: zlib never writes to its input
#endif
#include <zlib.h>

#include "lib/codec/encoder.h"

namespace edge::filters::codec {

// zlib counts in uInt; larger inputs are handed over in slices of this size.
inline constexpr size_t kMaxZlibSlice = 1u << 30;

inline void setInput(z_stream& stream, std::string_view input) {
  stream.next_in = reinterpret_cast<const Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
}

// Lends zlib the next `size` bytes at the end of `out` to write into; the destructor gives back
// what zlib left unused, so `out` only ever grows by what was produced.
class OutputChunk {
 public:
  OutputChunk(z_stream& stream, std::string& out, size_t size = kOutputChunk)
      : stream_(stream), out_(out) {
    const size_t base = out_.size();
    out_.resize(base + size);
    stream_.next_out = reinterpret_cast<Bytef*>(out_.data() + base);
    stream_.avail_out = static_cast<uInt>(size);
  }
  ~OutputChunk() { out_.resize(out_.size() - stream_.avail_out); }
  OutputChunk(const OutputChunk&) = delete;
  OutputChunk& operator=(const OutputChunk&) = delete;

 private:
  z_stream& stream_;
  std::string& out_;
};

}  // namespace edge::filters::codec
