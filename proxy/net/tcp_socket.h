// A Socket over a uv_tcp_t. One write path for every connection: chunks (owned strings and
// shared slices) gather until flush(), which tries uv_try_write on all of them first and
// hands only the rest to uv_write. A write request owns its chunks until its callback runs;
// libuv runs every write, connect and shutdown callback before the close callback, so the
// socket is still alive for them.
#pragma once

#include <uv.h>

#include <memory>
#include <span>
#include <vector>

#include "proxy/net/backpressure.h"
#include "proxy/net/out_chunk.h"
#include "proxy/net/socket.h"

namespace edge::net {

class TcpSocket final : public Socket {
 public:
  // `read_buffer` receives every read. The handler sees the bytes only during onSocketData,
  // so the sockets of one loop may share one buffer.
  static TcpSocket* create(uv_loop_t* loop, SocketHandler& handler, std::span<char> read_buffer,
                           WaterMarks marks = {});

  int accept(uv_stream_t* server) override;
  int adopt(int fd) override;
  int connect(const sockaddr* address) override;
  int setNoDelay(bool on) override;
  int peerName(sockaddr_storage& out) const override;

  void startReading() override;
  void stopReading() override;
  bool reading() const override { return reading_; }

  void write(std::string&& bytes) override;
  void writeShared(std::shared_ptr<const std::string> buffer, size_t offset,
                   size_t length) override;
  void flush() override;
  size_t queuedBytes() const override;
  bool congested() override { return backpressure_.congested(queuedBytes()); }
  void cancelWritable() override { backpressure_.forget(); }

  int shutdown() override;
  void close() override;
  bool closed() const override { return closed_; }

 private:
  struct WriteReq;

  TcpSocket(uv_loop_t* loop, SocketHandler& handler, std::span<char> read_buffer,
            WaterMarks marks);
  ~TcpSocket() override;

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  void onRead(ssize_t nread);
  void submit(WriteReq* req);
  void onWriteDone(WriteReq* req, int status);
  void failWrites(int status);
  WriteReq* takeWriteReq();
  void recycle(WriteReq* req);

  uv_tcp_t tcp_{};
  uv_connect_t connect_req_{};
  uv_shutdown_t shutdown_req_{};
  SocketHandler& handler_;
  const std::span<char> read_buffer_;
  Backpressure backpressure_;
  std::vector<OutChunk> unflushed_;
  size_t unflushed_bytes_ = 0;
  // One finished write request kept for the next write: its chunk vector keeps its capacity.
  std::unique_ptr<WriteReq> spare_;
  int write_error_ = 0;
  bool reading_ = false;
  bool closed_ = false;
};

}  // namespace edge::net
