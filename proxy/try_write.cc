#include "proxy/try_write.h"

namespace edge {

int tryWriteFront(uv_stream_t* stream, std::vector<OutChunk>& bufs) {
  if (bufs.empty() || uv_stream_get_write_queue_size(stream) > 0) {
    return 0;  // queued bytes must go first
  }
  constexpr size_t kMaxIov = 64;
  uv_buf_t iov[kMaxIov];
  size_t n = bufs.size() < kMaxIov ? bufs.size() : kMaxIov;
  for (size_t i = 0; i < n; ++i) {
    std::string_view bytes = bufs[i].view();
    // libuv's buffer type is not const-correct; it only reads these bytes.
    iov[i] = uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
  }
  int written = uv_try_write(stream, iov, static_cast<unsigned>(n));
  if (written == UV_EAGAIN || written == UV_ENOSYS) {
    return 0;
  }
  if (written < 0) {
    return written;
  }
  size_t left = static_cast<size_t>(written);
  size_t done = 0;
  while (done < bufs.size() && left >= bufs[done].size()) {
    left -= bufs[done].size();
    ++done;
  }
  if (done < bufs.size() && left > 0) {
    bufs[done].consume(left);
  }
  bufs.erase(bufs.begin(), bufs.begin() + static_cast<std::ptrdiff_t>(done));
  return 0;
}

}  // namespace edge
