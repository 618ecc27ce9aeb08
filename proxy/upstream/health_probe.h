// Active health checks of one upstream address on the main loop: every `interval`, an
// HTTP/1.1 GET of the check path over the upstream's transport (plain or TLS), bounded by
// `timeout`; the answer's status decides. The probe owns its timer and its check connection;
// stop() cancels both and the probe frees itself once their close callbacks ran.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "proxy/tls/client_context.h"
#include "proxy/upstream/address_book.h"
#include "proxy/upstream/health_state.h"

namespace edge::upstream {

class CheckConn;

// What a probe checks, shared by the probes of one upstream.
struct ProbeSpec {
  config::HealthCheckConfig check;
  config::HostPort server;  // as configured: TLS server name and the default Host
  std::string host;         // the Host header
  std::shared_ptr<const tls::ClientContext> tls;  // null: plain TCP
};

class HealthProbe {
 public:
  // Called on the main loop when the target turns healthy or unhealthy.
  using OnChange = std::function<void(const HealthProbe&)>;

  // Starts checking at once; the first result comes after one check.
  static HealthProbe* start(uv_loop_t* loop, std::shared_ptr<const ProbeSpec> spec,
                            const Target& target, OnChange on_change);
  // Cancels the check in progress and the schedule; no callbacks after this.
  void stop();

  const sockaddr_storage& address() const { return address_; }
  const HealthState& state() const { return state_; }
  uint64_t checks() const { return checks_; }
  int lastStatus() const { return last_status_; }        // 0: no response head
  const std::string& lastError() const { return last_error_; }  // empty: the last check passed

  // From the check connection: its one result.
  void onCheckDone(bool passed, int status, std::string error);

 private:
  HealthProbe(uv_loop_t* loop, std::shared_ptr<const ProbeSpec> spec, const Target& target,
              OnChange on_change);
  ~HealthProbe() = default;

  void beginCheck();
  void onTimer();
  void schedule(std::chrono::milliseconds delay);

  uv_timer_t timer_;
  std::shared_ptr<const ProbeSpec> spec_;
  sockaddr_storage address_;
  std::shared_ptr<TargetHealth> health_;
  OnChange on_change_;
  HealthState state_;
  CheckConn* conn_ = nullptr;  // the check in progress
  uint64_t checks_ = 0;
  int last_status_ = 0;
  std::string last_error_;
  bool stopped_ = false;
};

}  // namespace edge::upstream
