// A fake Stream for the tests that drive a FilterChain: it records what reaches the writer and
// what the chain and its filters ask of it (local replies, failures, cache fetches, timers) in
// an event list, and runs nothing on its own: posted closures and timers wait until the test
// runs them, so every test decides exactly when "later" is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filters/chain/chain.h"

namespace edge::filters::test_support {

using Events = std::vector<std::string>;

inline cache::Body bytes(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

inline std::string describe(const BodyPiece& body) {
  std::string text = "[" + (body.data ? *body.data : std::string()) + "]";
  if (body.end) {
    text += " end";
  }
  if (body.flush) {
    text += " flush";
  }
  return text;
}

inline std::string describe(const ResponseHead& head, bool end) {
  return std::to_string(head.status) + (end ? " end" : "");
}

struct WrittenHead {
  ResponseHead head;
  bool end = false;
};

struct LocalReply {
  int status = 0;
  std::string reason;
  bool close = false;
};

struct FailedResponse {
  int status = 0;
  std::string reason;
};

struct RecordedFetch {
  CacheFetchRequest request;
  FetchLeader* leader = nullptr;
};

// One timer of the owner's. It fires only when the test fires it; cancelling or dropping its
// handle disarms it.
struct FakeTimer {
  uint64_t ms = 0;
  std::function<void()> fn;
  bool cancelled = false;  // cancel() was called, or the handle was dropped
  bool dropped = false;    // the handle was destroyed
};

class FakeTimerHandle : public Cancellable {
 public:
  explicit FakeTimerHandle(std::shared_ptr<FakeTimer> timer) : timer_(std::move(timer)) {}
  ~FakeTimerHandle() override {
    timer_->cancelled = true;
    timer_->dropped = true;
  }
  void cancel() override { timer_->cancelled = true; }

 private:
  std::shared_ptr<FakeTimer> timer_;
};

// Runs what `queue` holds, including what that queues, in order (a fake dispatcher's turn).
// Returns how many ran.
inline size_t runQueued(std::vector<std::function<void()>>& queue) {
  size_t ran = 0;
  while (!queue.empty()) {
    std::vector<std::function<void()>> batch = std::move(queue);
    queue.clear();
    for (std::function<void()>& fn : batch) {
      fn();
      ++ran;
    }
  }
  return ran;
}

class FakeOwner : public ChainOwner {
 public:
  explicit FakeOwner(Events& events) : events_(events) {}

  void onRequestFiltersDone() override {
    ++done_count;
    events_.push_back("owner:done");
    if (on_done) {
      on_done();
    }
  }
  void writeHead(ResponseHead& head, bool end) override {
    heads.push_back({head, end});
    events_.push_back("writer:head " + describe(head, end));
    response_done = response_done || end;
    if (on_head) {
      on_head();
    }
  }
  void writeBody(BodyPiece& body) override {
    bodies.push_back(body);
    events_.push_back("writer:body " + describe(body));
    response_done = response_done || body.end;
    if (on_body) {
      on_body();
    }
  }
  void localReply(int status, std::string_view reason, bool close,
                  std::string_view /*extra_header_lines*/) override {
    local_replies.push_back({status, std::string(reason), close});
    response_done = true;
    events_.push_back("owner:local " + std::to_string(status) + " " + std::string(reason) +
                      (close ? " close" : ""));
  }
  void sendContinue() override { events_.push_back("owner:continue"); }
  void resetStream(ErrorKind kind) override {
    resets.push_back(kind);
    response_done = true;
    events_.push_back("owner:reset");
    if (on_reset) {
      on_reset();
    }
  }
  void post(std::function<void()> fn) override { queue.push_back(std::move(fn)); }
  uint64_t nowMs() const override { return now_ms; }
  std::unique_ptr<Cancellable> startTimer(uint64_t ms, std::function<void()> fn) override {
    events_.push_back("owner:timer " + std::to_string(ms));
    auto timer = std::make_shared<FakeTimer>();
    timer->ms = ms;
    timer->fn = std::move(fn);
    timers.push_back(timer);
    return std::make_unique<FakeTimerHandle>(std::move(timer));
  }
  void failResponse(int status, std::string_view reason) override {
    failures.push_back({status, std::string(reason)});
    response_done = true;
    events_.push_back("owner:fail " + std::to_string(status) + " " + std::string(reason));
  }
  void startCacheFetch(CacheFetchRequest&& request, FetchLeader* leader) override {
    fetches.push_back({std::move(request), leader});
    events_.push_back(leader != nullptr ? "owner:fetch lead" : "owner:fetch");
  }
  // As the Stream's: over once the writer has the end, or after a local reply, a failure or
  // a reset.
  bool responseDone() const override { return response_done; }

  // Runs the posted closures, including the ones they post, in order. Returns how many ran.
  size_t runPosted() { return runQueued(queue); }

  // Fires timer `index` as the worker would: only while it is armed, and once. Returns whether
  // it ran. The callback is a copy: it may start other timers (and so grow `timers`).
  bool fireTimer(size_t index) {
    std::shared_ptr<FakeTimer> timer = timers.at(index);
    if (timer->cancelled) {
      return false;
    }
    timer->cancelled = true;
    std::function<void()> fn = timer->fn;
    fn();
    return true;
  }

  std::string bodyBytes() const {
    std::string all;
    for (const BodyPiece& body : bodies) {
      if (body.data) {
        all += *body.data;
      }
    }
    return all;
  }

  int done_count = 0;
  std::vector<WrittenHead> heads;
  std::vector<BodyPiece> bodies;
  std::vector<ErrorKind> resets;
  std::vector<LocalReply> local_replies;
  std::vector<FailedResponse> failures;
  std::vector<RecordedFetch> fetches;
  std::vector<std::function<void()>> queue;
  std::vector<std::shared_ptr<FakeTimer>> timers;
  bool response_done = false;
  uint64_t now_ms = 1000;
  std::function<void()> on_done;
  std::function<void()> on_head;
  std::function<void()> on_body;
  std::function<void()> on_reset;

 private:
  Events& events_;
};

}  // namespace edge::filters::test_support
