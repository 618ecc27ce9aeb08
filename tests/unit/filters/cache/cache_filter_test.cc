// The cache filter in a real FilterChain, without a runtime: a fake Stream (the chain's owner),
// a fake worker mailbox whose closures run only when the test runs them, and the real store
// and coalescer. A fetch the filter starts is played by the test on its flight with the calls
// proxy/cache_fetch.cc makes, in the same order; what reached the writer and what the request
// context says (X-Cache, Cache-Status) is checked after each step.
#include "filters/cache/cache_filter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/route_rules.h"
#include "filters/chain/chain.h"
#include "lib/cache/key.h"
#include "lib/cache/policy.h"
#include "lib/cache/shared_cache.h"
#include "lib/http/via.h"
#include "tests/unit/filters/chain/fake_owner.h"

namespace edge::filters {

// Outcomes by name in failure messages.
static void PrintTo(CacheOutcome outcome, std::ostream* out) {
  static constexpr const char* kNames[] = {"None",        "Hit",       "Miss",  "Stale",
                                           "Revalidated", "Coalesced", "Bypass"};
  *out << kNames[static_cast<int>(outcome)];
}

namespace {

using test_support::bytes;
using test_support::describe;
using test_support::Events;
using test_support::FakeOwner;
using test_support::RecordedFetch;
using test_support::WrittenHead;

using HeaderList = std::initializer_list<std::pair<std::string, std::string>>;
using VaryValues = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kHost = "shop.example";
constexpr int64_t kSecond = 1000;
constexpr uint64_t kLockTimeoutMs = 1500;

// Ages are set half a second away from a whole second, so the ttl in seconds does not depend
// on how long the test takes to get from storing an entry to looking it up.
constexpr int64_t kFreshAge = 10 * kSecond + 500;  // of 60 s: ttl=49
constexpr int64_t kStaleAge = 70 * kSecond + 500;  // of 60 s: ttl=-10

// The worker's mailbox: a flight's notifications wait here until the test runs them.
class FakeMailbox : public WorkerMailbox {
 public:
  void post(std::function<void()> fn) override { queue.push_back(std::move(fn)); }

  // Runs what is queued, including what that queues, in order. Returns how many ran.
  size_t run() { return test_support::runQueued(queue); }

  std::vector<std::function<void()>> queue;
};

// Before the cache filter in the chain: it sees the request go in and the cache's response
// come out, as the filters in front of the cache do.
class ResponseRecorder : public Filter {
 public:
  FilterStatus onRequestHeaders(http::RequestHead& /*head*/) override {
    ++requests_seen;
    return FilterStatus::Continue;
  }
  FilterStatus onResponseHeaders(ResponseHead& head, bool& end) override {
    heads.push_back({head, end});
    return FilterStatus::Continue;
  }
  FilterStatus onResponseBody(BodyPiece& piece) override {
    bodies.push_back(describe(piece));
    return FilterStatus::Continue;
  }

  int requests_seen = 0;
  std::vector<WrittenHead> heads;
  std::vector<std::string> bodies;
};

// One request as the Stream holds it. Never moved: the chain keeps references into it.
struct Request {
  Events events;
  FakeOwner owner{events};
  RequestContext ctx;
  http::Headers upstream_headers;
  http::RequestHead head;
  ResponseRecorder* recorder = nullptr;
  std::unique_ptr<FilterChain> chain;  // last, so it goes first
};

// What a fetch's response head says.
struct HeadSpec {
  int status = 200;
  bool will_store = true;
  std::vector<std::string> tags = {};
  VaryValues vary = {};
  std::optional<uint64_t> content_length = std::nullopt;
};

// Plays one fetch the way proxy/cache_fetch.cc runs it: the same calls on the flight, the
// store and the coalescer, in the same order.
class PlayedFetch {
 public:
  // Made as the request leaves: the store's purge generation is noted now, as
  // CacheFetch's constructor does.
  PlayedFetch(cache::SharedCache& cache, const config::Config& config, const RecordedFetch& fetch)
      : cache_(cache),
        config_(config),
        flight_(fetch.request.flight),
        stale_(fetch.request.stale),
        leader_(fetch.leader),
        request_time_ms_(cache::wallClockMs()),
        generation_(cache.store.generation()) {}

  // onExchangeHead of a shareable response (or an origin error shared with the waiters).
  void head(HeadSpec spec = {}) {
    response_time_ms_ = cache::wallClockMs();
    status_ = spec.status;
    will_store_ = spec.will_store;
    tags_ = spec.tags;
    vary_values_ = spec.vary;
    headers_.add("Content-Type", "text/plain");
    headers_.add("Cache-Control", "max-age=60");
    cache::FlightHead published{status_, reason(), headers_, std::nullopt, vary_values_,
                                will_store_};
    published.headers.appendToList("Via", http::kVia);
    published.generation = generation_;
    published.tags = tags_;
    published.content_length = spec.content_length;
    flight_->publishHead(std::move(published));
  }

  // onExchangeBody.
  void body(std::string text) {
    cache::Body chunk = bytes(std::move(text));
    chunks_.push_back(chunk);
    flight_->publishBody(std::move(chunk));
  }

  // onExchangeEnd: the entry is built, stored unless it may not be, and the flight completes.
  cache::EntryPtr end() {
    auto entry = std::make_shared<cache::CachedEntry>();
    entry->key = flight_->key();
    entry->generation = generation_;
    entry->status = status_;
    entry->reason = reason();
    entry->headers = headers_;
    auto whole = std::make_shared<std::string>();
    for (const cache::Body& chunk : chunks_) {
      whole->append(*chunk);
    }
    entry->body = std::move(whole);
    entry->vary_values = vary_values_;
    entry->tags = tags_;
    cache::fillFreshness(*entry, routeClass(), request_time_ms_, response_time_ms_);
    http::Headers with_via = entry->headers;
    with_via.appendToList("Via", http::kVia);
    entry->wire_headers = cache::wireHeaderBlock(with_via);
    if (will_store_) {
      cache_.store.insert(entry);
      cache_.coalescer.clearUncacheable(entry->key);
    }
    flight_->complete(entry);
    finish();
    return entry;
  }

