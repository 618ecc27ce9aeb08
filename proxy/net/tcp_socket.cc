#include "proxy/net/tcp_socket.h"

#include "proxy/net/try_write.h"

namespace edge::net {

struct TcpSocket::WriteReq {
  uv_write_t req{};
  std::vector<OutChunk> chunks;
};

TcpSocket* TcpSocket::create(uv_loop_t* loop, SocketHandler& handler,
                             std::span<char> read_buffer, WaterMarks marks) {
  return new TcpSocket(loop, handler, read_buffer, marks);
}

TcpSocket::TcpSocket(uv_loop_t* loop, SocketHandler& handler, std::span<char> read_buffer,
                     WaterMarks marks)
    : handler_(handler), read_buffer_(read_buffer), backpressure_(marks) {
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
  connect_req_.data = this;
  shutdown_req_.data = this;
}

TcpSocket::~TcpSocket() = default;

// ---- setup ---------------------------------------------------------------------------------

int TcpSocket::accept(uv_stream_t* server) { return uv_accept(server, stream()); }

int TcpSocket::adopt(int fd) { return uv_tcp_open(&tcp_, fd); }

int TcpSocket::connect(const sockaddr* address) {
  return uv_tcp_connect(&connect_req_, &tcp_, address, [](uv_connect_t* req, int status) {
    auto* self = static_cast<TcpSocket*>(req->data);
    if (!self->closed_) {
      self->handler_.onSocketConnected(status);
    }
  });
}

int TcpSocket::setNoDelay(bool on) { return uv_tcp_nodelay(&tcp_, on ? 1 : 0); }

int TcpSocket::peerName(sockaddr_storage& out) const {
  int len = sizeof out;
  return uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&out), &len);
}

// ---- reading -------------------------------------------------------------------------------

void TcpSocket::startReading() {
  if (reading_ || closed_) {
    return;
  }
  int rc = uv_read_start(
      stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<TcpSocket*>(h->data);
        buf->base = self->read_buffer_.data();
        buf->len = self->read_buffer_.size();
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
        static_cast<TcpSocket*>(s->data)->onRead(nread);
      });
  reading_ = rc == 0;
}

void TcpSocket::stopReading() {
  if (reading_) {
    reading_ = false;
    uv_read_stop(stream());
  }
}

void TcpSocket::onRead(ssize_t nread) {
  if (closed_ || nread == 0) {
    return;  // 0 is not the end of input: libuv just found nothing to read
  }
  if (nread < 0) {
    stopReading();
    handler_.onSocketReadEnd(static_cast<int>(nread));
    return;
  }
  handler_.onSocketData(read_buffer_.data(), static_cast<size_t>(nread));
}

// ---- writing -------------------------------------------------------------------------------

void TcpSocket::write(std::string&& bytes) {
  if (closed_ || write_error_ != 0 || bytes.empty()) {
    return;
  }
  unflushed_bytes_ += bytes.size();
  unflushed_.emplace_back(std::move(bytes));
}

void TcpSocket::writeShared(std::shared_ptr<const std::string> buffer, size_t offset,
                            size_t length) {
  if (closed_ || write_error_ != 0 || length == 0) {
    return;
  }
  unflushed_bytes_ += length;
  unflushed_.emplace_back(std::move(buffer), offset, length);
}

size_t TcpSocket::queuedBytes() const {
  return unflushed_bytes_ +
         uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
}

void TcpSocket::flush() {
  if (closed_ || unflushed_.empty()) {
    return;
  }
  int rc = tryWriteFront(stream(), unflushed_);
  if (rc < 0) {
    failWrites(rc);
    return;
  }
  if (unflushed_.empty()) {
    unflushed_bytes_ = 0;
    if (backpressure_.relieved(queuedBytes())) {
      handler_.onSocketWritable();
    }
    return;
  }
  // The request takes the chunks; the unflushed list takes the spare's empty vector.
  WriteReq* req = takeWriteReq();
  req->chunks.swap(unflushed_);
  unflushed_bytes_ = 0;
  submit(req);
}

void TcpSocket::submit(WriteReq* req) {
  // libuv copies the buffer array, so a stack array serves the common case.
  uv_buf_t small[kMaxTryWriteBufs];
  std::vector<uv_buf_t> large;
  uv_buf_t* bufs = small;
  if (req->chunks.size() > kMaxTryWriteBufs) {
    large.resize(req->chunks.size());
    bufs = large.data();
  }
  size_t n = toUvBufs(req->chunks, bufs, req->chunks.size());
  req->req.data = req;
  int rc = uv_write(&req->req, stream(), bufs, static_cast<unsigned>(n),
                    [](uv_write_t* w, int status) {
                      auto* done = static_cast<WriteReq*>(w->data);
                      static_cast<TcpSocket*>(w->handle->data)->onWriteDone(done, status);
                    });
  if (rc != 0) {
    recycle(req);
    failWrites(rc);
  }
}

void TcpSocket::onWriteDone(WriteReq* req, int status) {
  recycle(req);  // releases the shared slices it held
  if (closed_) {
    return;  // cancelled by close(): the handler hears only onSocketClosed
  }
  if (status < 0) {
    failWrites(status);
    return;
  }
  if (backpressure_.relieved(queuedBytes())) {
    handler_.onSocketWritable();
    if (closed_) {
      return;
    }
  }
  handler_.onSocketWriteProgress();
}

void TcpSocket::failWrites(int status) {
  unflushed_.clear();
  unflushed_bytes_ = 0;
  backpressure_.forget();
  if (write_error_ != 0) {
    return;  // reported once
  }
  write_error_ = status;
  handler_.onSocketWriteError(status);
}

TcpSocket::WriteReq* TcpSocket::takeWriteReq() {
  if (spare_) {
    return spare_.release();
  }
  return new WriteReq;
}

void TcpSocket::recycle(WriteReq* req) {
  req->chunks.clear();
  if (spare_) {
    delete req;
  } else {
    spare_.reset(req);
  }
}

// ---- ending --------------------------------------------------------------------------------

int TcpSocket::shutdown() {
  if (closed_) {
    return UV_ENOTCONN;
  }
  flush();
  if (closed_) {
    return UV_ENOTCONN;  // a write error closed us from its callback
  }
  return uv_shutdown(&shutdown_req_, stream(), [](uv_shutdown_t* req, int status) {
    auto* self = static_cast<TcpSocket*>(req->data);
    if (!self->closed_) {
      self->handler_.onSocketShutdown(status);
    }
  });
}

void TcpSocket::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  reading_ = false;
  unflushed_.clear();
  unflushed_bytes_ = 0;
  // Queued write requests are cancelled and call back (ignored) before this callback runs.
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) {
    auto* self = static_cast<TcpSocket*>(h->data);
    self->handler_.onSocketClosed();
    delete self;
  });
}

}  // namespace edge::net
