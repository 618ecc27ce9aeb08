// Writes what the socket takes right now with uv_try_write and leaves the rest for a queued
// uv_write (Node's DoTryWrite). A completed uv_write makes libuv 1.44 re-register the socket
// with epoll; on the common path (small responses, an idle socket) nothing is queued and no
// epoll_ctl happens.
#pragma once

#include <uv.h>

#include <vector>

#include "proxy/net/out_chunk.h"

namespace edge::net {

// How many buffers one try-write gathers; the rest waits for the next call or a uv_write.
inline constexpr size_t kMaxTryWriteBufs = 64;

// Points up to `max` libuv buffers at the front chunks; returns how many it filled. libuv only
// reads these bytes.
size_t toUvBufs(const std::vector<OutChunk>& chunks, uv_buf_t* out, size_t max);

// Writes from the front of `chunks` and drops what was written (a partially written chunk is
// trimmed). Does nothing while earlier writes are queued. Returns 0, or a negative libuv
// error other than UV_EAGAIN.
int tryWriteFront(uv_stream_t* stream, std::vector<OutChunk>& chunks);

}  // namespace edge::net
