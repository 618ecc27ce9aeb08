#include "proxy/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include "proxy/downstream_conn.h"
#include "proxy/log.h"
#include "proxy/worker.h"

namespace edge {

Listener* Listener::open(Worker& worker, int fd, size_t index) {
  auto* listener = new Listener(worker, index);
  uv_tcp_init(worker.loop(), &listener->tcp_);
  listener->tcp_.data = listener;
  int rc = uv_tcp_open(&listener->tcp_, fd);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp_), 1024, &onConnection);
  }
  if (rc != 0) {
    EDGE_LOG_ERROR("worker %u: cannot listen: %s", worker.id(), uv_strerror(rc));
    listener->close();
    return nullptr;
  }
  return listener;
}

void Listener::close() {
  auto* handle = reinterpret_cast<uv_handle_t*>(&tcp_);
  if (!uv_is_closing(handle)) {
    uv_close(handle, [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
  }
}

void Listener::sweepAndClose() {
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) == 0) {
    for (;;) {
      const int conn = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (conn < 0) {
        break;  // EAGAIN: the queue is empty (or the socket failed; nothing left to take)
      }
      DownstreamConn::adopt(worker_, conn, index_);
    }
  }
  close();
}

void Listener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status < 0) {
    EDGE_LOG_WARN("worker %u: accept failed: %s", self->worker_.id(), uv_strerror(status));
    return;
  }
  DownstreamConn::accept(self->worker_, server, self->index_);
}

}  // namespace edge
