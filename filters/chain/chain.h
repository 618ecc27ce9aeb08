// Runs one request's filters: the request side in order, then the Stream's lookup or upstream
// step, the response side in reverse order into the Stream's writer. Holds what a stopped
// filter holds (the head, the buffered body) and resumes when the filter says so. Destroying
// the chain (even from inside a filter or writer call) stops every iteration and drops every
// posted callback of its filters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "filters/chain/filter.h"

namespace edge::filters {

// The Stream, as the chain sees it: the step after the request filters, the writer after the
// response filters, and the actions the filters' callbacks pass on.
class ChainOwner : public StreamActions {
 public:
  // Every request filter continued: look up the cache or go upstream.
  virtual void onRequestFiltersDone() = 0;
  virtual void writeHead(ResponseHead& head, bool end) = 0;
  virtual void writeBody(BodyPiece& piece) = 0;
};

class FilterChain {
 public:
  FilterChain(RequestContext& context, ChainOwner& owner);
  ~FilterChain();
  FilterChain(const FilterChain&) = delete;
  FilterChain& operator=(const FilterChain&) = delete;

  // Room for `count` filters, so adding them allocates once.
  void reserve(size_t count);
  void add(std::unique_ptr<Filter> filter);
  // Makes a filter in the chain's own storage when it fits there (a request's filters then
  // cost no allocation of their own), else on the heap.
  template <typename T, typename... Args>
  void emplace(Args&&... args) {
    if (void* place = arenaFor(sizeof(T), alignof(T))) {
      addPlaced(new (place) T(std::forward<Args>(args)...));
    } else {
      add(std::make_unique<T>(std::forward<Args>(args)...));
    }
  }
  size_t size() const;

  // Request side. Calls owner.onRequestFiltersDone() (inline, or later after a Stop) unless a
  // filter answered the request itself.
  void startRequest(http::RequestHead& head);
  // A piece of the request body: true when a filter owns the request (it stopped at the
  // head) and took the piece; false when the body goes upstream as usual.
  bool sendRequestBody(BodyPiece piece);
  // The response from the Stream's source (cache, fetch, upstream or the proxy itself): it runs
  // through every filter, last to first, then to the writer.
  void sendHeaders(ResponseHead&& head, bool end);
  void sendBody(BodyPiece piece);
  // True once the writer has the response's end, or a filter ended it early (a 304): the
  // source may stop sending.
  bool responseEnded() const { return response_ended_; }
  // True once a response head entered the chain (from the Stream or a filter) and was not
  // dropped since.
  bool responseEntered() const { return response_entered_; }
  // True once any response head reached the writer.
  bool headWritten() const { return head_written_; }
  // True while a filter holds the response and nothing has reached the writer: the response
  // may still be replaced (a clean error instead of a cut-off body).
  bool requestOwnedByFilter() const { return request_stopped_; }
  bool holdingResponse() const { return held_ >= 0 && !head_written_; }
  // Forgets a held response (and what was buffered for it) so another can be sent in its place.
  void dropHeldResponse();
  // The log phase, once.
  void log();

 private:
  class Slot;
  enum class Hold { None, Stop, Buffer };

  void* arenaFor(size_t size, size_t align);
  void addPlaced(Filter* filter);
  void runRequestFrom(size_t index);
  // Response side: `from` is the index of the first filter to see it; -1 is the writer.
  void startResponse(ptrdiff_t from, ResponseHead&& head, bool end);
  void respondFrom(ptrdiff_t from, ResponseHead&& head, cache::Body body);
  void runHeadersFrom(ptrdiff_t from, bool end);
  void runBodyFrom(ptrdiff_t from, BodyPiece& piece);
  void hold(BodyPiece& piece);
  void resumeResponse(ptrdiff_t index);
  void releaseHeld();
  BodyPiece takeBuffered();

  RequestContext& context_;
  ChainOwner& owner_;
  // Storage for the filters made by emplace(); they are destroyed by their slots, before it.
  alignas(std::max_align_t) std::byte arena_[768];  // the routed chain takes about 520
  size_t arena_used_ = 0;
  std::vector<Slot> slots_;  // inline: a request's chain allocates once for its slots
  std::shared_ptr<bool> alive_;
  http::RequestHead* request_ = nullptr;
  size_t request_stopped_at_ = 0;
  bool request_stopped_ = false;
  bool request_answered_ = false;

  ResponseHead head_;             // the response head while it travels or is held
  bool head_end_ = false;
  ptrdiff_t entered_at_ = -1;     // the first filter of the current response
  ptrdiff_t held_ = -1;           // the filter holding the response, or -1
  Hold hold_ = Hold::None;
  bool held_saw_body_ = false;    // the holder stopped after its buffered body, not at the head
  std::vector<cache::Body> buffered_;  // body pieces that arrived while held
  uint64_t buffered_bytes_ = 0;
  bool buffered_end_ = false;
  bool reset_ = false;            // a filter reset the stream: nothing more goes anywhere
  bool cut_ = false;              // a filter ended the response early (or it was dropped)
  bool response_entered_ = false;
  bool head_written_ = false;
  bool response_ended_ = false;
  bool logged_ = false;
};

}  // namespace edge::filters
