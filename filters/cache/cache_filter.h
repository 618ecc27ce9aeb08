// The cache as one filter, the last in request order, so what it answers runs back through
// every other filter (fields picks a memoised projection, compression a stored form, the
// conditional filter the final tag). It looks the request up, answers fresh and
// stale-while-revalidate hits, leads or follows the one shared fetch per key (coalescing),
// serves stale-if-error, and lets the request go upstream on its own when sharing is not
// possible: a bypass, hit-for-miss, a lock timeout, a Vary or credential mismatch, a purge
// while fetching, or an unshareable response handed back to the leader. After an unsafe
// method it invalidates what the response names (RFC 9111 4.4).
//
// cache_filter.cc: lookup, answers from entries, starting fetches, invalidation;
// flight_follow.cc: following a shared fetch as it streams.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/route_rules.h"
#include "filters/chain/filter.h"
#include "filters/chain/services.h"
#include "lib/cache/entry.h"
#include "lib/cache/inflight.h"
#include "lib/cache/policy.h"

namespace edge::filters {

// Built once per config snapshot.
struct CacheFilterConfig {
  const config::Config* config = nullptr;
  const config::RouteTable* routes = nullptr;  // for the URLs an unsafe method invalidates
};

class CacheFilter : public Filter, private FetchLeader {
 public:
  CacheFilter(const CacheFilterConfig& config, const FilterServices& services);
  ~CacheFilter() override;

  FilterStatus onRequestHeaders(http::RequestHead& head) override;
  FilterStatus onResponseHeaders(ResponseHead& head, bool& end) override;

 private:
  using Outcome = CacheOutcome;
  // Where the request is, as far as the cache is concerned.
  enum class Step {
    Idle,       // not looked at yet
    LookingUp,  // waiting for the store
    Following,  // waiting for (or streaming) a shared fetch
    Upstream,   // the request goes upstream on its own (the Stream's pass-through)
    Answered,   // this filter answered, or the response is over
  };
  // Identity for callbacks that may run after the filter is gone (store, flight, fetch).
  struct Link {
    CacheFilter* filter;
  };

  // ---- cache_filter.cc ----
  std::shared_ptr<Link> link();
  void onLookupDone(cache::EntryPtr entry);
  bool answerFromEntry(const cache::EntryPtr& entry, const cache::Evaluation& evaluation);
  void serveEntry(const cache::EntryPtr& entry, Outcome outcome, int64_t age_ms);
  void goUpstream(Outcome outcome, std::string detail);
  void onHandedOver(const char* reason) override;
  void joinFetch(const cache::EntryPtr& stale);
  void startFetch(const cache::InFlightPtr& flight, const cache::EntryPtr& stale, bool lead);
  void refreshInBackground(const cache::EntryPtr& stale);
  bool varyMatches(const std::vector<std::pair<std::string, std::string>>& vary_values) const;
  bool mayServe(const std::vector<std::pair<std::string, std::string>>& vary_values,
                const http::Headers& response_headers) const;
  bool purgedWhileFetched(const std::vector<std::string>& tags, uint64_t generation) const;

  // ---- flight_follow.cc ----
  void followFlight(const cache::InFlightPtr& flight);
  void startLockTimer();
  void stopFollowing();
  void onFlightUpdate();
  void onFlightStreaming(cache::InFlight::View& view);
  void onFlightComplete(cache::InFlight::View& view);
  void onFlightFailed(const cache::InFlight::View& view);
  void sendFlightHead(const cache::FlightHead& head);
  void sendFlightChunks(std::vector<cache::Body>& chunks, bool end);

  const CacheFilterConfig& config_;
  cache::SharedCache& cache_;
  WorkerMailbox& mailbox_;
  RequestContext* ctx_ = nullptr;
  std::string method_;
  Step step_ = Step::Idle;
  bool in_request_headers_ = false;  // a decision made inline returns Continue, not resume

  cache::RequestPolicy policy_;
  std::string key_;
  std::shared_ptr<Link> link_;
  cache::InFlightPtr flight_;
  cache::InFlight::SubscriptionPtr subscription_;
  std::unique_ptr<Cancellable> lock_timer_;  // a follower's wait for the leader's head
  bool leading_ = false;
  bool revalidating_ = false;
  bool streaming_ = false;  // the flight's head went into the chain
};

}  // namespace edge::filters
