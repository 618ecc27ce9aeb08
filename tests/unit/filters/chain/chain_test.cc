#include "filters/chain/chain.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/filters/chain/fake_owner.h"

namespace edge::filters {
namespace {

// ---- helpers -----------------------------------------------------------------------------------

using test_support::bytes;
using test_support::describe;
using test_support::Events;
using test_support::FakeOwner;

BodyPiece piece(std::string text, bool end = false) {
  return BodyPiece{bytes(std::move(text)), end, false};
}

BodyPiece flushPiece() { return BodyPiece{nullptr, false, true}; }

BodyPiece endPiece() { return BodyPiece{nullptr, true, false}; }

ResponseHead makeHead(int status) {
  ResponseHead head;
  head.status = status;
  head.reason = status == 200 ? "OK" : "Other";
  head.headers.add("Content-Type", "text/plain");
  return head;
}

// ---- scripted filters --------------------------------------------------------------------------

using RequestFn = std::function<FilterStatus(FilterCallbacks&, http::RequestHead&)>;
using HeadersFn = std::function<FilterStatus(FilterCallbacks&, ResponseHead&, bool&)>;
using BodyFn = std::function<FilterStatus(FilterCallbacks&, BodyPiece&)>;
using LogFn = std::function<void(FilterCallbacks&, const RequestContext&)>;

// Each hook has an initializer so that designated initializers may leave any of them out.
struct Script {
  RequestFn request = nullptr;
  HeadersFn headers = nullptr;
  BodyFn body = nullptr;
  uint64_t limit = 0;
  LogFn log = nullptr;
};

// Records each call in the shared event list, then runs its script. The script may destroy the
// chain (and with it this filter): every hook records first, runs a copy of the script and
// touches nothing of the filter afterwards.
class FakeFilter : public Filter {
 public:
  FakeFilter(std::string name, Events& events, Script script)
      : name_(std::move(name)), events_(events), script_(std::move(script)) {}

  FilterCallbacks& cb() { return callbacks(); }

  FilterStatus onRequestHeaders(http::RequestHead& head) override {
    events_.push_back(name_ + ":request");
    RequestFn fn = script_.request;
    FilterCallbacks& callbacks_ref = callbacks();
    return fn ? fn(callbacks_ref, head) : FilterStatus::Continue;
  }
  FilterStatus onRequestBody(BodyPiece& body) override {
    events_.push_back(name_ + ":request-body " + describe(body));
    return FilterStatus::Stop;
  }
  FilterStatus onResponseHeaders(ResponseHead& head, bool& end) override {
    events_.push_back(name_ + ":head " + describe(head, end));
    heads_seen.push_back(head);
    HeadersFn fn = script_.headers;
    FilterCallbacks& callbacks_ref = callbacks();
    return fn ? fn(callbacks_ref, head, end) : FilterStatus::Continue;
  }
  FilterStatus onResponseBody(BodyPiece& body) override {
    events_.push_back(name_ + ":body " + describe(body));
    bodies_seen.push_back(body);
    BodyFn fn = script_.body;
    FilterCallbacks& callbacks_ref = callbacks();
    return fn ? fn(callbacks_ref, body) : FilterStatus::Continue;
  }
  uint64_t bufferLimit() const override { return script_.limit; }
  void onLog(const RequestContext& context) override {
    events_.push_back(name_ + ":log");
    logged_context = &context;
    LogFn fn = script_.log;
    FilterCallbacks& callbacks_ref = callbacks();
    if (fn) {
      fn(callbacks_ref, context);
    }
  }

  std::string bodyBytes() const {
    std::string all;
    for (const BodyPiece& body : bodies_seen) {
      if (body.data) {
        all += *body.data;
      }
    }
    return all;
  }

  std::vector<ResponseHead> heads_seen;
  std::vector<BodyPiece> bodies_seen;
  const RequestContext* logged_context = nullptr;

 private:
  std::string name_;
  Events& events_;
  Script script_;
};

class FilterChainTest : public ::testing::Test {
 protected:
  FakeFilter* add(std::string name, Script script = {}) {
    auto filter = std::make_unique<FakeFilter>(std::move(name), events_, std::move(script));
    FakeFilter* raw = filter.get();
    chain_->add(std::move(filter));
    return raw;
  }

  // The index of the first event equal to `event`, or -1.
  ptrdiff_t indexOf(const std::string& event) const {
    for (size_t i = 0; i < events_.size(); ++i) {
      if (events_[i] == event) {
        return static_cast<ptrdiff_t>(i);
      }
    }
    return -1;
  }

  size_t countOf(const std::string& prefix) const {
    size_t n = 0;
    for (const std::string& event : events_) {
      n += event.rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return n;
  }

  Events events_;
  RequestContext context_;
  FakeOwner owner_{events_};
  http::RequestHead request_;
  std::unique_ptr<FilterChain> chain_ = std::make_unique<FilterChain>(context_, owner_);
};

// ---- request side ------------------------------------------------------------------------------

TEST_F(FilterChainTest, RequestFiltersRunInOrderThenTheOwnerOnce) {
  add("a");
  add("b");
  add("c");
  EXPECT_EQ(chain_->size(), 3u);
  chain_->startRequest(request_);
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "c:request", "owner:done"}));
  EXPECT_EQ(owner_.done_count, 1);
}

TEST_F(FilterChainTest, EmptyChainGoesStraightToTheOwnerAndTheWriter) {
  chain_->startRequest(request_);
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("x", true));
  EXPECT_EQ(events_, (Events{"owner:done", "writer:head 200", "writer:body [x] end"}));
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, StopHoldsTheRequestUntilContinueRequest) {
  add("a");
  FakeFilter* b = add(
      "b", {.request = [](FilterCallbacks&, http::RequestHead&) { return FilterStatus::Stop; }});
  add("c");
  chain_->startRequest(request_);
  EXPECT_EQ(events_, (Events{"a:request", "b:request"}));
  EXPECT_EQ(owner_.done_count, 0);

  // Inline: c and the owner have run when continueRequest() returns.
  b->cb().continueRequest();
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "c:request", "owner:done"}));
  EXPECT_EQ(owner_.done_count, 1);
  b->cb().continueRequest();  // a second one does nothing
  EXPECT_EQ(owner_.done_count, 1);
  EXPECT_EQ(events_.size(), 4u);
}

