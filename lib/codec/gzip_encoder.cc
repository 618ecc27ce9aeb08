#include "lib/codec/gzip_encoder.h"

#include <algorithm>
#include <memory>
#include <string>

#include "lib/codec/zlib_util.h"

namespace edge::filters::codec {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // +16: gzip header and CRC-32 trailer, not zlib's
constexpr int kMemLevel = 8;

class GzipEncoder final : public Transformer {
 public:
  explicit GzipEncoder(int level) {
    const int rc =
        deflateInit2_(&stream_, std::clamp(level, 1, 9), Z_DEFLATED, kGzipWindowBits, kMemLevel,
                      Z_DEFAULT_STRATEGY, ZLIB_VERSION, static_cast<int>(sizeof(z_stream)));
    initialized_ = rc == Z_OK;
    if (!initialized_) {
      error_ = "deflate init failed: " + std::to_string(rc);
    }
  }
  ~GzipEncoder() override {
    if (initialized_) {
      deflateEnd(&stream_);
    }
  }
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;

  bool feed(std::string_view input, std::string& out) override {
    if (finished_) {
      return fail("feed after finish");
    }
    while (error_.empty() && !input.empty()) {
      const std::string_view slice = input.substr(0, kMaxZlibSlice);
      input.remove_prefix(slice.size());
      setInput(stream_, slice);
      run(Z_NO_FLUSH, out);
    }
    return error_.empty();
  }

  bool flush(std::string& out) override {
    if (finished_ || !error_.empty()) {
      return error_.empty();
    }
    setInput(stream_, {});
    return run(Z_SYNC_FLUSH, out);
  }

  bool finish(std::string& out) override {
    if (finished_ || !error_.empty()) {
      return error_.empty();
    }
    finished_ = true;
    setInput(stream_, {});
    return run(Z_FINISH, out);
  }

  const std::string& error() const override { return error_; }

 private:
  // Deflates the pending input. zlib stops when it runs out of input or of room; a chunk it
  // filled completely may mean more output is waiting, so go round again.
  bool run(int mode, std::string& out) {
    for (;;) {
      int rc;
      {
        OutputChunk chunk(stream_, out);
        rc = deflate(&stream_, mode);
      }
      if (rc == Z_STREAM_END) {
        return true;
      }
      // Z_BUF_ERROR only means there was nothing to do (e.g. two flushes in a row).
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return fail(stream_.msg != nullptr ? stream_.msg : "deflate failed");
      }
      if (stream_.avail_out != 0) {
        // With room to spare, Z_FINISH must have reached the end of the stream.
        return mode != Z_FINISH || fail("deflate stopped before the end of the stream");
      }
    }
  }

  bool fail(const std::string& why) {
    if (error_.empty()) {
      error_ = why;
    }
    return false;
  }

  z_stream stream_{};
  bool initialized_ = false;
  bool finished_ = false;
  std::string error_;
};

}  // namespace

TransformerPtr makeGzipEncoder(int level) { return std::make_unique<GzipEncoder>(level); }

std::string gzipCompress(std::string_view body, int level) {
  GzipEncoder encoder(level);
  std::string out;
  out.reserve(body.size() / 3 + 64);
  if (!encoder.feed(body, out) || !encoder.finish(out)) {
    return {};
  }
  return out;
}

}  // namespace edge::filters::codec
