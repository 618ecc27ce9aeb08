// One interface for every streaming body codec, so the compress filter and the cache's variant
// builder drive gzip and brotli (and the gzip decoder) the same way. Pure: no event loop.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace edge::filters::codec {

// A streaming byte transform (compress or decompress). Output is appended to the caller's string
// as soon as the codec has it; a transformer holds no more than its codec's window, whatever the
// body size, so feeding bounded pieces keeps memory bounded. Once a call returns false the
// transformer is failed for good: every later call returns false and error() keeps the first
// reason. `out` may then hold partial output, which the caller must discard.
class Transformer {
 public:
  virtual ~Transformer() = default;

  // Consumes all of `input` and appends whatever output is ready to `out`. Returns false on a
  // data error (decoders: corrupt input), or when called after finish().
  virtual bool feed(std::string_view input, std::string& out) = 0;

  // Appends everything still buffered (a sync flush): the output so far decodes to exactly the
  // input fed so far. For streamed responses that must not hold bytes back (slow upstream
  // chunks). Each flush costs a few bytes of output, so call it only when the stream stalls.
  virtual bool flush(std::string& out) = 0;

  // End of input: appends the rest of the output and the trailer (decoders: checks the input
  // was complete). feed() after finish() is an error; flush() and finish() append nothing.
  virtual bool finish(std::string& out) = 0;

  // Why the last call failed; empty while nothing has.
  virtual const std::string& error() const = 0;
};

using TransformerPtr = std::unique_ptr<Transformer>;

// Codecs write into `out` this many bytes at a time rather than keep output buffers of their own.
inline constexpr size_t kOutputChunk = 16 * 1024;

}  // namespace edge::filters::codec