TEST_F(FilterChainTest, TheFilterThatStopsAtTheRequestHeadGetsTheBody) {
  add("a");
  add("b", {.request = [](FilterCallbacks&, http::RequestHead&) { return FilterStatus::Stop; }});
  add("c");
  chain_->startRequest(request_);
  EXPECT_TRUE(chain_->requestOwnedByFilter());
  EXPECT_TRUE(chain_->sendRequestBody({std::make_shared<const std::string>("ab")}));
  EXPECT_TRUE(chain_->sendRequestBody({nullptr, true}));
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "b:request-body [ab]",
                             "b:request-body [] end"}));
  EXPECT_EQ(owner_.done_count, 0);
}

TEST_F(FilterChainTest, TheBodyOfARequestNoFilterOwnsGoesToTheOwner) {
  add("a");
  chain_->startRequest(request_);
  EXPECT_FALSE(chain_->requestOwnedByFilter());
  EXPECT_FALSE(chain_->sendRequestBody({std::make_shared<const std::string>("ab")}));
  EXPECT_EQ(events_, (Events{"a:request", "owner:done"}));
}

TEST_F(FilterChainTest, ALocalReplyEndsTheRequestSide) {
  add("a", {.request = [](FilterCallbacks& cb, http::RequestHead&) {
              cb.sendContinue();
              cb.localReply(405, "a batch is sent with POST", false, "Allow: POST\r\n");
              return FilterStatus::Stop;
            }});
  add("b");
  chain_->startRequest(request_);
  EXPECT_EQ(events_, (Events{"a:request", "owner:continue",
                             "owner:local 405 a batch is sent with POST"}));
  EXPECT_FALSE(chain_->requestOwnedByFilter());
  EXPECT_EQ(owner_.done_count, 0);
}

TEST_F(FilterChainTest, ContinueRequestIsInlineFromAPostedClosure) {
  int done_seen_inside = -1;
  FakeOwner& owner = owner_;
  add("a", {.request = [&done_seen_inside, &owner](FilterCallbacks& cb, http::RequestHead&) {
        cb.post([&cb, &done_seen_inside, &owner] {
          cb.continueRequest();
          done_seen_inside = owner.done_count;
        });
        return FilterStatus::Stop;
      }});
  add("b");
  chain_->startRequest(request_);
  EXPECT_EQ(owner_.done_count, 0);
  EXPECT_EQ(owner_.runPosted(), 1u);
  EXPECT_EQ(done_seen_inside, 1);
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "owner:done"}));
}

TEST_F(FilterChainTest, ContinueRequestFromAFilterThatDidNotStopDoesNothing) {
  FakeFilter* a = add("a");
  FakeFilter* b = add(
      "b", {.request = [](FilterCallbacks&, http::RequestHead&) { return FilterStatus::Stop; }});
  add("c");
  chain_->startRequest(request_);
  a->cb().continueRequest();  // a continued: not its request to resume
  EXPECT_EQ(events_, (Events{"a:request", "b:request"}));
  EXPECT_EQ(owner_.done_count, 0);

  b->cb().continueRequest();
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "c:request", "owner:done"}));
  a->cb().continueRequest();
  b->cb().continueRequest();  // resumed already
  EXPECT_EQ(owner_.done_count, 1);
  EXPECT_EQ(events_.size(), 4u);
}

TEST_F(FilterChainTest, ContinueRequestAfterEveryFilterContinuedDoesNothing) {
  FakeFilter* a = add("a");
  FakeFilter* b = add("b");
  chain_->startRequest(request_);
  a->cb().continueRequest();
  b->cb().continueRequest();
  EXPECT_EQ(owner_.done_count, 1);
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "owner:done"}));
}

TEST_F(FilterChainTest, RespondFromTheMiddleFilterGoesOutThroughTheEarlierFiltersOnly) {
  add("a");
  add("b", {.request = [](FilterCallbacks& cb, http::RequestHead&) {
        ResponseHead denied = makeHead(403);
        denied.content_length = 6;
        cb.respond(std::move(denied), bytes("denied"));
        return FilterStatus::Continue;  // answered: the request side stops regardless
      }});
  FakeFilter* c = add("c");
  chain_->startRequest(request_);
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "a:head 403", "writer:head 403",
                             "a:body [denied] end", "writer:body [denied] end"}));
  EXPECT_EQ(owner_.done_count, 0);
  EXPECT_TRUE(c->heads_seen.empty());
  EXPECT_TRUE(c->bodies_seen.empty());
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_FALSE(owner_.heads[0].end);
  EXPECT_EQ(owner_.bodyBytes(), "denied");
  EXPECT_TRUE(chain_->headWritten());
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, RespondWithoutABodyWritesTheHeadWithEnd) {
  add("a");
  add("b", {.request = [](FilterCallbacks& cb, http::RequestHead&) {
        cb.respond(makeHead(204), nullptr);
        return FilterStatus::Stop;
      }});
  chain_->startRequest(request_);
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "a:head 204 end", "writer:head 204 end"}));
  EXPECT_TRUE(owner_.bodies.empty());
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, RespondFromTheFirstFilterGoesStraightToTheWriter) {
  add("a", {.request = [](FilterCallbacks& cb, http::RequestHead&) {
        cb.respond(makeHead(404), bytes("nope"));
        return FilterStatus::Stop;
      }});
  add("b");
  chain_->startRequest(request_);
  EXPECT_EQ(events_, (Events{"a:request", "writer:head 404", "writer:body [nope] end"}));
  EXPECT_EQ(owner_.done_count, 0);
}

TEST_F(FilterChainTest, RespondAfterAStopFromAPostedClosure) {
  add("a");
  FakeFilter* b = add("b", {.request = [](FilterCallbacks& cb, http::RequestHead&) {
                        cb.post([&cb] { cb.respond(makeHead(401), bytes("who")); });
                        return FilterStatus::Stop;
                      }});
  add("c");
  chain_->startRequest(request_);
  owner_.runPosted();
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "a:head 401", "writer:head 401",
                             "a:body [who] end", "writer:body [who] end"}));
  b->cb().continueRequest();  // answered: nothing more on the request side
  EXPECT_EQ(owner_.done_count, 0);
  EXPECT_EQ(countOf("c:"), 0u);
}