  // handOver of a response nobody else may have: marked hit-for-miss, handed to the leader
  // (Stream::adoptExchange tells the filter at once), then everyone else is released.
  void handOver(const char* why) {
    const int64_t now = cache::wallClockMs();
    cache_.coalescer.markUncacheable(flight_->key(), now,
                                     now + config_.cache.hit_for_miss.count());
    if (leader_ != nullptr) {
      leader_->onHandedOver(why);
    }
    flight_->release(std::string("not shareable: ") + why);
    finish();
  }

  // onExchangeFailed: before the head, a stale entry usable on error goes with the failure;
  // the exchange's error kind goes with it either way.
  void fail(int status, std::string why, bool after_head, ErrorKind error) {
    cache::EntryPtr fallback;
    if (!after_head && stale_ &&
        cache::evaluate(*stale_, {}, cache::wallClockMs()).usable_on_error) {
      fallback = stale_;
    }
    flight_->fail(status, std::move(why), fallback, error);
    finish();
  }

  // onNotModified: the stale entry refreshed, stored, and the flight completes without a head.
  cache::EntryPtr notModified() {
    response_time_ms_ = cache::wallClockMs();
    http::Headers not_modified;
    not_modified.add("Cache-Control", "max-age=60");
    cache::EntryPtr refreshed = cache::refreshFromNotModified(
        *stale_, not_modified, routeClass(), request_time_ms_, response_time_ms_);
    std::shared_ptr<cache::CachedEntry> entry = cache::cloneEntry(*refreshed);
    entry->generation = generation_;
    http::Headers with_via = entry->headers;
    with_via.appendToList("Via", http::kVia);
    entry->wire_headers = cache::wireHeaderBlock(with_via);
    cache_.store.insert(entry);
    flight_->complete(entry);
    finish();
    return entry;
  }

  const cache::InFlightPtr& flight() const { return flight_; }

 private:
  const config::RouteClass& routeClass() const { return config_.route_classes[0]; }
  std::string reason() const { return status_ == 200 ? "OK" : "Error"; }
  void finish() {
    if (!finished_) {
      finished_ = true;
      cache_.coalescer.finish(flight_);
    }
  }

  cache::SharedCache& cache_;
  const config::Config& config_;
  cache::InFlightPtr flight_;
  cache::EntryPtr stale_;
  FetchLeader* leader_;
  int64_t request_time_ms_;
  uint64_t generation_;
  int64_t response_time_ms_ = 0;
  int status_ = 200;
  http::Headers headers_;
  VaryValues vary_values_;
  std::vector<std::string> tags_;
  std::vector<cache::Body> chunks_;
  bool will_store_ = true;
  bool finished_ = false;
};

// Class 0 caches, class 1 ("/nocache/...") does not; every route goes to one upstream.
config::Config makeConfig() {
  config::Config config;
  config.source = "<test>";
  config::UpstreamConfig app;
  app.name = "app";
  app.servers = {{"127.0.0.1", 3000}};
  config.upstreams.push_back(app);
  config.cache.memory = 16ull << 20;
  config.cache.shards = 4;
  config.cache.lock_timeout = config::Millis(kLockTimeoutMs);

  config::RouteClass api;
  api.name = "api";
  config::RouteClass off;
  off.name = "off";
  off.cache = false;
  config.route_classes = {api, off};

  config::Route uncached;
  uncached.match.hosts = {kHost};
  uncached.match.path_kind = config::PathMatchKind::Prefix;
  uncached.match.path = "/nocache/";
  uncached.class_index = 1;
  config::Route cached;
  cached.match.hosts = {kHost};
  cached.class_index = 0;
  config.routes = {uncached, cached};
  return config;
}

std::string headDescription(const std::vector<WrittenHead>& heads) {
  std::string text;
  for (const WrittenHead& written : heads) {
    text += (text.empty() ? "" : ", ") + describe(written.head, written.end);
  }
  return text;
}

std::vector<std::string> describeAll(const std::vector<BodyPiece>& pieces) {
  std::vector<std::string> out;
  for (const BodyPiece& piece : pieces) {
    out.push_back(describe(piece));
  }
  return out;
}

using Pieces = std::vector<std::string>;

class CacheFilterTest : public ::testing::Test {
 protected:
  // A request as the Stream makes it: routed, its upstream headers made, the chain built
  // (recorder, then cache); its request side not run yet.
  Request& make(const std::string& method, const std::string& target, HeaderList headers = {},
                uint64_t content_length = 0) {
    requests_.push_back(std::make_unique<Request>());
    Request& r = *requests_.back();
    r.head.method = method;
    r.head.target = target;
    r.head.headers.add("Host", kHost);
    for (const auto& [name, value] : headers) {
      r.head.headers.add(name, value);
    }
    r.head.has_content_length = content_length > 0;
    r.head.content_length = content_length;

    r.ctx.method = method;
    r.ctx.head_request = method == "HEAD";
    r.ctx.host = kHost;
    r.ctx.target = target;
    r.ctx.client_ip = "192.0.2.7";
    const std::string_view path = std::string_view(target).substr(0, target.find('?'));
    r.ctx.route = routes_.match(kHost, method, path);
    EXPECT_NE(r.ctx.route, nullptr) << target;
    r.ctx.route_class = &config_.classOf(*r.ctx.route);
    r.upstream_headers = r.head.headers;
    r.upstream_headers.add("X-Forwarded-For", "192.0.2.7");
    r.ctx.upstream_headers = &r.upstream_headers;

    r.chain = std::make_unique<FilterChain>(r.ctx, r.owner);
    auto recorder = std::make_unique<ResponseRecorder>();
    r.recorder = recorder.get();
    r.chain->add(std::move(recorder));
    r.chain->add(std::make_unique<CacheFilter>(filter_config_, services_));
    return r;
  }

