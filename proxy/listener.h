// A worker's own listening socket (one per listen address, SO_REUSEPORT). Accepted
// connections stay on this worker for life.
#pragma once

#include <uv.h>

#include <cstddef>

namespace edge {

class Worker;

class Listener {
 public:
  // Takes ownership of `fd`, the socket of config listener `index`. Returns null (and logs)
  // if libuv refuses it.
  static Listener* open(Worker& worker, int fd, size_t index);
  // The only way a Listener dies: uv_close, then delete in the close callback.
  void close();
  // Accepts what is already queued on the socket, then closes: with SO_REUSEPORT the kernel
  // resets connections left in a closing socket's queue, and a drain (or a binary upgrade,
  // where another process keeps listening) must not lose them.
  void sweepAndClose();
  // A reload kept this socket; the listener's place in the new snapshot's `listen` list.
  void setIndex(size_t index) { index_ = index; }

 private:
  Listener(Worker& worker, size_t index) : worker_(worker), index_(index) {}
  static void onConnection(uv_stream_t* server, int status);

  Worker& worker_;
  size_t index_;
  uv_tcp_t tcp_{};
};

}  // namespace edge