// ---- response side -----------------------------------------------------------------------------

TEST_F(FilterChainTest, ResponseRunsInReverseOrderIntoTheWriter) {
  add("a");
  add("b");
  add("c");
  chain_->sendHeaders(makeHead(200), false);
  EXPECT_TRUE(chain_->headWritten());
  EXPECT_FALSE(chain_->responseEnded());
  chain_->sendBody(piece("ab"));
  EXPECT_FALSE(chain_->responseEnded());
  chain_->sendBody(piece("cd", true));
  EXPECT_TRUE(chain_->responseEnded());
  EXPECT_EQ(events_,
            (Events{"c:head 200", "b:head 200", "a:head 200", "writer:head 200", "c:body [ab]",
                    "b:body [ab]", "a:body [ab]", "writer:body [ab]", "c:body [cd] end",
                    "b:body [cd] end", "a:body [cd] end", "writer:body [cd] end"}));
}

TEST_F(FilterChainTest, HeadChangedByAFilterReachesTheLaterFiltersAndTheWriter) {
  FakeFilter* a = add("a");
  add("b", {.headers = [](FilterCallbacks&, ResponseHead& head, bool&) {
        head.headers.set("X-Cache", "HIT");
        return FilterStatus::Continue;
      }});
  chain_->sendHeaders(makeHead(200), true);
  ASSERT_EQ(a->heads_seen.size(), 1u);
  ASSERT_NE(a->heads_seen[0].headers.find("X-Cache"), nullptr);
  ASSERT_EQ(owner_.heads.size(), 1u);
  ASSERT_NE(owner_.heads[0].head.headers.find("X-Cache"), nullptr);
  EXPECT_EQ(*owner_.heads[0].head.headers.find("X-Cache"), "HIT");
  EXPECT_TRUE(owner_.heads[0].end);
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, StopAtTheHeadQueuesTheBodyUntilContinueResponse) {
  add("a");
  FakeFilter* b = add("b", {.headers = [](FilterCallbacks& cb, ResponseHead&, bool&) {
                        cb.post([&cb] {
                          cb.heldResponse().headers.set("X-Checked", "yes");
                          cb.continueResponse();
                        });
                        return FilterStatus::Stop;
                      }});
  add("c");
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("one"));
  chain_->sendBody(piece("two"));
  chain_->sendBody(piece("three", true));
  // c (before b on the way out) sees the pieces; nothing passes b.
  EXPECT_EQ(events_, (Events{"c:head 200", "b:head 200", "c:body [one]", "c:body [two]",
                             "c:body [three] end"}));
  EXPECT_TRUE(b->bodies_seen.empty());
  EXPECT_TRUE(chain_->holdingResponse());
  EXPECT_FALSE(chain_->headWritten());

  EXPECT_EQ(owner_.runPosted(), 1u);
  EXPECT_FALSE(chain_->holdingResponse());
  EXPECT_TRUE(chain_->headWritten());
  EXPECT_TRUE(chain_->responseEnded());
  // The head as b left it, then the queued body, in order, also through b (it stopped at the
  // head, so it has not seen the body yet).
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_FALSE(owner_.heads[0].end);
  ASSERT_NE(owner_.heads[0].head.headers.find("X-Checked"), nullptr);
  EXPECT_EQ(b->bodyBytes(), "onetwothree");
  ASSERT_FALSE(b->bodies_seen.empty());
  EXPECT_TRUE(b->bodies_seen.back().end);
  EXPECT_EQ(owner_.bodyBytes(), "onetwothree");
  ASSERT_FALSE(owner_.bodies.empty());
  EXPECT_TRUE(owner_.bodies.back().end);
  const ptrdiff_t head_at = indexOf("writer:head 200");
  ASSERT_GE(head_at, 0);
  EXPECT_LT(indexOf("a:head 200"), head_at);
  for (size_t i = 0; i < events_.size(); ++i) {
    if (events_[i].rfind("writer:body", 0) == 0 || events_[i].rfind("b:body", 0) == 0 ||
        events_[i].rfind("a:body", 0) == 0) {
      EXPECT_GT(static_cast<ptrdiff_t>(i), head_at) << events_[i];
    }
  }
}

TEST_F(FilterChainTest, ContinueResponseBeforeAnyBodyLetsTheBodyStream) {
  add("a");
  FakeFilter* b = add(
      "b", {.headers = [](FilterCallbacks&, ResponseHead&, bool&) { return FilterStatus::Stop; }});
  chain_->sendHeaders(makeHead(200), false);
  EXPECT_TRUE(owner_.heads.empty());
  b->cb().continueResponse();
  EXPECT_EQ(owner_.heads.size(), 1u);
  EXPECT_TRUE(owner_.bodies.empty());
  chain_->sendBody(piece("x"));
  chain_->sendBody(piece("y", true));
  EXPECT_EQ(events_,
            (Events{"b:head 200", "a:head 200", "writer:head 200", "b:body [x]", "a:body [x]",
                    "writer:body [x]", "b:body [y] end", "a:body [y] end", "writer:body [y] end"}));
  b->cb().continueResponse();  // not holding any more: nothing
  EXPECT_EQ(owner_.heads.size(), 1u);
}

TEST_F(FilterChainTest, ContinueResponseFromAFilterThatDoesNotHoldDoesNothing) {
  FakeFilter* a = add("a");
  add("b", {.headers = [](FilterCallbacks&, ResponseHead&, bool&) { return FilterStatus::Stop; }});
  FakeFilter* c = add("c");
  chain_->sendHeaders(makeHead(200), false);
  a->cb().continueResponse();
  c->cb().continueResponse();
  EXPECT_TRUE(owner_.heads.empty());
  EXPECT_TRUE(chain_->holdingResponse());
}

