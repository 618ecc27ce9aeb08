// One piece of an outgoing byte stream: either bytes the socket owns, or a slice of a shared,
// immutable buffer (a cached body, a chunk of an in-flight fetch) sent without copying. A
// queued chunk keeps its shared buffer alive until the bytes are written.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace edge::net {

class OutChunk {
 public:
  explicit OutChunk(std::string&& owned) : owned_(std::move(owned)) {}
  OutChunk(std::shared_ptr<const std::string> shared, size_t offset, size_t length)
      : shared_(std::move(shared)), offset_(offset), length_(length) {}

  std::string_view view() const {
    return shared_ ? std::string_view(*shared_).substr(offset_, length_) : std::string_view(owned_);
  }
  size_t size() const { return shared_ ? length_ : owned_.size(); }
  // Drops the first `n` bytes (after a partial write).
  void consume(size_t n) {
    if (shared_) {
      offset_ += n;
      length_ -= n;
    } else {
      owned_.erase(0, n);
    }
  }

 private:
  std::string owned_;
  std::shared_ptr<const std::string> shared_;
  size_t offset_ = 0;
  size_t length_ = 0;
};

}  // namespace edge::net
