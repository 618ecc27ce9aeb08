// One exchange with a client: a request, how it is answered (from the cache, by following
// another request's fetch, or straight from the upstream) and the response back. Owned by the
// DownstreamConn; destroyed through Worker::deferDelete so no callback ever runs on a dead
// stream. Steps: route -> request filters -> (hit | follow a fetch | pass through) -> response
// filters -> write. The features (compression, conditionals, fields) are filters of the chain
// (filters/); stream.cc holds routing, pass-through and the writer, stream_cache.cc the cache.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "filters/chain/chain.h"
#include "filters/chain/request_context.h"
#include "filters/chain/services.h"
#include "lib/cache/entry.h"
#include "lib/cache/inflight.h"
#include "lib/cache/policy.h"
#include "lib/http/framing.h"
#include "lib/http/request_parser.h"
#include "proxy/batch_run.h"
#include "proxy/cache_fetch.h"
#include "proxy/upstream/exchange.h"
#include "proxy/worker.h"

namespace edge {

class ClientSide;
class Timer;

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
  bool responseStarted() const { return source_started_; }

 private:
  using Outcome = filters::CacheOutcome;

  // ---- stream.cc: routing, the filter chain, the upstream request, pass-through ----
  bool resolveTarget();
  bool route();
  bool isBatchRequest() const;
  void buildUpstreamRequest();
  void makeChain(const config::Route* route);
  void onRequestFiltersDone() override;
  void passThrough(Outcome outcome, std::string detail);
  void onExchangeHead(http::ResponseHead&& head) override;
  void onExchangeBody(const char* data, size_t len) override;
  void onExchangeEnd() override;
  void onExchangeReadBatchDone() override;
  void onExchangeWritable() override;
  void onExchangeFailed(int status, const std::string& reason, bool after_head) override;
  void invalidateAfterUnsafeMethod(const http::ResponseHead& head);
  void replyLocally(int status, const std::string& reason);
  // The upstream or the fetch failed after the head: a clean error if nothing went out yet.
  bool replaceHeldResponse(int status, const std::string& reason);

  // ---- stream_writer.cc: the end of the chain, one head, then body pieces, then the end ----
  void writeHead(filters::ResponseHead& head, bool end) override;
  void writeBody(filters::BodyPiece& piece) override;
  void resetStream(filters::ErrorKind kind) override;
  void localReply(int status, std::string_view reason, bool close,
                  std::string_view extra_header_lines) override;
  void sendContinue() override;
  void post(std::function<void()> fn) override;
  uint64_t nowMs() const override;
  std::string cacheHeaderLines() const;
  void beginResponse(int status, std::string_view reason, std::string_view header_lines,
                     std::optional<uint64_t> content_length);
  void sendBodyPiece(cache::Body chunk);
  void endResponse();

  // ---- stream.cc: the request context for the log phase ----
  void noteExchange();
  void noteLocalReply(int status, std::string_view reason);
  void markDone();
  void closeContext();


  // ---- stream_cache.cc ----
  void lookupCache();
  void onLookupDone(cache::EntryPtr entry);
  bool answerFromEntry(const cache::EntryPtr& entry, const cache::Evaluation& evaluation);
  void serveEntry(const cache::EntryPtr& entry, Outcome outcome, int64_t age_ms);
  void joinFetch(const cache::EntryPtr& stale);
  void startFetch(const cache::InFlightPtr& flight, const cache::EntryPtr& stale, bool lead);
  void refreshInBackground(const cache::EntryPtr& stale);
  void followFlight(const cache::InFlightPtr& flight);
  void onFlightUpdate();
  void onFlightHead(const cache::FlightHead& head);
  void sendFlightChunks(std::vector<cache::Body>& chunks, bool end);
  bool mayShare(const cache::FlightHead& head) const;
  bool purgedWhileFetched(const std::vector<std::string>& tags, uint64_t generation) const;
  void stopFollowing();
  void adoptExchange(std::unique_ptr<upstream::UpstreamExchange> exchange,
                     http::ResponseHead&& head, const char* reason) override;
  bool varyMatches(const cache::CachedEntry& entry) const;
  upstream::UpstreamRequest fetchRequest(const cache::EntryPtr& stale) const;

  ClientSide* down_;
  Worker& worker_;
  RuntimePtr runtime_;  // the config snapshot this request started with
  http::RequestHead req_;
  const config::Route* route_ = nullptr;
  std::string host_;
  http::Headers upstream_headers_;
  http::Framing request_framing_;
  bool request_complete_ = false;

  // What this request is and what happened to it; ctx_.target is the normalised target.
  filters::RequestContext ctx_;
  WorkerBatchRunner batch_runner_;
  filters::FilterServices services_;
  std::unique_ptr<filters::FilterChain> chain_;

  std::unique_ptr<upstream::UpstreamExchange> exchange_;

  // Cache state.
  cache::RequestPolicy policy_;
  std::string key_;
  cache::InFlightPtr flight_;
  cache::InFlight::SubscriptionPtr subscription_;
  std::shared_ptr<AdopterLink> link_;  // identity for posted flight notifications and adoption
  Timer* follow_timer_ = nullptr;
  bool leading_ = false;
  bool revalidating_ = false;


  // Response state.
  bool source_started_ = false;  // a head went into the chain
  bool response_started_ = false;  // a head went to the client
  bool response_chunked_ = false;
  bool response_must_close_ = false;
  bool body_allowed_ = false;  // false for HEAD, 1xx, 204 and 304
  bool response_complete_ = false;  // the response's end went to the client
  bool client_gone_ = false;  // the client left before the response was over
  bool done_ = false;
};

}  // namespace edge