TEST_F(FilterChainTest, StopOnAHeadThatEndsTheResponseResumesWithEnd) {
  add("a");
  FakeFilter* b = add(
      "b", {.headers = [](FilterCallbacks&, ResponseHead&, bool&) { return FilterStatus::Stop; }});
  chain_->sendHeaders(makeHead(204), true);
  EXPECT_TRUE(chain_->holdingResponse());
  b->cb().continueResponse();
  EXPECT_EQ(events_, (Events{"b:head 204 end", "a:head 204 end", "writer:head 204 end"}));
  EXPECT_TRUE(chain_->responseEnded());
}

// ---- StopAndBuffer -----------------------------------------------------------------------------

Script etagOnWholeBody(uint64_t limit) {
  return Script{
      .headers = [](FilterCallbacks&, ResponseHead&, bool&) { return FilterStatus::StopAndBuffer; },
      .body =
          [](FilterCallbacks& cb, BodyPiece& whole) {
            cb.heldResponse().headers.set("ETag", "\"" + std::to_string(whole.size()) + "\"");
            return FilterStatus::Continue;
          },
      .limit = limit};
}

TEST_F(FilterChainTest, StopAndBufferHandsTheWholeBodyAsOnePiece) {
  FakeFilter* a = add("a");
  add("b");
  FakeFilter* c = add("c", etagOnWholeBody(100));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("ab"));
  chain_->sendBody(flushPiece());
  chain_->sendBody(piece("cd"));
  EXPECT_TRUE(chain_->holdingResponse());
  EXPECT_TRUE(c->bodies_seen.empty());
  chain_->sendBody(piece("ef", true));
  EXPECT_FALSE(chain_->holdingResponse());

  EXPECT_EQ(events_, (Events{"c:head 200", "c:body [abcdef] end", "b:head 200", "a:head 200",
                             "writer:head 200", "b:body [abcdef] end", "a:body [abcdef] end",
                             "writer:body [abcdef] end"}));
  // The later filters and the writer see the head as the holder left it.
  ASSERT_EQ(a->heads_seen.size(), 1u);
  ASSERT_NE(a->heads_seen[0].headers.find("ETag"), nullptr);
  ASSERT_EQ(owner_.heads.size(), 1u);
  ASSERT_NE(owner_.heads[0].head.headers.find("ETag"), nullptr);
  EXPECT_EQ(*owner_.heads[0].head.headers.find("ETag"), "\"6\"");
  EXPECT_FALSE(owner_.heads[0].head.released);
  EXPECT_FALSE(owner_.heads[0].end);
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, StopAndBufferCountsAnEmptyEndPieceAsTheEnd) {
  FakeFilter* b = add("b", etagOnWholeBody(100));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  chain_->sendBody(piece("de"));
  chain_->sendBody(endPiece());
  ASSERT_EQ(b->bodies_seen.size(), 1u);
  EXPECT_EQ(describe(b->bodies_seen[0]), "[abcde] end");
  EXPECT_EQ(events_, (Events{"b:head 200", "b:body [abcde] end", "writer:head 200",
                             "writer:body [abcde] end"}));
}

TEST_F(FilterChainTest, StopAndBufferOfAnEmptyBodyHandsAnEmptyEndPiece) {
  FakeFilter* b = add("b", etagOnWholeBody(100));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(endPiece());
  ASSERT_EQ(b->bodies_seen.size(), 1u);
  EXPECT_EQ(describe(b->bodies_seen[0]), "[] end");
  ASSERT_EQ(owner_.heads.size(), 1u);
  ASSERT_NE(owner_.heads[0].head.headers.find("ETag"), nullptr);
  ASSERT_EQ(owner_.bodies.size(), 1u);
  EXPECT_TRUE(owner_.bodies[0].end);
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, StopAndBufferOfASinglePieceMakesNoCopy) {
  FakeFilter* a = add("a");
  FakeFilter* b = add("b", etagOnWholeBody(100));
  const cache::Body whole = bytes("the whole body");
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(BodyPiece{whole, true, false});
  ASSERT_EQ(b->bodies_seen.size(), 1u);
  EXPECT_EQ(b->bodies_seen[0].data.get(), whole.get());
  ASSERT_EQ(a->bodies_seen.size(), 1u);
  EXPECT_EQ(a->bodies_seen[0].data.get(), whole.get());
  ASSERT_EQ(owner_.bodies.size(), 1u);
  EXPECT_EQ(owner_.bodies[0].data.get(), whole.get());
  EXPECT_TRUE(owner_.bodies[0].end);
}

TEST_F(FilterChainTest, StopAndBufferAtExactlyTheLimitStillBuffers) {
  FakeFilter* b = add("b", etagOnWholeBody(6));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  chain_->sendBody(piece("def", true));
  ASSERT_EQ(b->bodies_seen.size(), 1u);
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_FALSE(owner_.heads[0].head.released);
  EXPECT_NE(owner_.heads[0].head.headers.find("ETag"), nullptr);
  EXPECT_EQ(owner_.bodyBytes(), "abcdef");
}

TEST_F(FilterChainTest, StopAndBufferOverTheLimitReleasesTheResponseUnchanged) {
  FakeFilter* a = add("a");
  FakeFilter* b = add("b", etagOnWholeBody(4));
  FakeFilter* c = add("c");
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  EXPECT_TRUE(owner_.heads.empty());
  EXPECT_TRUE(chain_->holdingResponse());
  chain_->sendBody(piece("def"));  // 6 > 4: released
  EXPECT_FALSE(chain_->holdingResponse());
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_TRUE(owner_.heads[0].head.released);
  EXPECT_FALSE(owner_.heads[0].end);
  EXPECT_EQ(owner_.heads[0].head.headers.find("ETag"), nullptr);  // unchanged
  ASSERT_EQ(a->heads_seen.size(), 1u);
  EXPECT_TRUE(a->heads_seen[0].released);
  EXPECT_EQ(owner_.bodyBytes(), "abcdef");
  EXPECT_FALSE(chain_->responseEnded());

  chain_->sendBody(piece("gh"));
  chain_->sendBody(piece("i", true));
  EXPECT_EQ(owner_.bodyBytes(), "abcdefghi");
  ASSERT_FALSE(owner_.bodies.empty());
  EXPECT_EQ(describe(owner_.bodies.back()), "[i] end");
  EXPECT_EQ(describe(owner_.bodies[owner_.bodies.size() - 2]), "[gh]");
  EXPECT_TRUE(chain_->responseEnded());
  EXPECT_EQ(a->bodyBytes(), "abcdefghi");
  EXPECT_EQ(c->bodyBytes(), "abcdefghi");
  EXPECT_TRUE(b->bodies_seen.empty());  // released: its body hook is skipped
  EXPECT_EQ(countOf("b:body"), 0u);
}

