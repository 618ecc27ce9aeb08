#include "proxy/net/try_write.h"

namespace edge::net {

size_t toUvBufs(const std::vector<OutChunk>& chunks, uv_buf_t* out, size_t max) {
  size_t n = chunks.size() < max ? chunks.size() : max;
  for (size_t i = 0; i < n; ++i) {
    std::string_view bytes = chunks[i].view();
    // libuv's buffer type is not const-correct; it only reads these bytes.
    out[i] = uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
  }
  return n;
}

int tryWriteFront(uv_stream_t* stream, std::vector<OutChunk>& chunks) {
  if (chunks.empty() || uv_stream_get_write_queue_size(stream) > 0) {
    return 0;  // queued bytes must go first
  }
  uv_buf_t iov[kMaxTryWriteBufs];
  size_t n = toUvBufs(chunks, iov, kMaxTryWriteBufs);
  int written = uv_try_write(stream, iov, static_cast<unsigned>(n));
  if (written == UV_EAGAIN || written == UV_ENOSYS) {
    return 0;
  }
  if (written < 0) {
    return written;
  }
  size_t left = static_cast<size_t>(written);
  size_t done = 0;
  while (done < chunks.size() && left >= chunks[done].size()) {
    left -= chunks[done].size();
    ++done;
  }
  if (done < chunks.size() && left > 0) {
    chunks[done].consume(left);
  }
  chunks.erase(chunks.begin(), chunks.begin() + static_cast<std::ptrdiff_t>(done));
  return 0;
}

}  // namespace edge::net