  // The same, and its request side run, as the Stream starts it.
  Request& start(const std::string& method, const std::string& target, HeaderList headers = {},
                 uint64_t content_length = 0) {
    Request& r = make(method, target, headers, content_length);
    r.chain->startRequest(r.head);
    return r;
  }

  // The fetch `r` started (the only one), played from now on.
  PlayedFetch fetchOf(const Request& r) {
    EXPECT_EQ(r.owner.fetches.size(), 1u);
    return PlayedFetch(cache_, config_, r.owner.fetches.at(0));
  }

  std::string keyOf(const std::string& target) const {
    http::Headers none;
    return cache::buildKey({kHost, target, &none}, config_.route_classes[0]);
  }

  // A response to GET `target` stored `age_ms` ago, fresh for 60 s.
  cache::EntryPtr storeEntry(const std::string& target, std::string body, int64_t age_ms,
                             int64_t swr_ms = 0, int64_t sie_ms = 0, VaryValues vary = {}) {
    auto entry = std::make_shared<cache::CachedEntry>();
    entry->key = keyOf(target);
    entry->status = 200;
    entry->reason = "OK";
    entry->headers.add("Content-Type", "text/plain");
    entry->headers.add("Cache-Control", "max-age=60");
    entry->headers.add("ETag", "\"v1\"");
    entry->etag = "\"v1\"";
    entry->body = bytes(std::move(body));
    entry->vary_values = std::move(vary);
    const int64_t now = cache::wallClockMs();
    entry->request_time_ms = now - age_ms;
    entry->response_time_ms = now - age_ms;
    entry->freshness_lifetime_ms = 60 * kSecond;
    entry->stale_while_revalidate_ms = swr_ms;
    entry->stale_if_error_ms = sie_ms;
    entry->wire_headers = cache::wireHeaderBlock(entry->headers);
    entry->generation = cache_.store.generation();
    EXPECT_TRUE(cache_.store.insert(entry));
    return entry;
  }

  size_t storedVariants(const std::string& target) {
    return cache_.store.peek(keyOf(target)).size();
  }