TEST_F(FilterChainTest, ReleaseOnTheLastPieceSendsItAllWithEnd) {
  FakeFilter* b = add("b", etagOnWholeBody(2));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("ab"));
  chain_->sendBody(piece("cd", true));
  EXPECT_TRUE(b->bodies_seen.empty());
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_TRUE(owner_.heads[0].head.released);
  EXPECT_EQ(owner_.bodyBytes(), "abcd");
  ASSERT_FALSE(owner_.bodies.empty());
  EXPECT_TRUE(owner_.bodies.back().end);
  EXPECT_TRUE(chain_->responseEnded());
}

// Two filters buffer: the outer one (later in the chain, first on the way out) outgrows its
// limit first, then the inner one outgrows its own. Neither body hook may run afterwards.
TEST_F(FilterChainTest, TwoHoldersThatBothOutgrowTheirLimitsAreBothSkipped) {
  FakeFilter* a = add("a");
  FakeFilter* b = add("b", etagOnWholeBody(8));
  FakeFilter* c = add("c", etagOnWholeBody(4));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abcde"));  // c releases; b starts holding
  EXPECT_TRUE(owner_.heads.empty());
  chain_->sendBody(piece("fghij"));  // b releases
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_TRUE(owner_.heads[0].head.released);
  EXPECT_EQ(owner_.bodyBytes(), "abcdefghij");
  chain_->sendBody(piece("k", true));
  EXPECT_EQ(owner_.bodyBytes(), "abcdefghijk");
  EXPECT_TRUE(chain_->responseEnded());
  EXPECT_EQ(a->bodyBytes(), "abcdefghijk");
  EXPECT_TRUE(b->bodies_seen.empty());
  EXPECT_TRUE(c->bodies_seen.empty())
      << "c released its hold but its body hook ran on " << describe(c->bodies_seen.front());
}

TEST_F(FilterChainTest, OuterReleaseThenInnerHolderBuffersTheWholeBody) {
  add("a");
  FakeFilter* b = add("b", etagOnWholeBody(100));
  FakeFilter* c = add("c", etagOnWholeBody(2));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  chain_->sendBody(piece("def", true));
  EXPECT_TRUE(c->bodies_seen.empty());
  ASSERT_EQ(b->bodies_seen.size(), 1u);
  EXPECT_EQ(describe(b->bodies_seen[0]), "[abcdef] end");
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_NE(owner_.heads[0].head.headers.find("ETag"), nullptr);
  EXPECT_EQ(owner_.bodyBytes(), "abcdef");
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, StopAtTheWholeBodyThenContinueResponse) {
  FakeFilter* a = add("a");
  FakeFilter* b = add("b");
  FakeFilter* c = add("c", {.headers = [](FilterCallbacks&, ResponseHead&,
                                          bool&) { return FilterStatus::StopAndBuffer; },
                            .body =
                                [](FilterCallbacks& cb, BodyPiece&) {
                                  cb.post([&cb] {
                                    cb.heldResponse().headers.set("Digest", "later");
                                    cb.continueResponse();
                                  });
                                  return FilterStatus::Stop;
                                },
                            .limit = 100});
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  chain_->sendBody(piece("def", true));
  EXPECT_EQ(events_, (Events{"c:head 200", "c:body [abcdef] end"}));
  EXPECT_TRUE(chain_->holdingResponse());

  EXPECT_EQ(owner_.runPosted(), 1u);
  EXPECT_EQ(events_, (Events{"c:head 200", "c:body [abcdef] end", "b:head 200", "a:head 200",
                             "writer:head 200", "b:body [abcdef] end", "a:body [abcdef] end",
                             "writer:body [abcdef] end"}));
  EXPECT_EQ(c->bodies_seen.size(), 1u);  // not again
  EXPECT_EQ(b->bodies_seen.size(), 1u);
  EXPECT_EQ(a->bodies_seen.size(), 1u);
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_NE(owner_.heads[0].head.headers.find("Digest"), nullptr);
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, StopAndBufferOnAHeadThatEndsTheResponseDoesNotHold) {
  FakeFilter* b = add("b", etagOnWholeBody(100));
  chain_->sendHeaders(makeHead(204), true);
  EXPECT_FALSE(chain_->holdingResponse());
  EXPECT_EQ(events_, (Events{"b:head 204 end", "writer:head 204 end"}));
  EXPECT_TRUE(b->bodies_seen.empty());
  EXPECT_TRUE(chain_->responseEnded());
}

// ---- early end, flush, empty pieces ------------------------------------------------------------

Script notModified() {
  return Script{.headers = [](FilterCallbacks&, ResponseHead& head, bool& end) {
    head.status = 304;
    head.content_length = 0;
    end = true;
    return FilterStatus::Continue;
  }};
}

TEST_F(FilterChainTest, EarlyEndAtTheHeadDropsTheRestOfTheBody) {
  FakeFilter* a = add("a");
  add("b", notModified());
  FakeFilter* c = add("c");
  chain_->sendHeaders(makeHead(200), false);
  EXPECT_TRUE(chain_->responseEnded());
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_EQ(owner_.heads[0].head.status, 304);
  EXPECT_TRUE(owner_.heads[0].end);
  chain_->sendBody(piece("body"));
  chain_->sendBody(piece("more", true));
  EXPECT_TRUE(owner_.bodies.empty());
  EXPECT_TRUE(a->bodies_seen.empty());
  EXPECT_TRUE(c->bodies_seen.empty());
  EXPECT_EQ(events_, (Events{"c:head 200", "b:head 200", "a:head 304 end", "writer:head 304 end"}));
}

