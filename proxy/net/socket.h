// The one socket interface under client, upstream and admin connections: reading, writing
// with try-write first and backpressure, graceful shutdown and close. TcpSocket implements it
// over a uv_tcp_t; a TLS socket (OpenSSL over memory BIOs, wrapping a TcpSocket) implements
// the same calls, so a connection does not know which one it holds.
//
// Ownership: a socket lives on the heap and frees itself in its close callback, right after
// telling its handler onSocketClosed(). close() is the only way it dies. After close() the
// handler hears nothing but that one onSocketClosed(): no data, no write results, no
// connect or shutdown results. The handler must outlive the socket's close callback (owners
// usually delete themselves in onSocketClosed).
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <memory>
#include <string>

namespace edge::net {

// What a socket tells its owner. Calls marked "inline" may come before the call that caused
// them returns.
class SocketHandler {
 public:
  // connect() finished: 0, or a libuv error (the socket stays open until closed).
  virtual void onSocketConnected(int /*status*/) {}
  // Bytes read; valid only during the call.
  virtual void onSocketData(const char* data, size_t len) = 0;
  // The peer ended its side (UV_EOF) or reading failed; reading has stopped.
  virtual void onSocketReadEnd(int status) = 0;
  // After congested() returned true, the queue fell below the low mark (once per wait). May
  // come inline from flush().
  virtual void onSocketWritable() {}
  // A queued write went out: the peer is taking bytes.
  virtual void onSocketWriteProgress() {}
  // A write failed (may come inline from flush()). Reported once; later writes are dropped.
  // The socket stays open until closed.
  virtual void onSocketWriteError(int status) = 0;
  // shutdown() finished: everything queued was sent and the write side is closed (0), or not.
  virtual void onSocketShutdown(int /*status*/) {}
  // The last call, exactly once, from the close callback.
  virtual void onSocketClosed() = 0;

  virtual ~SocketHandler() = default;
};

class Socket {
 public:
  // Setup. Each returns 0 or a libuv error.
  virtual int accept(uv_stream_t* server) = 0;
  // Takes a connection accepted outside libuv (a listener's last sweep before it closes).
  virtual int adopt(int fd) = 0;
  // Starts connecting; the handler hears onSocketConnected (never inline).
  virtual int connect(const sockaddr* address) = 0;
  virtual int setNoDelay(bool on) = 0;
  virtual int peerName(sockaddr_storage& out) const = 0;

  // Reading: bytes go to onSocketData until stopReading(), the end of input or close().
  virtual void startReading() = 0;
  virtual void stopReading() = 0;
  virtual bool reading() const = 0;

  // Writing. Writes are queued in order and sent by flush(): first with a try-write of the
  // gathered buffers, then a queued write for what the kernel did not take. Empty writes are
  // ignored.
  virtual void write(std::string&& bytes) = 0;
  // A slice of a shared immutable buffer, sent without copying; the socket holds a reference
  // until the bytes are written.
  virtual void writeShared(std::shared_ptr<const std::string> buffer, size_t offset,
                           size_t length) = 0;
  virtual void flush() = 0;
  // Bytes written but not yet taken by the kernel (unflushed plus queued).
  virtual size_t queuedBytes() const = 0;
  // True above the high water mark; the handler then hears onSocketWritable() once the queue
  // falls below the low mark.
  virtual bool congested() = 0;
  // The writer no longer waits: no onSocketWritable() for the last congested().
  virtual void cancelWritable() = 0;

  // Flushes, then closes the write side once everything queued is sent; the handler hears
  // onSocketShutdown (never inline). Returns 0 or a libuv error (then nothing started).
  virtual int shutdown() = 0;
  // Idempotent. Pending writes are dropped; the handler hears onSocketClosed() later.
  virtual void close() = 0;
  virtual bool closed() const = 0;

 protected:
  virtual ~Socket() = default;
};

}  // namespace edge::net
