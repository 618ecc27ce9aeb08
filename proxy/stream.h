// One exchange: a client request, its trip upstream and the response back. Owned by the
// DownstreamConn; destroyed through Worker::deferDelete so no callback ever runs on a dead
// stream. Steps: route -> connect (pool or new) -> send request -> relay response -> done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/http/framing.h"
#include "proxy/http/request_parser.h"
#include "proxy/upstream/upstream_conn.h"
#include "proxy/worker.h"

namespace edge {

class DownstreamConn;

class Stream : public Deferred, private upstream::UpstreamHandler {
 public:
  Stream(DownstreamConn& down, Worker& worker, http::RequestHead&& head);
  ~Stream() override;

  // Request side, from the client connection.
  void start();
  void onRequestBody(const char* data, size_t len);
  void onRequestEnd();
  // The client can take more bytes again.
  void onDownstreamWritable();
  // The client connection is closing: drop everything, call nothing back.
  void onDownstreamGone();

  bool responseStarted() const { return response_started_; }

 private:
  enum class Step { Routing, Connecting, Sending, Receiving, Done };

  // UpstreamHandler
  void onUpstreamReady() override;
  void onUpstreamHead(http::ResponseHead&& head) override;
  void onUpstreamBody(const char* data, size_t len) override;
  void onUpstreamEnd() override;
  void onUpstreamReadBatchDone() override;
  void onUpstreamWritable() override;
  void onUpstreamFailure(const upstream::UpstreamFailure& failure) override;

  void buildUpstreamRequest();
  void acquireConnection();
  void connectFresh();
  void useConnection(upstream::UpstreamConn* conn);
  void replyLocally(int status, const std::string& reason);
  std::string upstreamName() const;

  DownstreamConn* down_;
  Worker& worker_;
  http::RequestHead req_;
  Step step_ = Step::Routing;
  size_t upstream_ = 0;
  size_t server_ = 0;
  std::vector<bool> tried_servers_;
  upstream::UpstreamConn* up_ = nullptr;
  bool retried_ = false;
  std::string upstream_target_;
  http::Headers upstream_headers_;
  http::Framing request_framing_;
  std::string pending_body_;       // request bytes waiting for the connection
  bool head_sent_upstream_ = false;
  bool request_complete_ = false;  // the client's whole request is read
  bool body_sent_upstream_ = false;  // some body bytes reached a connection
  bool response_started_ = false;
  bool response_chunked_ = false;
  bool response_must_close_ = false;
  bool request_is_head_ = false;
};

}  // namespace edge
