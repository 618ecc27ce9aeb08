// A worker's own listening socket (one per listen address, SO_REUSEPORT). Accepted
// connections stay on this worker for life.
#pragma once

#include <uv.h>

namespace edge {

class Worker;

class Listener {
 public:
  // Takes ownership of `fd`. Returns null (and logs) if libuv refuses it.
  static Listener* open(Worker& worker, int fd);
  // The only way a Listener dies: uv_close, then delete in the close callback.
  void close();

 private:
  explicit Listener(Worker& worker) : worker_(worker) {}
  static void onConnection(uv_stream_t* server, int status);

  Worker& worker_;
  uv_tcp_t tcp_{};
};

}  // namespace edge
