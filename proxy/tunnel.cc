#include "proxy/tunnel.h"

#include <string>
#include <utility>

namespace edge {

Tunnel::Tunnel(net::Socket& client, upstream::UpstreamConn& upstream, TunnelOwner& owner,
               ConnectionCounters& counters, std::function<void(uint64_t, uint64_t)> on_close)
    : client_(client),
      upstream_(&upstream),
      owner_(owner),
      counters_(counters),
      on_close_(std::move(on_close)) {
  upstream.becomeTunnel(*this);
  counters_.tunnelOpened();
}

Tunnel::~Tunnel() {
  stop();
  counters_.tunnelClosed();
  if (on_close_) {
    on_close_(from_client_, to_client_);
  }
}

void Tunnel::stop() {
  if (upstream_ != nullptr) {
    std::exchange(upstream_, nullptr)->abandon();
  }
}

// ---- client -> upstream --------------------------------------------------------------------

void Tunnel::fromClient(const char* data, size_t len) {
  if (upstream_ == nullptr || len == 0) {
    return;
  }
  owner_.onTunnelActivity();
  from_client_ += len;
  upstream_->write(std::string(data, len));
  if (upstream_ != nullptr && upstream_->congested() && !client_paused_) {
    client_paused_ = true;
    client_.stopReading();  // resumed by onUpstreamWritable
  }
}

void Tunnel::onUpstreamWritable() {
  if (client_paused_) {
    client_paused_ = false;
    if (!client_ended_) {
      client_.startReading();
    }
  }
}

void Tunnel::clientEnded(int status) {
  if (status != UV_EOF) {
    over(false);
    return;
  }
  client_ended_ = true;
  if (upstream_ended_) {
    over(true);
    return;
  }
  if (upstream_ != nullptr) {
    upstream_->shutdownWrite();  // the client's half-close, carried on
  }
}

// ---- upstream -> client --------------------------------------------------------------------

void Tunnel::onUpstreamBody(const char* data, size_t len) {
  owner_.onTunnelActivity();
  to_client_ += len;
  client_.write(std::string(data, len));
}

void Tunnel::onUpstreamReadBatchDone() {
  client_.flush();
  if (upstream_ != nullptr && !upstream_paused_ && client_.congested()) {
    upstream_paused_ = true;
    upstream_->pauseReading();  // resumed by clientWritable
  }
}

void Tunnel::clientWritable() {
  if (upstream_paused_ && upstream_ != nullptr) {
    upstream_paused_ = false;
    upstream_->resumeReading();
  }
}

void Tunnel::onUpstreamTunnelEnd(int status) {
  if (status != UV_EOF) {
    over(false);
    return;
  }
  upstream_ended_ = true;
  if (client_ended_) {
    over(true);
    return;
  }
  if (client_.shutdown() != 0) {  // the server's half-close, carried on
    over(false);
    return;
  }
  client_write_shut_ = true;
}

void Tunnel::onUpstreamFailure(const upstream::UpstreamFailure& /*failure*/) {
  upstream_ = nullptr;  // the connection is closing and has dropped us
  over(false);
}

void Tunnel::over(bool clean) {
  stop();
  owner_.onTunnelOver(clean, client_write_shut_);
}

}  // namespace edge