  config::Config config_ = makeConfig();
  config::RouteTable routes_{config_};
  cache::SharedCache cache_{config_.cache};
  FakeMailbox mailbox_;
  CacheFilterConfig filter_config_{&config_, &routes_};
  FilterServices services_{&cache_, &mailbox_, nullptr, nullptr};
  std::vector<std::unique_ptr<Request>> requests_;  // last: chains go before what they use
};

// ---- 1. fresh hit --------------------------------------------------------------------------

TEST_F(CacheFilterTest, FreshHitIsServedWholeFromTheEntry) {
  cache::EntryPtr entry = storeEntry("/items/7", "seven", kFreshAge);
  Request& r = start("GET", "/items/7");

  EXPECT_EQ(r.ctx.outcome, CacheOutcome::Hit);
  EXPECT_EQ(r.ctx.cache_detail, "hit; ttl=49");
  EXPECT_GE(r.ctx.entry_age_ms, kFreshAge);
  // Answered by the filter: nothing goes upstream, nothing is fetched, nothing waits.
  EXPECT_EQ(r.owner.done_count, 0);
  EXPECT_TRUE(r.owner.fetches.empty());
  EXPECT_TRUE(r.owner.timers.empty());
  EXPECT_EQ(cache_.coalescer.inFlightCount(), 0u);
  EXPECT_EQ(r.events, (Events{"writer:head 200", "writer:body [seven] end"}));
  // The entry goes out as it is stored, through the filters in front of the cache.
  ASSERT_EQ(r.owner.heads.size(), 1u);
  const ResponseHead& head = r.owner.heads[0].head;
  EXPECT_EQ(head.entry, entry);
  EXPECT_FALSE(head.materialised);
  EXPECT_TRUE(head.whole_body);
  ASSERT_TRUE(head.content_length.has_value());
  EXPECT_EQ(*head.content_length, 5u);
  ASSERT_EQ(r.owner.bodies.size(), 1u);
  EXPECT_EQ(r.owner.bodies[0].data, entry->body);  // shared, not copied
  EXPECT_EQ(r.recorder->requests_seen, 1);
  ASSERT_EQ(r.recorder->heads.size(), 1u);
  EXPECT_EQ(r.recorder->heads[0].head.entry, entry);
  EXPECT_EQ(r.recorder->bodies, (Pieces{"[seven] end"}));
}

// ---- 2. miss: the request leads the fetch -------------------------------------------------

TEST_F(CacheFilterTest, MissLeadsTheFetchAndStreamsItsHeadAndChunks) {
  Request& r = start("GET", "/items/7", {{"If-None-Match", "\"old\""}, {"Accept", "text/plain"}});

  ASSERT_EQ(r.owner.fetches.size(), 1u);
  const RecordedFetch& started = r.owner.fetches[0];
  EXPECT_NE(started.leader, nullptr);
  ASSERT_NE(started.request.flight, nullptr);
  EXPECT_EQ(started.request.flight->key(), keyOf("/items/7"));
  EXPECT_EQ(started.request.stale, nullptr);
  EXPECT_FALSE(started.request.credentialed_unscoped);
  EXPECT_FALSE(started.request.no_store);
  // The fetch is for everyone: the client's own conditionals stay behind.
  EXPECT_EQ(started.request.headers.find("if-none-match"), nullptr);
  ASSERT_NE(started.request.headers.find("accept"), nullptr);
  EXPECT_TRUE(r.owner.timers.empty());  // a leader does not wait for anyone
  EXPECT_EQ(r.owner.done_count, 0);     // held at the cache while the fetch runs
  EXPECT_TRUE(r.owner.heads.empty());
  EXPECT_EQ(r.ctx.outcome, CacheOutcome::None);

  PlayedFetch fetch = fetchOf(r);
  fetch.head({.content_length = 11});
  EXPECT_TRUE(r.owner.heads.empty()) << "flight updates arrive through the mailbox only";
  EXPECT_EQ(mailbox_.run(), 1u);
  EXPECT_EQ(r.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(r.ctx.cache_detail, "fwd=uri-miss; stored");
  ASSERT_EQ(r.owner.heads.size(), 1u);
  const ResponseHead& head = r.owner.heads[0].head;
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.materialised);
  EXPECT_EQ(head.entry, nullptr);
  EXPECT_TRUE(head.answer_conditionals_at_head);
  ASSERT_TRUE(head.content_length.has_value());
  EXPECT_EQ(*head.content_length, 11u);
  ASSERT_NE(head.headers.find("via"), nullptr);
  EXPECT_EQ(*head.headers.find("via"), http::kVia);

  fetch.body("hello ");
  EXPECT_EQ(mailbox_.run(), 1u);
  fetch.body("world");
  fetch.end();
  EXPECT_EQ(mailbox_.run(), 1u);  // one notification for both: read once, all of it

  EXPECT_EQ(describeAll(r.owner.bodies),
            (Pieces{"[] flush", "[hello ]", "[] flush", "[world]", "[] end"}));
  EXPECT_EQ(r.owner.bodyBytes(), "hello world");
  EXPECT_EQ(r.recorder->bodies, describeAll(r.owner.bodies));
  EXPECT_EQ(r.owner.done_count, 0);
  EXPECT_EQ(r.ctx.cache_detail, "fwd=uri-miss; stored");
  EXPECT_EQ(cache_.coalescer.inFlightCount(), 0u);
  EXPECT_TRUE(mailbox_.queue.empty());

  // Stored: the next request is a hit.
  Request& next = start("GET", "/items/7");
  EXPECT_EQ(next.ctx.outcome, CacheOutcome::Hit);
  EXPECT_EQ(next.owner.bodyBytes(), "hello world");
  EXPECT_TRUE(next.owner.fetches.empty());
}

TEST_F(CacheFilterTest, MissOfAResponseThatWillNotBeStoredDoesNotSayStored) {
  Request& r = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(r);
  fetch.head({.will_store = false});
  fetch.body("big");
  mailbox_.run();
  EXPECT_EQ(r.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(r.ctx.cache_detail, "fwd=uri-miss");
  fetch.end();
  mailbox_.run();
  EXPECT_EQ(r.owner.bodyBytes(), "big");
  ASSERT_FALSE(r.owner.bodies.empty());
  EXPECT_TRUE(r.owner.bodies.back().end);
  EXPECT_EQ(storedVariants("/items/7"), 0u);
}

// A fetch that is over before the mailbox runs is served as the entry it left.
TEST_F(CacheFilterTest, FetchThatEndsBeforeTheMailboxRunsIsServedAsAWholeEntry) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  fetch.head();
  fetch.body("all ");
  fetch.body("at once");
  cache::EntryPtr entry = fetch.end();
  EXPECT_EQ(mailbox_.run(), 2u);

  for (Request* r : {&leader, &follower}) {
    ASSERT_EQ(r->owner.heads.size(), 1u);
    EXPECT_EQ(r->owner.heads[0].head.entry, entry);
    EXPECT_EQ(describeAll(r->owner.bodies), (Pieces{"[all at once] end"}));
  }
  EXPECT_EQ(leader.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(leader.ctx.cache_detail, "fwd=uri-miss; stored");
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Coalesced);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; collapsed");
  EXPECT_TRUE(follower.owner.timers.at(0)->cancelled);
}

// ---- 3. following a fetch, and the lock timeout ------------------------------------------

TEST_F(CacheFilterTest, SecondRequestFollowsTheLeaderAndGetsTheSameBytes) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");

  EXPECT_EQ(leader.owner.fetches.size(), 1u);
  EXPECT_TRUE(follower.owner.fetches.empty()) << "one fetch per key";
  EXPECT_EQ(cache_.coalescer.followersJoined(), 1u);
  ASSERT_EQ(follower.owner.timers.size(), 1u);
  EXPECT_EQ(follower.owner.timers[0]->ms, kLockTimeoutMs);
  EXPECT_FALSE(follower.owner.timers[0]->cancelled);
  EXPECT_EQ(follower.owner.done_count, 0);

  PlayedFetch fetch = fetchOf(leader);
  fetch.head();
  fetch.body("abc");
  EXPECT_EQ(mailbox_.run(), 2u);
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Coalesced);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; collapsed");
  EXPECT_TRUE(follower.owner.timers[0]->cancelled) << "the head ends the wait";
  fetch.body("def");
  fetch.end();
  EXPECT_EQ(mailbox_.run(), 2u);

