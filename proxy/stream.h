// One exchange with a client: a request, how it is answered (from the cache, by following
// another request's fetch, or straight from the upstream) and the response back. Owned by the
// DownstreamConn; destroyed through Worker::deferDelete so no callback ever runs on a dead
// stream. Steps: route -> classify -> (hit | follow a fetch | pass through) -> respond.
// stream.cc holds routing, pass-through and the response writer; stream_cache.cc the cache.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "filters/compress/accept_encoding.h"
#include "lib/codec/encoder.h"
#include "lib/json/field_selection.h"
#include "lib/cache/entry.h"
#include "lib/cache/inflight.h"
#include "lib/cache/policy.h"
#include "proxy/cache_fetch.h"
#include "lib/http/framing.h"
#include "lib/http/request_parser.h"
#include "proxy/upstream/exchange.h"
#include "proxy/worker.h"

namespace edge {

class BatchRun;
class ClientSide;
class Timer;

class Stream : public Deferred, private upstream::ExchangeSink, private ExchangeAdopter {
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

  bool responseStarted() const { return response_started_; }

 private:
  // What the cache did, for X-Cache and Cache-Status.
  enum class Outcome { None, Hit, Miss, Stale, Revalidated, Coalesced, Bypass };

  // ---- stream.cc: routing, the upstream request, pass-through ----
  bool resolveTarget();
  bool route();
  void buildUpstreamRequest();
  void passThrough(Outcome outcome, std::string detail);
  void onExchangeHead(http::ResponseHead&& head) override;
  void onExchangeBody(const char* data, size_t len) override;
  void onExchangeEnd() override;
  void onExchangeReadBatchDone() override;
  void onExchangeWritable() override;
  void onExchangeFailed(int status, const std::string& reason, bool after_head) override;
  void invalidateAfterUnsafeMethod(const http::ResponseHead& head);
  void replyLocally(int status, const std::string& reason);

  // Response writer (stream.cc): one head, then body pieces, then the end.
  std::string cacheHeaderLines() const;
  void beginResponse(int status, std::string_view reason, std::string_view header_lines,
                     std::optional<uint64_t> content_length);
  void beginResponse(int status, std::string_view reason, const http::Headers& headers,
                     std::optional<uint64_t> content_length);
  void sendBodyPiece(cache::Body chunk);
  void sendBodyBytes(const char* data, size_t len);
  void endResponse();
  void sendFramed(std::string&& bytes);

  // ---- stream_encoding.cc: on-the-fly compression of streamed responses ----
  bool startGzipDecoding(const http::Headers& headers, std::optional<uint64_t>& content_length,
                         http::Headers& decoded_headers);
  bool startStreamingEncoding(int status, const http::Headers& headers,
                              std::optional<uint64_t>& content_length,
                              http::Headers& encoded_headers);
  void sendEncoded(std::string_view data);
  void flushEncoder();
  void finishEncoder();
  void failEncoding();

  // ---- stream_buffered.cc: responses held back until complete (generated ETags, fields) ----
  struct Buffered {
    int status = 0;
    std::string reason;
    http::Headers headers;
    std::optional<uint64_t> content_length;
    std::string body;
    uint64_t limit = 0;
  };
  bool startBuffering(int status, std::string_view reason, const http::Headers& headers,
                      std::optional<uint64_t> content_length);
  void bufferBody(const char* data, size_t len);
  void releaseBuffered();
  void finishBuffered();
  bool failBuffered(int status, const std::string& reason);
  void sendComplete(int status, std::string_view reason, http::Headers headers, std::string body);

  // ---- stream_batch.cc: batch requests ----
  bool isBatchRequest() const;
  void startBatch();
  void onBatchBody(const char* data, size_t len);
  void runBatch();
  void replyJson(int status, std::string_view message);

  // ---- stream_fields.cc: sparse fieldsets ----
  bool readFieldSelection();
  bool projectable(const http::Headers& headers) const;
  cache::EntryPtr projectionOf(const cache::EntryPtr& entry);
  void projectHeld(http::Headers& headers, std::string& body);
  void countInvalidJson();

  // ---- stream_cache.cc ----
  void lookupCache();
  bool answerFromEntry(const cache::EntryPtr& entry, const cache::Evaluation& evaluation);
  void serveEntry(const cache::EntryPtr& entry, Outcome outcome, int64_t age_ms);
  bool clientHasCurrentCopy(const http::Headers& response_headers, filters::Coding coding) const;
  void answerNotModified(const http::Headers& response_headers, filters::Coding coding);
  bool compressible(const cache::CachedEntry& entry) const;
  bool wantsBrotliLater(const cache::CachedEntry& entry) const;
  filters::Coding chooseEncoding(const cache::CachedEntry& entry) const;
  std::shared_ptr<const cache::CachedEntry::Encoded> encodedForm(const cache::EntryPtr& entry,
                                                                 filters::Coding coding);
  void joinFetch(const cache::EntryPtr& stale);
  void startFetch(const cache::InFlightPtr& flight, const cache::EntryPtr& stale, bool lead);
  void refreshInBackground(const cache::EntryPtr& stale);
  void followFlight(const cache::InFlightPtr& flight);
  void onFlightUpdate();
  void onFlightHead(const cache::FlightHead& head);
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
  std::string upstream_target_;
  http::Headers upstream_headers_;
  http::Framing request_framing_;
  bool request_is_head_ = false;
  bool request_complete_ = false;

  std::unique_ptr<upstream::UpstreamExchange> exchange_;

  // Cache state.
  cache::RequestPolicy policy_;
  std::string key_;
  Outcome outcome_ = Outcome::None;
  std::string cache_detail_;   // extra Cache-Status parameters
  int64_t entry_age_ms_ = -1;  // Age to send, when answering from an entry
  int64_t entry_ttl_ms_ = 0;
  cache::InFlightPtr flight_;
  cache::InFlight::SubscriptionPtr subscription_;
  std::shared_ptr<AdopterLink> link_;  // identity for posted flight notifications and adoption
  Timer* follow_timer_ = nullptr;
  bool leading_ = false;
  bool revalidating_ = false;

  filters::AcceptEncoding accept_;            // the client's, parsed once
  std::optional<std::string> if_none_match_;  // the client's conditionals (GET and HEAD only)
  std::optional<std::string> if_modified_since_;
  filters::codec::TransformerPtr encoder_;     // compressing this streamed response, or null

  // The client's field selection (?fields=...), or null.
  std::shared_ptr<const filters::json::FieldSelection> fields_;

  std::unique_ptr<BatchRun> batch_;  // running this batch request's items
  std::string batch_body_;
  bool batch_mode_ = false;

  std::unique_ptr<Buffered> buffered_;  // holding the response back (stream_buffered.cc)
  bool buffering_considered_ = false;

  // Response state.
  bool response_started_ = false;
  bool response_chunked_ = false;
  bool response_must_close_ = false;
  bool body_allowed_ = false;  // false for HEAD, 1xx, 204 and 304
  bool done_ = false;
};

}  // namespace edge
