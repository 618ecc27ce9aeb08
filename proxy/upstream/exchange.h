// One request/response with an upstream, from choosing a server to the end of the response:
// pooled or fresh connection, request head and streamed body, the failover and retry rules,
// and the mapping of failures to 502/504 with a reason. Its sink is whoever wants the
// response: a client stream (pass-through) or a cache fill. Worker-owned; never outlives the
// worker. Destroying it abandons the connection.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "filters/chain/request_context.h"
#include "lib/http/framing.h"
#include "lib/http/headers.h"
#include "lib/http/response_parser.h"
#include "proxy/runtime.h"
#include "proxy/upstream/pool.h"
#include "proxy/upstream/upstream_conn.h"

namespace edge {
class Worker;
}

namespace edge::upstream {

struct UpstreamRequest {
  std::string method;
  std::string target;        // origin-form
  http::Headers headers;     // final: hop-by-hop stripped, forwarding headers added
  http::Framing framing;     // of the request body
  bool expect_no_body = false;  // HEAD: the response has no body whatever it says
  bool upgrade = false;         // offers a protocol upgrade: a 101 is a tunnel, not an error
};

class ExchangeSink {
 public:
  virtual ~ExchangeSink() = default;
  virtual void onExchangeHead(http::ResponseHead&& head) = 0;
  virtual void onExchangeBody(const char* data, size_t len) = 0;
  // The response is complete; the exchange is finished and may be destroyed.
  virtual void onExchangeEnd() = 0;
  virtual void onExchangeReadBatchDone() {}
  // Request body bytes drained below the low mark: the sink may read more from its client.
  virtual void onExchangeWritable() {}
  // The exchange failed. Before the head: `status` (502 or 504) and a reason for the client.
  // After the head: the response broke off and must not look complete.
  virtual void onExchangeFailed(int status, const std::string& reason, bool after_head) = 0;
};

// What an exchange did, for its request's context: the server it went to, when a connection
// took the request, when the response head came, and why it failed.
struct ExchangeRecord {
  const config::HostPort* server = nullptr;  // the last one picked (the config outlives it)
  uint64_t connected_ms = 0;                 // worker clock; 0 = not yet
  uint64_t first_byte_ms = 0;
  filters::ErrorKind error = filters::ErrorKind::None;
};

// The error kind of an upstream failure, before or after the response head.
filters::ErrorKind errorKindOf(UpstreamFailure::Kind kind, bool response_started);
// The status and the client's reason for a failure before the head; `name` is upstreamName().
int failureStatus(UpstreamFailure::Kind kind);
std::string failureReason(std::string_view name, UpstreamFailure::Kind kind,
                          std::string_view detail);

class UpstreamExchange : private UpstreamHandler {
 public:
  // `runtime` is the config snapshot the request started with: the upstream index and the
  // server addresses it names are read from it, never from the worker's current one.
  UpstreamExchange(Worker& worker, RuntimePtr runtime, size_t upstream,
                   UpstreamRequest&& request, ExchangeSink& sink);
  ~UpstreamExchange() override;
  UpstreamExchange(const UpstreamExchange&) = delete;
  UpstreamExchange& operator=(const UpstreamExchange&) = delete;

  // May call the sink back before it returns (a connect that fails at once).
  void start();
  // The request body, framed by the exchange; buffered until a connection takes it.
  void sendBody(const char* data, size_t len);
  void endBody();
  // True while request bytes pile up; the sink hears onExchangeWritable when they drain.
  bool congested() const;
  void pauseReading();
  void resumeReading();
  void setSink(ExchangeSink& sink) { sink_ = &sink; }
  // The sink is going away: drop the connection now and never call the sink again. Safe
  // from inside a sink callback (unlike destroying the exchange there).
  void cancel();

  // From the sink's onExchangeHead for a 101: the connection leaves the exchange (which is then
  // finished) to become a tunnel.
  UpstreamConn& takeTunnelConnection();

  bool responseStarted() const { return response_started_; }
  std::string upstreamName() const;
  const ExchangeRecord& record() const { return record_; }

 private:
  void acquireConnection();
  void connectFresh();
  void useConnection(UpstreamConn* conn);
  void fail(int status, const std::string& reason, filters::ErrorKind kind);
  // The upstream's metrics slot in this exchange's snapshot.
  metrics::Slot slot() const;

  // UpstreamHandler
  void onUpstreamReady() override;
  void onUpstreamHead(http::ResponseHead&& head) override;
  void onUpstreamBody(const char* data, size_t len) override;
  void onUpstreamEnd() override;
  void onUpstreamReadBatchDone() override;
  void onUpstreamWritable() override;
  void onUpstreamFailure(const UpstreamFailure& failure) override;

  Worker& worker_;
  RuntimePtr runtime_;
  const size_t upstream_;
  UpstreamPoolPtr pool_;  // this snapshot's pool for the upstream (see pool.h)
  UpstreamRequest request_;
  ExchangeSink* sink_;
  size_t server_ = 0;
  sockaddr_storage address_{};  // which of the server's addresses (a name may have several)
  std::vector<bool> tried_servers_;
  UpstreamConn* conn_ = nullptr;
  std::string pending_body_;  // framed request bytes waiting for a connection
  bool head_sent_ = false;
  bool body_complete_ = false;
  bool body_sent_ = false;    // some body bytes reached a connection (no failover after that)
  bool retried_ = false;
  bool response_started_ = false;
  bool done_ = false;
  ExchangeRecord record_;
};

}  // namespace edge::upstream
