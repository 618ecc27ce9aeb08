// One exchange with a client, driven through explicit steps (Varnish's cnt_* idea):
//   Route -> RequestFilters -> (a filter answers | Upstream) -> Deliver -> Done, then log.
// The features are filters of the chain (filters/): the cache answers hits and shared
// fetches itself, compression, conditionals, fields and batch shape what goes out. The Stream
// only routes, runs the chain, passes the request upstream when the chain lets it go, writes
// what comes out of the chain (stream_writer.cc) and keeps the request context. Owned by the
// DownstreamConn; destroyed through Worker::deferDelete so no callback runs on a dead stream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "filters/chain/chain.h"
#include "filters/chain/request_context.h"
#include "filters/chain/services.h"
#include "lib/http/framing.h"
#include "lib/http/request_parser.h"
#include "proxy/batch_run.h"
#include "proxy/cache_fetch.h"
#include "proxy/response_writer.h"
#include "proxy/upstream/exchange.h"
#include "proxy/worker.h"

namespace edge {

class ClientSide;

class Stream : public Deferred,
               private upstream::ExchangeSink,
               private ExchangeAdopter,
               private filters::ChainOwner {
 public:
  Stream(ClientSide& down, Worker& worker, http::RequestHead&& head);
  ~Stream() override;

  // Request side, from the client connection.
  void start();
  void onRequestBody(const char* data, size_t len);
  void onRequestEnd();
  // The client can take more bytes again.
  void onDownstreamWritable();
  // The client connection is closing: drop everything, call nothing back.
  void onDownstreamGone();

  // A response head has been handed to the filters (it may still be held there).
  bool responseStarted() const { return chain_ && chain_->responseEntered(); }

 private:
  // The metrics slot of the request's route class (kNone when no route matched).
  metrics::Slot classSlot() const;
  enum class Step {
    Route,           // the target resolved, a route (or the batch endpoint) found
    RequestFilters,  // the request runs through the filters; one may answer or wait
    Upstream,        // the chain let the request go: an exchange brings the response
    Deliver,         // a response head went to the client
    Done,            // the response is over (sent, refused, cut off) or its client left
  };

  // ---- stream.cc: the steps ----
  void takeRequestId();
  bool route();
  // `with_filters` false: an Upgrade request, never cached, compressed or cut down.
  void makeChain(const config::Route* route, bool with_filters = true);
  // An allowed Upgrade: the tokens to offer upstream, or a 503 when tunnels are at the limit.
  bool offerUpgrade();
  void switchProtocols(http::ResponseHead&& head);
  void onRequestFiltersDone() override;
  void passThrough();
  void adoptExchange(std::unique_ptr<upstream::UpstreamExchange> exchange,
                     http::ResponseHead&& head, const char* reason) override;
  void noteLeadFetch(const upstream::ExchangeRecord& record) override {
    if (down_ != nullptr) {  // after the client left, the context is closed
      noteRecord(record);
    }
  }
  void onExchangeHead(http::ResponseHead&& head) override;
  void onExchangeBody(const char* data, size_t len) override;
  void onExchangeEnd() override;
  void onExchangeReadBatchDone() override;
  void onExchangeWritable() override;
  void onExchangeFailed(int status, const std::string& reason, bool after_head) override;
  void replyLocally(int status, const std::string& reason);
  bool over() const { return step_ == Step::Done || down_ == nullptr; }

  // ---- stream_writer.cc: the end of the chain and what filters may ask of the Stream ----
  void writeHead(filters::ResponseHead& head, bool end) override;
  void writeBody(filters::BodyPiece& piece) override;
  void endResponse();
  void resetStream(filters::ErrorKind kind) override;
  void localReply(int status, std::string_view reason, bool close,
                  std::string_view extra_header_lines) override;
  void failResponse(int status, std::string_view reason) override;
  void sendContinue() override;
  void post(std::function<void()> fn) override;
  uint64_t nowMs() const override;
  std::unique_ptr<filters::Cancellable> startTimer(uint64_t ms,
                                                   std::function<void()> fn) override;
  void startCacheFetch(filters::CacheFetchRequest&& request,
                       filters::FetchLeader* leader) override;
  bool responseDone() const override { return over(); }

  // ---- stream_context.cc: the request context for the log phase ----
  void noteExchange();
  void noteRecord(const upstream::ExchangeRecord& record);
  void noteLocalReply(int status);
  void markDone();
  void closeContext();

  ClientSide* down_;
  Worker& worker_;
  RuntimePtr runtime_;  // the config snapshot this request started with
  http::RequestHead req_;
  const config::Route* route_ = nullptr;
  http::Headers upstream_headers_;
  http::Framing request_framing_;
  std::string upgrade_;  // the protocols offered upstream; empty: not an Upgrade request
  bool tunnel_reserved_ = false;  // holds a place under limits.max_tunnels
  bool request_complete_ = false;  // the client's request body has been read to its end
  Step step_ = Step::Route;

  // What this request is and what happened to it; ctx_.target is the normalised target.
  filters::RequestContext ctx_;
  WorkerBatchRunner batch_runner_;
  filters::FilterServices services_;
  std::optional<filters::FilterChain> chain_;  // made in place: no allocation of its own
  ResponseWriter writer_;
  bool client_gone_ = false;  // the client left before the response was over

  std::unique_ptr<upstream::UpstreamExchange> exchange_;
  // A cache fetch this request leads: the fetch reaches the Stream through the link, and the
  // Stream tells the filter waiting for it.
  std::shared_ptr<AdopterLink> adopter_link_;
  filters::FetchLeader* fetch_leader_ = nullptr;
  std::unique_ptr<upstream::UpstreamExchange> adopted_exchange_;
  http::ResponseHead adopted_head_;
};

}  // namespace edge