  EXPECT_EQ(follower.owner.bodyBytes(), "abcdef");
  EXPECT_EQ(describeAll(follower.owner.bodies), describeAll(leader.owner.bodies));
  EXPECT_EQ(headDescription(follower.owner.heads), "200");
  EXPECT_EQ(follower.owner.done_count, 0);
  EXPECT_EQ(leader.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(leader.ctx.cache_detail, "fwd=uri-miss; stored");
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; collapsed");
}

TEST_F(CacheFilterTest, LockTimeoutBeforeTheHeadSendsTheFollowerUpstream) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);

  ASSERT_TRUE(follower.owner.fireTimer(0));
  EXPECT_EQ(follower.owner.done_count, 1);
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; detail=lock-timeout");
  EXPECT_TRUE(follower.owner.timers[0]->dropped);

  // It no longer follows: the fetch's publications reach the leader only.
  fetch.head();
  EXPECT_EQ(mailbox_.run(), 1u);
  fetch.body("x");
  fetch.end();
  mailbox_.run();
  EXPECT_TRUE(follower.owner.heads.empty());
  EXPECT_TRUE(follower.owner.bodies.empty());
  EXPECT_EQ(follower.owner.done_count, 1);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; detail=lock-timeout");
  EXPECT_EQ(leader.owner.bodyBytes(), "x");
}

TEST_F(CacheFilterTest, LockTimerFiredAfterTheHeadDoesNothing) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  fetch.head();
  mailbox_.run();
  ASSERT_EQ(follower.owner.heads.size(), 1u);

  EXPECT_FALSE(follower.owner.fireTimer(0)) << "the head cancelled it";
  // Even an expiry already on its way when the head came changes nothing.
  std::function<void()> late = follower.owner.timers[0]->fn;
  late();
  EXPECT_EQ(follower.owner.done_count, 0);
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Coalesced);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; collapsed");

  fetch.body("still here");
  fetch.end();
  mailbox_.run();
  EXPECT_EQ(follower.owner.bodyBytes(), "still here");
  EXPECT_TRUE(follower.owner.bodies.back().end);
}

// ---- 4. hand-over of an unshareable response --------------------------------------------

TEST_F(CacheFilterTest, HandOverSendsTheLeaderUpstreamAndReleasesTheFollowers) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);

  fetch.handOver("no-store");
  // The leader is told inline (by the Stream, from the fetch): it goes on as a pass-through.
  EXPECT_EQ(leader.owner.done_count, 1);
  EXPECT_EQ(leader.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(leader.ctx.cache_detail, "fwd=uri-miss; detail=no-store");
  EXPECT_EQ(follower.owner.done_count, 0) << "followers hear of it through the mailbox";

  EXPECT_EQ(mailbox_.run(), 1u) << "the leader no longer follows";
  EXPECT_EQ(follower.owner.done_count, 1);
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; detail=not shareable: no-store");
  EXPECT_TRUE(follower.owner.timers.at(0)->cancelled);
  EXPECT_TRUE(leader.owner.heads.empty());
  EXPECT_TRUE(follower.owner.heads.empty());

  // Hit-for-miss: the next request does not queue behind a leader; it goes upstream inline.
  Request& next = start("GET", "/items/7");
  EXPECT_EQ(next.owner.done_count, 1);
  EXPECT_EQ(next.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(next.ctx.cache_detail, "fwd=uri-miss; detail=hit-for-miss");
  EXPECT_TRUE(next.owner.fetches.empty());
  EXPECT_EQ(next.events, (Events{"owner:done"}));
}

// ---- 5. failed fetches --------------------------------------------------------------------

TEST_F(CacheFilterTest, FailedRevalidationServesTheStaleEntryWhenStaleIfErrorAllows) {
  cache::EntryPtr stale = storeEntry("/items/7", "old but fine", kStaleAge, 0, 60 * kSecond);
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");

  ASSERT_EQ(leader.owner.fetches.size(), 1u);
  EXPECT_EQ(leader.owner.fetches[0].request.stale, stale);
  ASSERT_NE(leader.owner.fetches[0].request.headers.find("if-none-match"), nullptr);
  EXPECT_EQ(*leader.owner.fetches[0].request.headers.find("if-none-match"), "\"v1\"");

  PlayedFetch fetch = fetchOf(leader);
  fetch.fail(502, "connection refused", false, ErrorKind::ConnectRefused);
  EXPECT_EQ(mailbox_.run(), 2u);

  for (Request* r : {&leader, &follower}) {
    EXPECT_EQ(r->ctx.outcome, CacheOutcome::Stale);
    EXPECT_EQ(r->ctx.cache_detail, "hit; fwd=stale; fwd-status=502; detail=stale-if-error");
    ASSERT_EQ(r->owner.heads.size(), 1u);
    EXPECT_EQ(r->owner.heads[0].head.entry, stale);
    EXPECT_EQ(r->owner.bodyBytes(), "old but fine");
    EXPECT_TRUE(r->owner.local_replies.empty());
    EXPECT_EQ(r->owner.done_count, 0);
    EXPECT_EQ(r->ctx.error, ErrorKind::None) << "answered, from the stale entry";
  }
  EXPECT_GE(leader.ctx.entry_age_ms, kStaleAge);
}

TEST_F(CacheFilterTest, FailedFetchWithoutFallbackRepliesLocallyWithItsStatus) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  fetch.fail(503, "no upstream server answered", false, ErrorKind::ConnectRefused);
  EXPECT_EQ(mailbox_.run(), 2u);

  for (Request* r : {&leader, &follower}) {
    ASSERT_EQ(r->owner.local_replies.size(), 1u);
    EXPECT_EQ(r->owner.local_replies[0].status, 503);
    EXPECT_EQ(r->owner.local_replies[0].reason, "no upstream server answered");
    EXPECT_FALSE(r->owner.local_replies[0].close);
    EXPECT_EQ(r->ctx.cache_detail, "fwd=uri-miss; fwd-status=503");
    EXPECT_EQ(r->ctx.error, ErrorKind::ConnectRefused);
    EXPECT_TRUE(r->owner.heads.empty());
    EXPECT_EQ(r->owner.done_count, 0);
  }
  EXPECT_EQ(leader.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Coalesced);
  EXPECT_TRUE(follower.owner.timers.at(0)->cancelled);
}