TEST_F(FilterChainTest, EarlyEndAfterTheWholeBodyIsHeldDropsTheBufferedBody) {
  // The usual pair: one filter computes an ETag over the whole body, a later one answers the
  // client's If-None-Match with a 304.
  FakeFilter* a = add("a", {.headers = [](FilterCallbacks&, ResponseHead& head, bool& end) {
                        if (head.headers.find("ETag") != nullptr) {
                          head.status = 304;
                          end = true;
                        }
                        return FilterStatus::Continue;
                      }});
  add("b", etagOnWholeBody(100));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc", true));
  EXPECT_EQ(events_,
            (Events{"b:head 200", "b:body [abc] end", "a:head 200", "writer:head 304 end"}));
  EXPECT_TRUE(a->bodies_seen.empty());
  EXPECT_TRUE(owner_.bodies.empty());
  EXPECT_TRUE(chain_->responseEnded());
}

TEST_F(FilterChainTest, FlushPiecesPassThroughAndEmptyPiecesDoNot) {
  add("a");
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("x"));
  chain_->sendBody(flushPiece());
  chain_->sendBody(BodyPiece{});                         // nothing at all
  chain_->sendBody(BodyPiece{bytes(""), false, false});  // empty data
  EXPECT_EQ(owner_.bodies.size(), 2u);
  ASSERT_GE(owner_.bodies.size(), 2u);
  EXPECT_TRUE(owner_.bodies[1].flush);
  EXPECT_EQ(owner_.bodies[1].size(), 0u);
  EXPECT_FALSE(chain_->responseEnded());
  chain_->sendBody(endPiece());  // an empty end piece is written: it carries the end
  ASSERT_EQ(owner_.bodies.size(), 3u);
  EXPECT_TRUE(owner_.bodies[2].end);
  EXPECT_TRUE(chain_->responseEnded());
  EXPECT_EQ(countOf("writer:body"), 3u);
}

// ---- destruction mid-call ----------------------------------------------------------------------

TEST_F(FilterChainTest, FilterDestroysTheChainInOnRequestHeaders) {
  add("a");
  add("b", {.request = [this](FilterCallbacks&, http::RequestHead&) {
        chain_.reset();
        return FilterStatus::Continue;
      }});
  add("c");
  chain_->startRequest(request_);
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"a:request", "b:request"}));
  EXPECT_EQ(owner_.done_count, 0);
}

TEST_F(FilterChainTest, FilterDestroysTheChainInOnResponseHeaders) {
  add("a");
  add("b", {.headers = [this](FilterCallbacks&, ResponseHead&, bool&) {
        chain_.reset();
        return FilterStatus::Continue;
      }});
  add("c");
  chain_->sendHeaders(makeHead(200), false);
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"c:head 200", "b:head 200"}));
  EXPECT_TRUE(owner_.heads.empty());
}

TEST_F(FilterChainTest, FilterDestroysTheChainInOnResponseBody) {
  add("a");
  add("b", {.body = [this](FilterCallbacks&, BodyPiece&) {
        chain_.reset();
        return FilterStatus::Continue;
      }});
  add("c");
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("x"));
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"c:head 200", "b:head 200", "a:head 200", "writer:head 200",
                             "c:body [x]", "b:body [x]"}));
  EXPECT_TRUE(owner_.bodies.empty());
}

TEST_F(FilterChainTest, HolderDestroysTheChainInOnResponseBodyWithTheWholeBody) {
  add("a");
  add("b", {.headers = [](FilterCallbacks&, ResponseHead&,
                          bool&) { return FilterStatus::StopAndBuffer; },
            .body =
                [this](FilterCallbacks&, BodyPiece&) {
                  chain_.reset();
                  return FilterStatus::Continue;
                },
            .limit = 100});
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("ab"));
  chain_->sendBody(piece("cd", true));
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"b:head 200", "b:body [abcd] end"}));
}

TEST_F(FilterChainTest, OwnerDestroysTheChainInWriteHead) {
  add("a");
  add("b");
  owner_.on_head = [this] { chain_.reset(); };
  chain_->sendHeaders(makeHead(200), false);
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"b:head 200", "a:head 200", "writer:head 200"}));
}

TEST_F(FilterChainTest, OwnerDestroysTheChainInWriteHeadOfARespond) {
  add("a");
  add("b", {.request = [](FilterCallbacks& cb, http::RequestHead&) {
        cb.respond(makeHead(403), bytes("denied"));
        return FilterStatus::Continue;
      }});
  add("c");
  owner_.on_head = [this] { chain_.reset(); };
  chain_->startRequest(request_);
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "a:head 403", "writer:head 403"}));
  EXPECT_EQ(owner_.done_count, 0);
}

TEST_F(FilterChainTest, OwnerDestroysTheChainInWriteHeadAfterTheWholeBody) {
  add("a");
  add("b", etagOnWholeBody(100));
  owner_.on_head = [this] { chain_.reset(); };
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc", true));
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"b:head 200", "b:body [abc] end", "a:head 200", "writer:head 200"}));
}

TEST_F(FilterChainTest, OwnerDestroysTheChainInWriteHeadOfARelease) {
  add("a");
  add("b", etagOnWholeBody(2));
  owner_.on_head = [this] { chain_.reset(); };
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"b:head 200", "a:head 200", "writer:head 200"}));
  EXPECT_TRUE(owner_.bodies.empty());
}

TEST_F(FilterChainTest, OwnerDestroysTheChainInWriteHeadOfAContinueResponse) {
  add("a");
  add("b", {.headers = [](FilterCallbacks& cb, ResponseHead&, bool&) {
        cb.post([&cb] { cb.continueResponse(); });
        return FilterStatus::Stop;
      }});
  owner_.on_head = [this] { chain_.reset(); };
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc", true));
  EXPECT_EQ(owner_.runPosted(), 1u);
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"b:head 200", "a:head 200", "writer:head 200"}));
  EXPECT_TRUE(owner_.bodies.empty());
}

TEST_F(FilterChainTest, OwnerDestroysTheChainInWriteBody) {
  add("a");
  add("b", etagOnWholeBody(2));
  owner_.on_body = [this] { chain_.reset(); };
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));  // released: head, then the held bytes
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"b:head 200", "a:head 200", "writer:head 200", "a:body [abc]",
                             "writer:body [abc]"}));
}

