// Fills the cache for one key: runs the upstream exchange for an InFlight, publishes the head
// and body chunks as they arrive (so every waiting request streams them), stores the entry and
// completes the flight. It lives on its own, independent of the request that started it: the
// leader's client may go away without failing the others. A response that turns out not to
// be shareable is handed, still streaming, to the leading request (if it is still there) and
// everyone else is released to fetch for themselves.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lib/cache/entry.h"
#include "lib/cache/inflight.h"
#include "proxy/runtime.h"
#include "proxy/upstream/exchange.h"
#include "proxy/worker.h"

namespace edge {

// The request that led the fetch, for taking over an unshareable response and for the
// upstream's timings and address in its request context (the fetch runs on its worker).
class ExchangeAdopter {
 public:
  virtual ~ExchangeAdopter() = default;
  virtual void adoptExchange(std::unique_ptr<upstream::UpstreamExchange> exchange,
                             http::ResponseHead&& head, const char* reason) = 0;
  virtual void noteLeadFetch(const upstream::ExchangeRecord& record) = 0;
};

// Held by the leader (shared_ptr); the fetch keeps a weak_ptr and reaches the leader only
// while the leader holds it.
struct AdopterLink {
  ExchangeAdopter* adopter = nullptr;
};

struct CacheFetchParams {
  RuntimePtr runtime;  // keeps route_class alive
  const config::RouteClass* route_class = nullptr;
  size_t upstream = 0;
  upstream::UpstreamRequest request;  // GET, no conditionals of the client's
  std::string target;                 // for tag templates
  cache::InFlightPtr flight;
  cache::EntryPtr stale;              // revalidate this entry, or null
  std::weak_ptr<AdopterLink> leader;
  bool request_credentialed_unscoped = false;
  bool request_no_store = false;
};

class CacheFetch : public Deferred, private upstream::ExchangeSink {
 public:
  // Starts the fetch; it deletes itself when done.
  static void start(Worker& worker, CacheFetchParams&& params);

 private:
  CacheFetch(Worker& worker, CacheFetchParams&& params);

  void onExchangeHead(http::ResponseHead&& head) override;
  void onExchangeBody(const char* data, size_t len) override;
  void onExchangeEnd() override;
  void onExchangeFailed(int status, const std::string& reason, bool after_head) override;

  void onNotModified(const http::ResponseHead& head);
  bool shareErrorWithWaiters(const http::ResponseHead& head) const;
  void handOver(http::ResponseHead&& head, const char* reason);
  void tellLeader();
  cache::EntryPtr buildEntry();
  void finish();

  Worker& worker_;
  CacheFetchParams params_;
  std::unique_ptr<upstream::UpstreamExchange> exchange_;
  int64_t request_time_ms_ = 0;
  uint64_t generation_ = 0;  // the store's purge generation when the request was sent
  int64_t response_time_ms_ = 0;
  int status_ = 0;
  std::string reason_;
  http::Headers headers_;
  std::vector<std::pair<std::string, std::string>> vary_values_;
  std::vector<std::string> tags_;  // from the class's templates and the response head
  std::vector<cache::Body> chunks_;
  uint64_t body_size_ = 0;
  bool do_not_store_ = false;  // too large, or an error: shared with the waiters only
  bool filling_ = false;
  bool finished_ = false;
};

}  // namespace edge