TEST_F(CacheFilterTest, FailureAfterTheHeadFailsTheResponse) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  fetch.head();
  fetch.body("par");
  mailbox_.run();
  fetch.fail(502, "upstream reset", true, ErrorKind::UpstreamReset);
  EXPECT_EQ(mailbox_.run(), 2u);

  for (Request* r : {&leader, &follower}) {
    ASSERT_EQ(r->owner.failures.size(), 1u);
    EXPECT_EQ(r->owner.failures[0].status, 502);
    EXPECT_EQ(r->owner.failures[0].reason, "upstream reset");
    EXPECT_TRUE(r->owner.local_replies.empty());
    EXPECT_EQ(describeAll(r->owner.bodies), (Pieces{"[par]", "[] flush"})) << "never an end";
    EXPECT_EQ(r->ctx.error, ErrorKind::UpstreamReset);
  }
  EXPECT_EQ(leader.ctx.cache_detail, "fwd=uri-miss; stored");
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; collapsed");
}

TEST_F(CacheFilterTest, NotModifiedRevalidatesTheStaleEntry) {
  cache::EntryPtr stale = storeEntry("/items/7", "unchanged", kStaleAge);
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  cache::EntryPtr refreshed = fetch.notModified();
  EXPECT_EQ(mailbox_.run(), 2u);

  EXPECT_EQ(leader.ctx.outcome, CacheOutcome::Revalidated);
  EXPECT_EQ(leader.ctx.cache_detail, "fwd=stale; fwd-status=304");
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Coalesced);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; collapsed");
  for (Request* r : {&leader, &follower}) {
    ASSERT_EQ(r->owner.heads.size(), 1u);
    EXPECT_EQ(r->owner.heads[0].head.entry, refreshed);
    EXPECT_EQ(r->owner.bodyBytes(), "unchanged");
  }
}

// ---- 6. stale-while-revalidate ----------------------------------------------------------

TEST_F(CacheFilterTest, StaleWhileRevalidateServesStaleAndStartsOneBackgroundFetch) {
  cache::EntryPtr stale = storeEntry("/items/7", "stale", kStaleAge, 30 * kSecond);
  Request& first = start("GET", "/items/7");
  Request& second = start("GET", "/items/7");

  for (Request* r : {&first, &second}) {
    EXPECT_EQ(r->ctx.outcome, CacheOutcome::Stale);
    EXPECT_EQ(r->ctx.cache_detail, "hit; ttl=-10; detail=stale-while-revalidate");
    ASSERT_EQ(r->owner.heads.size(), 1u);
    EXPECT_EQ(r->owner.heads[0].head.entry, stale);
    EXPECT_EQ(r->owner.bodyBytes(), "stale");
    EXPECT_EQ(r->owner.done_count, 0);
    EXPECT_TRUE(r->owner.timers.empty());
  }
  // The refresh starts before the answer, which may end the request (and its chain).
  EXPECT_EQ(first.events, (Events{"owner:fetch", "writer:head 200", "writer:body [stale] end"}));
  ASSERT_EQ(first.owner.fetches.size(), 1u);
  EXPECT_EQ(first.owner.fetches[0].leader, nullptr) << "nobody waits for a refresh";
  EXPECT_EQ(first.owner.fetches[0].request.stale, stale);
  ASSERT_NE(first.owner.fetches[0].request.headers.find("if-none-match"), nullptr);
  EXPECT_TRUE(second.owner.fetches.empty()) << "exactly one refresh per key";

  PlayedFetch fetch = fetchOf(first);
  fetch.notModified();
  EXPECT_EQ(mailbox_.run(), 0u) << "neither request follows the refresh";
  Request& third = start("GET", "/items/7");
  EXPECT_EQ(third.ctx.outcome, CacheOutcome::Hit);
  EXPECT_EQ(third.owner.bodyBytes(), "stale");
}

// ---- 7. bypass and only-if-cached ---------------------------------------------------------

TEST_F(CacheFilterTest, PostBypassesTheCacheInline) {
  storeEntry("/items/7", "seven", kFreshAge);
  Request& r = start("POST", "/items/7");
  EXPECT_EQ(r.ctx.outcome, CacheOutcome::Bypass);
  EXPECT_EQ(r.ctx.cache_detail, "fwd=bypass; detail=method");
  EXPECT_EQ(r.owner.done_count, 1);
  EXPECT_EQ(r.events, (Events{"owner:done"}));
  EXPECT_TRUE(r.owner.fetches.empty());
  EXPECT_EQ(cache_.coalescer.inFlightCount(), 0u);
}

TEST_F(CacheFilterTest, ClassWithoutCachingBypassesTheCacheInline) {
  Request& r = start("GET", "/nocache/report");
  EXPECT_EQ(r.ctx.outcome, CacheOutcome::Bypass);
  EXPECT_EQ(r.ctx.cache_detail, "fwd=bypass; detail=class");
  EXPECT_EQ(r.events, (Events{"owner:done"}));
  EXPECT_EQ(cache_.coalescer.inFlightCount(), 0u);
}

TEST_F(CacheFilterTest, GetWithABodyBypassesTheCacheInline) {
  storeEntry("/items/7", "seven", kFreshAge);
  Request& r = start("GET", "/items/7", {}, 5);
  EXPECT_EQ(r.ctx.outcome, CacheOutcome::Bypass);
  EXPECT_EQ(r.ctx.cache_detail, "fwd=bypass; detail=body");
  EXPECT_EQ(r.events, (Events{"owner:done"}));
}