TEST_F(FilterChainTest, OwnerDestroysTheChainInOnRequestFiltersDoneFromContinueRequest) {
  FakeFilter* a = add(
      "a", {.request = [](FilterCallbacks&, http::RequestHead&) { return FilterStatus::Stop; }});
  add("b");
  owner_.on_done = [this] { chain_.reset(); };
  chain_->startRequest(request_);
  a->cb().continueRequest();
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"a:request", "b:request", "owner:done"}));
}

TEST_F(FilterChainTest, FilterDestroysTheChainInOnLog) {
  add("a", {.log = [this](FilterCallbacks&, const RequestContext&) { chain_.reset(); }});
  add("b");
  chain_->log();
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_, (Events{"a:log"}));
}

// ---- resetStream -------------------------------------------------------------------------------

TEST_F(FilterChainTest, ResetStreamInABodyHookStopsEverything) {
  FakeFilter* a = add("a");
  add("b", {.body = [](FilterCallbacks& cb, BodyPiece&) {
        cb.resetStream(ErrorKind::EncodingFailed);
        return FilterStatus::Continue;
      }});
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  ASSERT_EQ(owner_.resets.size(), 1u);
  EXPECT_EQ(owner_.resets[0], ErrorKind::EncodingFailed);
  EXPECT_EQ(context_.error, ErrorKind::EncodingFailed);
  EXPECT_TRUE(a->bodies_seen.empty());
  EXPECT_TRUE(owner_.bodies.empty());
  chain_->sendBody(piece("def", true));
  EXPECT_TRUE(owner_.bodies.empty());
  EXPECT_FALSE(chain_->responseEnded());  // cut off: it must never look complete
  EXPECT_EQ(events_,
            (Events{"b:head 200", "a:head 200", "writer:head 200", "b:body [abc]", "owner:reset"}));
}

TEST_F(FilterChainTest, ResetStreamOnTheWholeBodyWritesNothing) {
  add("a");
  add("b", {.headers = [](FilterCallbacks&, ResponseHead&,
                          bool&) { return FilterStatus::StopAndBuffer; },
            .body =
                [](FilterCallbacks& cb, BodyPiece&) {
                  cb.resetStream(ErrorKind::EncodingFailed);
                  return FilterStatus::Continue;
                },
            .limit = 100});
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc", true));
  EXPECT_EQ(events_, (Events{"b:head 200", "b:body [abc] end", "owner:reset"}));
  EXPECT_EQ(context_.error, ErrorKind::EncodingFailed);
}

TEST_F(FilterChainTest, ResetStreamOnTheRequestSideStopsIt) {
  add("a", {.request = [](FilterCallbacks& cb, http::RequestHead&) {
        cb.resetStream(ErrorKind::BadRequest);
        return FilterStatus::Continue;
      }});
  add("b");
  chain_->startRequest(request_);
  EXPECT_EQ(events_, (Events{"a:request", "owner:reset"}));
  EXPECT_EQ(owner_.done_count, 0);
}

TEST_F(FilterChainTest, OwnerDestroysTheChainInResetStream) {
  add("a");
  add("b", {.body = [](FilterCallbacks& cb, BodyPiece&) {
        cb.resetStream(ErrorKind::EncodingFailed);
        return FilterStatus::Continue;
      }});
  owner_.on_reset = [this] { chain_.reset(); };
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  EXPECT_EQ(chain_, nullptr);
  EXPECT_EQ(events_.back(), "owner:reset");
}

// chain.h: after a reset "nothing more goes anywhere" -- also not a head that a filter was
// holding when another filter reset the stream.
TEST_F(FilterChainTest, ResetStreamWhileAnotherFilterHoldsTheHead) {
  FakeFilter* a = add(
      "a", {.headers = [](FilterCallbacks&, ResponseHead&, bool&) { return FilterStatus::Stop; }});
  add("b", {.body = [](FilterCallbacks& cb, BodyPiece&) {
        cb.resetStream(ErrorKind::EncodingFailed);
        return FilterStatus::Continue;
      }});
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  ASSERT_EQ(owner_.resets.size(), 1u);
  a->cb().continueResponse();  // a's wait ends after the reset
  EXPECT_TRUE(owner_.heads.empty());
  EXPECT_TRUE(owner_.bodies.empty());
  EXPECT_FALSE(chain_->headWritten());
  EXPECT_EQ(events_, (Events{"b:head 200", "a:head 200", "b:body [abc]", "owner:reset"}));
}

// The same with a filter between the holder and the writer: its head hook must not run either.
TEST_F(FilterChainTest, ResetStreamWhileAnotherFilterHoldsTheHeadRunsNoMoreHooks) {
  add("a");
  FakeFilter* b = add(
      "b", {.headers = [](FilterCallbacks&, ResponseHead&, bool&) { return FilterStatus::Stop; }});
  add("c", {.body = [](FilterCallbacks& cb, BodyPiece&) {
        cb.resetStream(ErrorKind::EncodingFailed);
        return FilterStatus::Continue;
      }});
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  ASSERT_EQ(owner_.resets.size(), 1u);
  b->cb().continueResponse();
  EXPECT_TRUE(owner_.heads.empty());
  EXPECT_EQ(events_, (Events{"c:head 200", "b:head 200", "c:body [abc]", "owner:reset"}));
}

// ---- post and the clock ------------------------------------------------------------------------

TEST_F(FilterChainTest, PostRunsOnlyWhenTheQueueRuns) {
  int ran = 0;
  add("a", {.request = [&ran](FilterCallbacks& cb, http::RequestHead&) {
        cb.post([&ran] { ++ran; });
        return FilterStatus::Continue;
      }});
  chain_->startRequest(request_);
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(owner_.queue.size(), 1u);
  EXPECT_EQ(owner_.runPosted(), 1u);
  EXPECT_EQ(ran, 1);
}

TEST_F(FilterChainTest, PostIsDroppedWhenTheChainIsDestroyedFirst) {
  int ran = 0;
  FakeFilter* a = add("a");
  a->cb().post([&ran] { ++ran; });
  chain_.reset();
  EXPECT_EQ(owner_.queue.size(), 1u);  // still queued at the owner
  owner_.runPosted();
  EXPECT_EQ(ran, 0);
}

