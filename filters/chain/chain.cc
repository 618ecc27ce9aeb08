#include "filters/chain/chain.h"

#include <utility>

namespace edge::filters {

// One filter in its place, and the callbacks it gets: they act on the chain at this position.
class FilterChain::Slot : public FilterCallbacks {
 public:
  // `on_heap`: the slot deletes the filter; otherwise it lives in the chain's own storage and
  // the slot only destroys it.
  Slot(FilterChain& chain, ptrdiff_t index, Filter* filter, bool on_heap)
      : chain_(chain), index_(index), filter_(filter), on_heap_(on_heap) {
    filter_->setCallbacks(*this);
  }
  // Slots live inline in the chain's vector: a move (only while filters are added, before any
  // call) points the filter at its callbacks' new place.
  Slot(Slot&& other) noexcept
      : chain_(other.chain_),
        index_(other.index_),
        filter_(std::exchange(other.filter_, nullptr)),
        on_heap_(other.on_heap_),
        bypassed(other.bypassed) {
    filter_->setCallbacks(*this);
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  Slot& operator=(Slot&&) = delete;
  ~Slot() override {
    if (filter_ == nullptr) {
      return;
    }
    if (on_heap_) {
      delete filter_;
    } else {
      filter_->~Filter();
    }
  }

  Filter& filter() { return *filter_; }

  RequestContext& context() override { return chain_.context_; }
  void continueRequest() override {
    if (chain_.request_stopped_ && chain_.request_stopped_at_ == static_cast<size_t>(index_)) {
      chain_.request_stopped_ = false;
      chain_.runRequestFrom(static_cast<size_t>(index_) + 1);
    }
  }
  void continueResponse() override { chain_.resumeResponse(index_); }
  ResponseHead& heldResponse() override { return chain_.head_; }
  void respond(ResponseHead&& head, cache::Body body) override {
    chain_.request_answered_ = true;
    chain_.request_stopped_ = false;
    chain_.respondFrom(index_ - 1, std::move(head), std::move(body));
  }
  void sendResponseHeaders(ResponseHead&& head, bool end) override {
    chain_.request_answered_ = true;
    chain_.request_stopped_ = false;
    chain_.startResponse(index_ - 1, std::move(head), end);
  }
  void sendResponseBody(BodyPiece piece) override { chain_.sendBody(std::move(piece)); }
  void localReply(int status, std::string_view reason, bool close,
                  std::string_view extra_header_lines) override {
    chain_.request_answered_ = true;
    chain_.owner_.localReply(status, reason, close, extra_header_lines);
  }
  void sendContinue() override { chain_.owner_.sendContinue(); }
  void resetStream(ErrorKind kind) override {
    chain_.cut_ = true;
    chain_.reset_ = true;
    chain_.context_.error = kind;
    chain_.owner_.resetStream(kind);
  }
  void post(std::function<void()> fn) override {
    std::weak_ptr<bool> alive = chain_.alive_;
    chain_.owner_.post([alive, fn = std::move(fn)] {
      if (std::shared_ptr<bool> still = alive.lock(); still && *still) {
        fn();
      }
    });
  }
  uint64_t nowMs() const override { return chain_.owner_.nowMs(); }
  std::unique_ptr<Cancellable> startTimer(uint64_t ms, std::function<void()> fn) override {
    return chain_.owner_.startTimer(ms, std::move(fn));  // dropped with the filter that holds it
  }
  void failResponse(int status, std::string_view reason) override {
    chain_.owner_.failResponse(status, reason);
  }
  void startCacheFetch(CacheFetchRequest&& request, FetchLeader* leader) override {
    chain_.owner_.startCacheFetch(std::move(request), leader);
  }
  bool responseDone() const override { return chain_.owner_.responseDone(); }

 private:
  FilterChain& chain_;
  const ptrdiff_t index_;
  Filter* filter_;
  bool on_heap_;

 public:
  bool bypassed = false;  // released its hold: its body hook is skipped from now on
};

FilterChain::FilterChain(RequestContext& context, ChainOwner& owner)
    : context_(context), owner_(owner), alive_(std::make_shared<bool>(true)) {}

FilterChain::~FilterChain() { *alive_ = false; }

void FilterChain::reserve(size_t count) { slots_.reserve(count); }

size_t FilterChain::size() const { return slots_.size(); }

void FilterChain::add(std::unique_ptr<Filter> filter) {
  slots_.emplace_back(*this, static_cast<ptrdiff_t>(slots_.size()), filter.release(), true);
}

void FilterChain::addPlaced(Filter* filter) {
  slots_.emplace_back(*this, static_cast<ptrdiff_t>(slots_.size()), filter, false);
}

void* FilterChain::arenaFor(size_t size, size_t align) {
  size_t start = (arena_used_ + align - 1) / align * align;
  if (start + size > sizeof(arena_)) {
    return nullptr;
  }
  arena_used_ = start + size;
  return arena_ + start;
}

void FilterChain::startRequest(http::RequestHead& head) {
  request_ = &head;
  runRequestFrom(0);
}

void FilterChain::runRequestFrom(size_t index) {
  std::shared_ptr<bool> alive = alive_;
  for (size_t i = index; i < slots_.size(); ++i) {
    FilterStatus status = slots_[i].filter().onRequestHeaders(*request_);
    if (!*alive || reset_ || request_answered_) {
      return;
    }
    if (status != FilterStatus::Continue) {
      request_stopped_ = true;
      request_stopped_at_ = i;
      return;
    }
  }
  owner_.onRequestFiltersDone();
}

bool FilterChain::sendRequestBody(BodyPiece piece) {
  if (!request_stopped_) {
    return false;
  }
  slots_[request_stopped_at_].filter().onRequestBody(piece);
  return true;
}

void FilterChain::sendHeaders(ResponseHead&& head, bool end) {
  startResponse(static_cast<ptrdiff_t>(slots_.size()) - 1, std::move(head), end);
}

void FilterChain::startResponse(ptrdiff_t from, ResponseHead&& head, bool end) {
  cut_ = false;  // a new response (after a dropped one)
  response_entered_ = true;
  head_ = std::move(head);
  entered_at_ = from;
  runHeadersFrom(from, end);
}

void FilterChain::sendBody(BodyPiece piece) {
  if (cut_ || reset_ || response_ended_) {
    return;  // a filter ended the response early: the rest of the source's body is dropped
  }
  runBodyFrom(entered_at_, piece);
}

void FilterChain::respondFrom(ptrdiff_t from, ResponseHead&& head, cache::Body body) {
  std::shared_ptr<bool> alive = alive_;
  const bool has_body = body && !body->empty();
  startResponse(from, std::move(head), !has_body);
  if (*alive && has_body) {
    sendBody({std::move(body), true});
  }
}

void FilterChain::runHeadersFrom(ptrdiff_t from, bool end) {
  std::shared_ptr<bool> alive = alive_;
  for (ptrdiff_t i = from; i >= 0; --i) {
    bool filter_end = end;
    FilterStatus status = slots_[static_cast<size_t>(i)].filter().onResponseHeaders(head_,
                                                                                     filter_end);
    if (!*alive || reset_) {
      return;
    }
    if (filter_end && !end) {
      end = true;
      cut_ = true;  // ended early: whatever body still comes is not sent
    }
    if (status == FilterStatus::Stop ||
        (status == FilterStatus::StopAndBuffer && !end)) {
      held_ = i;
      hold_ = status == FilterStatus::Stop ? Hold::Stop : Hold::Buffer;
      held_saw_body_ = false;
      head_end_ = end;
      return;
    }
  }
  head_written_ = true;
  response_ended_ = end;
  owner_.writeHead(head_, end);
}

void FilterChain::runBodyFrom(ptrdiff_t from, BodyPiece& piece) {
  std::shared_ptr<bool> alive = alive_;
  for (ptrdiff_t i = from; i >= 0; --i) {
    if (i == held_) {
      hold(piece);
      return;
    }
    if (slots_[static_cast<size_t>(i)].bypassed) {
      continue;
    }
    slots_[static_cast<size_t>(i)].filter().onResponseBody(piece);
    if (!*alive || reset_) {
      return;
    }
  }
  if (piece.size() == 0 && !piece.end && !piece.flush) {
    return;
  }
  response_ended_ = piece.end;
  owner_.writeBody(piece);
}

// A body piece reached the filter that holds the response.
void FilterChain::hold(BodyPiece& piece) {
  if (piece.size() > 0) {
    buffered_bytes_ += piece.size();
    buffered_.push_back(std::move(piece.data));
  }
  buffered_end_ = buffered_end_ || piece.end;
  if (hold_ != Hold::Buffer) {
    return;  // Stop: kept until the filter resumes
  }
  const ptrdiff_t holder = held_;
  Filter& filter = slots_[static_cast<size_t>(holder)].filter();
  if (buffered_bytes_ > filter.bufferLimit()) {
    releaseHeld();
    return;
  }
  if (!buffered_end_) {
    return;
  }
  std::shared_ptr<bool> alive = alive_;
  BodyPiece whole = takeBuffered();
  FilterStatus status = filter.onResponseBody(whole);
  if (!*alive || reset_) {
    return;
  }
  if (status == FilterStatus::Stop) {
    hold_ = Hold::Stop;  // more work to do before the response goes on: resumed later
    held_saw_body_ = true;
    if (whole.size() > 0) {
      buffered_bytes_ = whole.size();
      buffered_.push_back(std::move(whole.data));
    }
    buffered_end_ = true;
    return;
  }
  held_ = -1;
  hold_ = Hold::None;
  runHeadersFrom(holder - 1, head_end_);
  if (*alive && !reset_ && !cut_) {
    runBodyFrom(holder - 1, whole);
  }
}

// The holder's limit is passed: what it held goes on unchanged, and its body hook is skipped
// from now on.
void FilterChain::releaseHeld() {
  std::shared_ptr<bool> alive = alive_;
  const ptrdiff_t holder = held_;
  held_ = -1;
  hold_ = Hold::None;
  slots_[static_cast<size_t>(holder)].bypassed = true;
  head_.released = true;
  runHeadersFrom(holder - 1, head_end_);
  if (!*alive || reset_ || cut_) {
    return;
  }
  BodyPiece held = takeBuffered();
  runBodyFrom(holder - 1, held);
}

void FilterChain::resumeResponse(ptrdiff_t index) {
  if (held_ != index || hold_ != Hold::Stop || reset_) {
    return;
  }
  std::shared_ptr<bool> alive = alive_;
  held_ = -1;
  hold_ = Hold::None;
  runHeadersFrom(index - 1, head_end_);
  if (!*alive || reset_ || cut_ || (buffered_.empty() && !buffered_end_)) {
    return;
  }
  // A filter stopped at the head has not seen the body yet; one that stopped after its
  // buffered body has.
  BodyPiece held = takeBuffered();
  runBodyFrom(held_saw_body_ ? index - 1 : index, held);
}

BodyPiece FilterChain::takeBuffered() {
  BodyPiece piece;
  piece.end = buffered_end_;
  if (buffered_.size() == 1) {
    piece.data = std::move(buffered_.front());
  } else if (!buffered_.empty()) {
    auto joined = std::make_shared<std::string>();
    joined->reserve(buffered_bytes_);
    for (const cache::Body& part : buffered_) {
      joined->append(*part);
    }
    piece.data = std::move(joined);
  }
  buffered_.clear();
  buffered_bytes_ = 0;
  buffered_end_ = false;
  return piece;
}

void FilterChain::dropHeldResponse() {
  held_ = -1;
  hold_ = Hold::None;
  buffered_.clear();
  buffered_bytes_ = 0;
  buffered_end_ = false;
  for (Slot& slot : slots_) {
    slot.bypassed = false;
  }
  cut_ = true;  // what still comes of the dropped response goes nowhere
  response_entered_ = false;
  response_ended_ = false;
}

void FilterChain::log() {
  if (logged_) {
    return;
  }
  logged_ = true;
  std::shared_ptr<bool> alive = alive_;
  // `alive` first: a filter may have destroyed the chain (and slots_) in its onLog.
  for (size_t i = 0; *alive && i < slots_.size(); ++i) {
    slots_[i].filter().onLog(context_);
  }
}

}  // namespace edge::filters