TEST_F(CacheFilterTest, OnlyIfCachedMissAnswers504) {
  Request& r = start("GET", "/items/7", {{"Cache-Control", "only-if-cached"}});
  EXPECT_EQ(r.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(r.ctx.cache_detail, "fwd=miss; detail=only-if-cached");
  ASSERT_EQ(r.owner.local_replies.size(), 1u);
  EXPECT_EQ(r.owner.local_replies[0].status, 504);
  EXPECT_EQ(r.owner.local_replies[0].reason, "only-if-cached: no usable response is stored");
  EXPECT_EQ(r.owner.done_count, 0);
  EXPECT_TRUE(r.owner.fetches.empty());
  EXPECT_EQ(cache_.coalescer.inFlightCount(), 0u);
}

// ---- 8. purge while fetching ----------------------------------------------------------------

TEST_F(CacheFilterTest, PurgeBetweenTheFetchStartAndItsHeadSendsTheWaitersUpstream) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  cache_.store.purgeTag("item:7", cache::PurgeMode::Hard);
  fetch.head({.tags = {"items", "item:7"}});
  EXPECT_EQ(mailbox_.run(), 2u);

  EXPECT_EQ(follower.owner.done_count, 1);
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; detail=purged-while-fetching");
  EXPECT_TRUE(follower.owner.heads.empty());
  EXPECT_TRUE(follower.owner.timers.at(0)->cancelled);
  // The leader may not have it either: its fetch went out before the purge.
  EXPECT_EQ(leader.owner.done_count, 1);
  EXPECT_EQ(leader.ctx.cache_detail, "fwd=uri-miss; detail=purged-while-fetching");
  EXPECT_TRUE(leader.owner.heads.empty());

  fetch.body("outdated");
  fetch.end();
  EXPECT_EQ(mailbox_.run(), 0u);
}

TEST_F(CacheFilterTest, PurgeOfSomethingElseWhileFetchingChangesNothing) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  cache_.store.purgeTag("item:8", cache::PurgeMode::Hard);
  fetch.head({.tags = {"items", "item:7"}});
  mailbox_.run();
  EXPECT_EQ(follower.owner.done_count, 0);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=uri-miss; collapsed");
  EXPECT_EQ(follower.owner.heads.size(), 1u);
}

// ---- sharing: Vary ---------------------------------------------------------------------------

TEST_F(CacheFilterTest, FollowerOfAnotherVariantGoesUpstream) {
  Request& leader = start("GET", "/items/7", {{"Accept-Language", "fr"}});
  Request& follower = start("GET", "/items/7", {{"Accept-Language", "de"}});
  PlayedFetch fetch = fetchOf(leader);
  fetch.head({.vary = {{"accept-language", "fr"}}});
  EXPECT_EQ(mailbox_.run(), 2u);
  EXPECT_EQ(follower.owner.done_count, 1);
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=vary-miss");
  EXPECT_TRUE(follower.owner.heads.empty());
  EXPECT_EQ(leader.owner.heads.size(), 1u);
}

// ---- sharing: credentials (RFC 9111 3.5) ---------------------------------------------------

TEST_F(CacheFilterTest, StoredEntryIsNotServedToACredentialedRequestUnlessItSaysSo) {
  storeEntry("/items/7", "for anyone", kFreshAge);  // max-age only: not for credentials
  Request& r = start("GET", "/items/7", {{"Authorization", "Bearer abc"}});
  EXPECT_TRUE(r.owner.heads.empty());
  ASSERT_EQ(r.owner.fetches.size(), 1u);
  EXPECT_NE(r.owner.fetches[0].leader, nullptr);
  EXPECT_TRUE(r.owner.fetches[0].request.credentialed_unscoped);
  EXPECT_EQ(r.owner.fetches[0].request.stale, nullptr);
}

TEST_F(CacheFilterTest, CredentialedFollowerOfAResponseNotSharedWithCredentialsGoesUpstream) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7", {{"Cookie", "session=1"}});
  PlayedFetch fetch = fetchOf(leader);
  fetch.head();  // Cache-Control: max-age=60, without public
  EXPECT_EQ(mailbox_.run(), 2u);
  EXPECT_EQ(follower.owner.done_count, 1);
  EXPECT_EQ(follower.ctx.outcome, CacheOutcome::Miss);
  EXPECT_EQ(follower.ctx.cache_detail, "fwd=vary-miss");
  EXPECT_TRUE(follower.owner.heads.empty());
  EXPECT_EQ(leader.owner.heads.size(), 1u);
}

TEST_F(CacheFilterTest, FollowerOfAnotherVariantIsNotServedTheLeadersStaleFallback) {
  storeEntry("/items/7", "bonjour", kStaleAge, 0, 60 * kSecond, {{"accept-language", "fr"}});
  Request& leader = start("GET", "/items/7", {{"Accept-Language", "fr"}});
  Request& follower = start("GET", "/items/7", {{"Accept-Language", "de"}});
  ASSERT_EQ(leader.owner.fetches.size(), 1u);
  ASSERT_NE(leader.owner.fetches[0].request.stale, nullptr);
  EXPECT_TRUE(follower.owner.fetches.empty());
  PlayedFetch fetch = fetchOf(leader);
  fetch.fail(502, "connection refused", false, ErrorKind::ConnectRefused);
  mailbox_.run();
  EXPECT_EQ(leader.owner.bodyBytes(), "bonjour");
  EXPECT_EQ(leader.ctx.outcome, CacheOutcome::Stale);
  // The German client must not receive the French entry.
  EXPECT_NE(follower.owner.bodyBytes(), "bonjour");
  EXPECT_NE(follower.ctx.outcome, CacheOutcome::Stale);
}

// ---- 9. the chain destroyed while the filter waits ----------------------------------------

