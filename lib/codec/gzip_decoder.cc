#include "lib/codec/gzip_decoder.h"

#include <algorithm>
#include <memory>
#include <string>

#include "lib/codec/zlib_util.h"

namespace edge::filters::codec {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // +16: expect a gzip header, not a zlib one
constexpr char kGzipMagic[] = {'\x1f', '\x8b'};

class GzipDecoder final : public Transformer {
 public:
  explicit GzipDecoder(size_t max_output) : max_output_(max_output) {
    const int rc =
        inflateInit2_(&stream_, kGzipWindowBits, ZLIB_VERSION, static_cast<int>(sizeof(z_stream)));
    initialized_ = rc == Z_OK;
    if (!initialized_) {
      error_ = "inflate init failed: " + std::to_string(rc);
    }
  }
  ~GzipDecoder() override {
    if (initialized_) {
      inflateEnd(&stream_);
    }
  }
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;

  bool feed(std::string_view input, std::string& out) override {
    if (finished_) {
      return fail("feed after finish");
    }
    while (error_.empty() && !input.empty()) {
      if (member_ended_) {
        startNextMember(input, out);
      } else {
        inflateSome(input, out);
      }
    }
    return error_.empty();
  }

  bool flush(std::string& /*out*/) override { return error_.empty(); }

  bool finish(std::string& /*out*/) override {
    if (finished_ || !error_.empty()) {
      return error_.empty();
    }
    finished_ = true;
    if (!member_ended_ || magic_seen_ != 0) {
      return fail("gzip stream ended early");
    }
    return true;
  }

  const std::string& error() const override { return error_; }

 private:
  // Inflates until `input` is used up or the current member ends; whatever follows the end of
  // the member is left in `input`.
  bool inflateSome(std::string_view& input, std::string& out) {
    const std::string_view slice = input.substr(0, kMaxZlibSlice);
    setInput(stream_, slice);
    int rc;
    do {
      const size_t before = out.size();
      {
        OutputChunk chunk(stream_, out, nextChunkSize());
        rc = inflate(&stream_, Z_NO_FLUSH);
      }
      produced_ += out.size() - before;
      if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
        return fail(std::string("corrupt gzip data: ") +
                    (stream_.msg != nullptr ? stream_.msg : "unknown error"));
      }
      if (rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
        return fail("inflate failed: " + std::to_string(rc));
      }
      if (max_output_ != 0 && produced_ > max_output_) {
        return fail("decoded body exceeds " + std::to_string(max_output_) + " bytes");
      }
    } while (rc != Z_STREAM_END && stream_.avail_out == 0);
    const size_t consumed = slice.size() - stream_.avail_in;
    if (consumed == 0 && rc != Z_STREAM_END) {
      return fail("inflate made no progress");  // would otherwise spin in feed()
    }
    input.remove_prefix(consumed);
    member_ended_ = rc == Z_STREAM_END;
    return true;
  }

  // After a member, only another member may follow. Its magic number can arrive split across
  // feeds, so it is matched byte by byte before inflate starts on the new member.
  bool startNextMember(std::string_view& input, std::string& out) {
    while (magic_seen_ < sizeof(kGzipMagic) && !input.empty()) {
      if (input.front() != kGzipMagic[magic_seen_]) {
        return fail("trailing data after gzip stream");
      }
      ++magic_seen_;
      input.remove_prefix(1);
    }
    if (magic_seen_ < sizeof(kGzipMagic)) {
      return true;
    }
    magic_seen_ = 0;
    if (inflateReset(&stream_) != Z_OK) {
      return fail("inflate reset failed");
    }
    std::string_view magic(kGzipMagic, sizeof(kGzipMagic));
    return inflateSome(magic, out);
  }

  // Never lets inflate write more than one byte past the limit, so a bomb costs no memory.
  size_t nextChunkSize() const {
    if (max_output_ == 0) {
      return kOutputChunk;
    }
    return std::min(kOutputChunk, max_output_ - produced_ + 1);
  }

  bool fail(const std::string& why) {
    if (error_.empty()) {
      error_ = why;
    }
    return false;
  }

  z_stream stream_{};
  const size_t max_output_;
  size_t produced_ = 0;
  size_t magic_seen_ = 0;  // bytes of the next member's magic number matched so far
  bool member_ended_ = false;
  bool initialized_ = false;
  bool finished_ = false;
  std::string error_;
};

}  // namespace

TransformerPtr makeGzipDecoder(size_t max_output) {
  return std::make_unique<GzipDecoder>(max_output);
}

}  // namespace edge::filters::codec
