#include "lib/codec/brotli_encoder.h"

#include <brotli/encode.h>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace edge::filters::codec {
namespace {

class BrotliEncoder final : public Transformer {
 public:
  // `size_hint` is the whole input's size when known up front, 0 otherwise.
  BrotliEncoder(int quality, int lgwin, size_t size_hint)
      : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (state_ == nullptr) {
      error_ = "brotli encoder allocation failed";
      return;
    }
    setParameter(BROTLI_PARAM_MODE, BROTLI_MODE_TEXT);
    setParameter(BROTLI_PARAM_QUALITY, std::clamp(quality, BROTLI_MIN_QUALITY, BROTLI_MAX_QUALITY));
    setParameter(BROTLI_PARAM_LGWIN,
                 std::clamp(lgwin, BROTLI_MIN_WINDOW_BITS, BROTLI_MAX_WINDOW_BITS));
    if (size_hint != 0) {
      setParameter(BROTLI_PARAM_SIZE_HINT, std::min<size_t>(size_hint, 1u << 30));
    }
  }
  ~BrotliEncoder() override {
    if (state_ != nullptr) {
      BrotliEncoderDestroyInstance(state_);
    }
  }
  BrotliEncoder(const BrotliEncoder&) = delete;
  BrotliEncoder& operator=(const BrotliEncoder&) = delete;

  bool feed(std::string_view input, std::string& out) override {
    if (finished_) {
      return fail("feed after finish");
    }
    return error_.empty() && (input.empty() || run(BROTLI_OPERATION_PROCESS, input, out));
  }

  bool flush(std::string& out) override {
    if (finished_ || !error_.empty()) {
      return error_.empty();
    }
    return run(BROTLI_OPERATION_FLUSH, {}, out);
  }

  bool finish(std::string& out) override {
    if (finished_ || !error_.empty()) {
      return error_.empty();
    }
    finished_ = true;
    return run(BROTLI_OPERATION_FINISH, {}, out);
  }

  const std::string& error() const override { return error_; }

 private:
  template <typename Value>
  void setParameter(BrotliEncoderParameter parameter, Value value) {
    BrotliEncoderSetParameter(state_, parameter, static_cast<uint32_t>(value));
  }

  // Runs `op` until the input is consumed and the encoder holds no more output. Output is taken
  // straight from the encoder's buffer (no output buffer of our own), kOutputChunk at a time.
  bool run(BrotliEncoderOperation op, std::string_view input, std::string& out) {
    size_t available_in = input.size();
    const auto* next_in = reinterpret_cast<const uint8_t*>(input.data());
    for (;;) {
      size_t available_out = 0;
      if (!BrotliEncoderCompressStream(state_, op, &available_in, &next_in, &available_out, nullptr,
                                       nullptr)) {
        return fail("brotli encoder failed");
      }
      while (BrotliEncoderHasMoreOutput(state_)) {
        size_t size = kOutputChunk;
        const uint8_t* data = BrotliEncoderTakeOutput(state_, &size);
        out.append(reinterpret_cast<const char*>(data), size);
      }
      const bool done =
          op == BROTLI_OPERATION_FINISH ? BrotliEncoderIsFinished(state_) : available_in == 0;
      if (done) {
        return true;
      }
    }
  }

  bool fail(const std::string& why) {
    if (error_.empty()) {
      error_ = why;
    }
    return false;
  }

  BrotliEncoderState* state_;
  bool finished_ = false;
  std::string error_;
};

// The smallest window that holds the whole body (brotli's window is 2^lgwin - 16 bytes), so
// decoders of small cached bodies need no more memory than the body itself.
int windowFor(size_t size) {
  int lgwin = BROTLI_MIN_WINDOW_BITS;
  while (lgwin < BROTLI_DEFAULT_WINDOW && (size_t{1} << lgwin) - 16 < size) {
    ++lgwin;
  }
  return lgwin;
}

}  // namespace

TransformerPtr makeBrotliEncoder(int quality, int lgwin) {
  return std::make_unique<BrotliEncoder>(quality, lgwin, 0);
}

std::string brotliCompress(std::string_view body, int quality) {
  BrotliEncoder encoder(quality, windowFor(body.size()), body.size());
  std::string out;
  out.reserve(body.size() / 4 + 64);
  if (!encoder.feed(body, out) || !encoder.finish(out)) {
    return {};
  }
  return out;
}

}  // namespace edge::filters::codec