TEST_F(CacheFilterTest, DestroyingTheChainWhileFollowingStopsEverything) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  fetch.head();
  ASSERT_EQ(mailbox_.queue.size(), 2u);  // a notification for each is already queued

  follower.chain.reset();
  EXPECT_TRUE(follower.owner.timers.at(0)->cancelled);
  EXPECT_TRUE(follower.owner.timers.at(0)->dropped);
  EXPECT_EQ(mailbox_.run(), 2u);  // the follower's finds it gone
  fetch.body("abc");
  EXPECT_EQ(mailbox_.queue.size(), 1u) << "the follower's subscription is cancelled";
  fetch.end();
  mailbox_.run();

  EXPECT_TRUE(follower.owner.heads.empty());
  EXPECT_TRUE(follower.owner.bodies.empty());
  EXPECT_EQ(follower.owner.done_count, 0);
  EXPECT_EQ(leader.owner.bodyBytes(), "abc");
  EXPECT_TRUE(leader.owner.bodies.back().end);
}

TEST_F(CacheFilterTest, DestroyingTheLeadersChainLeavesTheFetchToTheOthers) {
  Request& leader = start("GET", "/items/7");
  Request& follower = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(leader);
  leader.chain.reset();
  fetch.head();
  fetch.body("abc");
  fetch.end();
  EXPECT_EQ(mailbox_.run(), 1u);
  EXPECT_TRUE(leader.owner.heads.empty());
  EXPECT_EQ(follower.owner.bodyBytes(), "abc");
  EXPECT_EQ(storedVariants("/items/7"), 1u);
}

TEST_F(CacheFilterTest, WriterThatDestroysTheChainMidStreamStopsTheChunks) {
  Request& r = start("GET", "/items/7");
  PlayedFetch fetch = fetchOf(r);
  fetch.head();
  fetch.body("a");
  fetch.body("b");
  r.owner.on_body = [&r] { r.chain.reset(); };
  EXPECT_EQ(mailbox_.run(), 1u);
  EXPECT_EQ(describeAll(r.owner.bodies), (Pieces{"[a]"}));
  fetch.body("c");
  fetch.end();
  EXPECT_EQ(mailbox_.run(), 0u);
  EXPECT_EQ(describeAll(r.owner.bodies), (Pieces{"[a]"}));
}

TEST_F(CacheFilterTest, WriterThatDestroysTheChainOnAFreshHit) {
  storeEntry("/items/7", "seven", kFreshAge);
  Request& r = make("GET", "/items/7");
  // The chain allows its owner to destroy it from the writer (the response is over).
  r.owner.on_body = [&r] { r.chain.reset(); };
  r.chain->startRequest(r.head);
  EXPECT_EQ(r.chain, nullptr);
  EXPECT_EQ(r.owner.bodyBytes(), "seven");
}

TEST_F(CacheFilterTest, WriterThatDestroysTheChainOnAStaleWhileRevalidateHit) {
  storeEntry("/items/7", "stale", kStaleAge, 30 * kSecond);
  Request& r = make("GET", "/items/7");
  // The chain allows its owner to destroy it from the writer (the response is over).
  r.owner.on_body = [&r] { r.chain.reset(); };
  r.chain->startRequest(r.head);
  EXPECT_EQ(r.chain, nullptr);
  EXPECT_EQ(r.owner.bodyBytes(), "stale");
}

// ---- 10. invalidation after an unsafe method -----------------------------------------------

TEST_F(CacheFilterTest, SuccessfulPostInvalidatesTheUrlAndItsSameHostLocation) {
  storeEntry("/items", "list", kFreshAge);
  storeEntry("/items/7", "seven", kFreshAge);
  storeEntry("/items/70", "seventy", kFreshAge);
  storeEntry("/items/9", "nine", kFreshAge);
  storeEntry("/other", "other", kFreshAge);
  Request& r = start("POST", "/items");
  ASSERT_EQ(r.owner.done_count, 1);

  ResponseHead created;
  created.status = 201;
  created.reason = "Created";
  created.headers.add("Location", std::string("http://") + kHost + "/items/7");
  created.headers.add("Content-Location", "http://elsewhere.example/items/9");
  created.content_length = 0;
  r.chain->sendHeaders(std::move(created), true);

  EXPECT_EQ(headDescription(r.owner.heads), "201 end");
  EXPECT_EQ(storedVariants("/items"), 0u);
  EXPECT_EQ(storedVariants("/items/7"), 0u);
  EXPECT_EQ(storedVariants("/items/70"), 1u) << "a URL, not a prefix";
  EXPECT_EQ(storedVariants("/items/9"), 1u) << "another host's URL";
  EXPECT_EQ(storedVariants("/other"), 1u);
  EXPECT_EQ(r.ctx.outcome, CacheOutcome::Bypass);

  Request& next = start("GET", "/items/7");
  EXPECT_EQ(next.owner.fetches.size(), 1u) << "gone: the next GET fetches";
}

TEST_F(CacheFilterTest, FailedPostInvalidatesNothing) {
  storeEntry("/items", "list", kFreshAge);
  storeEntry("/items/7", "seven", kFreshAge);
  Request& r = start("POST", "/items");
  ResponseHead refused;
  refused.status = 422;
  refused.reason = "Unprocessable Content";
  refused.headers.add("Location", "/items/7");
  refused.content_length = 0;
  r.chain->sendHeaders(std::move(refused), true);

  EXPECT_EQ(headDescription(r.owner.heads), "422 end");
  EXPECT_EQ(storedVariants("/items"), 1u);
  EXPECT_EQ(storedVariants("/items/7"), 1u);
}

TEST_F(CacheFilterTest, ResponseToAGetInvalidatesNothing) {
  storeEntry("/items/7", "seven", kFreshAge);
  Request& r = start("GET", "/nocache/items");
  ResponseHead ok;
  ok.status = 200;
  ok.reason = "OK";
  ok.headers.add("Location", "/items/7");
  r.chain->sendHeaders(std::move(ok), false);
  EXPECT_EQ(storedVariants("/items/7"), 1u);
}

}  // namespace
}  // namespace edge::filters