TEST_F(FilterChainTest, PostedClosureThatDestroysTheChainDropsTheNextOnes) {
  int ran = 0;
  FakeFilter* a = add("a");
  FakeFilter* b = add("b");
  a->cb().post([this, &ran] {
    ++ran;
    chain_.reset();
  });
  b->cb().post([&ran] { ++ran; });
  a->cb().post([&ran] { ++ran; });
  EXPECT_EQ(owner_.runPosted(), 3u);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(chain_, nullptr);
}

TEST_F(FilterChainTest, CallbacksGiveTheContextAndTheOwnersClock) {
  FakeFilter* a = add("a");
  EXPECT_EQ(&a->cb().context(), &context_);
  EXPECT_EQ(a->cb().nowMs(), 1000u);
  owner_.now_ms = 1250;
  EXPECT_EQ(a->cb().nowMs(), 1250u);
}

// ---- dropping a held response ------------------------------------------------------------------

TEST_F(FilterChainTest, DropHeldResponseForgetsWhatAFilterHolds) {
  add("a");
  FakeFilter* b = add("b", {.headers = [](FilterCallbacks&, ResponseHead& head, bool&) {
                        return head.status == 200 ? FilterStatus::Stop : FilterStatus::Continue;
                      }});
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("partial"));
  EXPECT_TRUE(chain_->holdingResponse());
  chain_->dropHeldResponse();
  EXPECT_FALSE(chain_->holdingResponse());
  b->cb().continueResponse();  // nothing held any more
  chain_->sendBody(piece("rest", true));
  EXPECT_TRUE(owner_.heads.empty());
  EXPECT_TRUE(owner_.bodies.empty());
  EXPECT_FALSE(chain_->headWritten());
  EXPECT_EQ(events_, (Events{"b:head 200"}));
}

TEST_F(FilterChainTest, DropHeldResponseOfABufferingFilter) {
  add("a");
  FakeFilter* b = add("b", etagOnWholeBody(100));
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("abc"));
  EXPECT_TRUE(chain_->holdingResponse());
  chain_->dropHeldResponse();
  EXPECT_FALSE(chain_->holdingResponse());
  chain_->sendBody(piece("def", true));
  EXPECT_TRUE(b->bodies_seen.empty());
  EXPECT_TRUE(owner_.heads.empty());
  EXPECT_TRUE(owner_.bodies.empty());
}

TEST_F(FilterChainTest, DropHeldResponseLetsAHeadOnlyReplacementGoOut) {
  add("a");
  add("b", {.headers = [](FilterCallbacks&, ResponseHead& head, bool&) {
        return head.status == 200 ? FilterStatus::Stop : FilterStatus::Continue;
      }});
  chain_->sendHeaders(makeHead(200), false);
  chain_->dropHeldResponse();
  chain_->sendHeaders(makeHead(502), true);
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_EQ(owner_.heads[0].head.status, 502);
  EXPECT_TRUE(owner_.heads[0].end);
  EXPECT_TRUE(chain_->responseEnded());
}

// "Forgets a held response so another can be sent in its place": a replacement with a body.
TEST_F(FilterChainTest, DropHeldResponseLetsAReplacementWithABodyGoOut) {
  add("a");
  add("b", {.headers = [](FilterCallbacks&, ResponseHead& head, bool&) {
        return head.status == 200 ? FilterStatus::Stop : FilterStatus::Continue;
      }});
  chain_->sendHeaders(makeHead(200), false);
  chain_->sendBody(piece("partial"));
  ASSERT_TRUE(chain_->holdingResponse());
  chain_->dropHeldResponse();
  chain_->sendHeaders(makeHead(502), false);
  chain_->sendBody(piece("bad gateway", true));
  ASSERT_EQ(owner_.heads.size(), 1u);
  EXPECT_EQ(owner_.heads[0].head.status, 502);
  EXPECT_EQ(owner_.bodyBytes(), "bad gateway");
  EXPECT_TRUE(chain_->responseEnded());
}

// ---- log ---------------------------------------------------------------------------------------

TEST_F(FilterChainTest, LogCallsEveryFilterOnceEvenIfCalledTwice) {
  FakeFilter* a = add("a");
  FakeFilter* b = add("b");
  FakeFilter* c = add("c");
  chain_->log();
  chain_->log();
  EXPECT_EQ(events_, (Events{"a:log", "b:log", "c:log"}));
  EXPECT_EQ(a->logged_context, &context_);
  EXPECT_EQ(b->logged_context, &context_);
  EXPECT_EQ(c->logged_context, &context_);
}

// ---- where the filters live -------------------------------------------------------------------

// Records where it was made and when it dies; N bytes of payload decide where it fits.
template <size_t N>
class SizedFilter : public Filter {
 public:
  SizedFilter(std::vector<const void*>& made, int& destroyed) : destroyed_(destroyed) {
    made.push_back(this);
  }
  ~SizedFilter() override { ++destroyed_; }

 private:
  int& destroyed_;
  char payload_[N] = {};
};

TEST(FilterChainStorage, EmplacedFiltersLiveInTheChainUnlessTooLargeAndDieWithIt) {
  Events events;
  FakeOwner owner(events);
  RequestContext context;
  std::vector<const void*> made;
  int destroyed = 0;
  auto chain = std::make_unique<FilterChain>(context, owner);
  chain->emplace<SizedFilter<16>>(made, destroyed);
  chain->emplace<SizedFilter<4096>>(made, destroyed);  // larger than the chain's storage
  chain->emplace<SizedFilter<16>>(made, destroyed);
  ASSERT_EQ(made.size(), 3u);
  EXPECT_EQ(chain->size(), 3u);
  auto inside = [&chain](const void* p) {
    const char* begin = reinterpret_cast<const char*>(chain.get());
    const char* at = static_cast<const char*>(p);
    return at >= begin && at < begin + sizeof(FilterChain);
  };
  EXPECT_TRUE(inside(made[0]));
  EXPECT_FALSE(inside(made[1]));
  EXPECT_TRUE(inside(made[2]));

  http::RequestHead head;
  head.method = "GET";
  chain->startRequest(head);
  EXPECT_EQ(owner.done_count, 1);  // every filter ran and continued
  chain.reset();
  EXPECT_EQ(destroyed, 3);
}

}  // namespace
}  // namespace edge::filters
