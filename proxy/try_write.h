// Writes what the socket takes right now with uv_try_write and reports how much is left for
// a queued uv_write (Node's DoTryWrite). A completed uv_write makes libuv 1.44 re-register
// the socket with epoll; on the common path (small responses, an idle socket) nothing is
// queued and no epoll_ctl happens.
#pragma once

#include <uv.h>

#include <vector>

#include "proxy/out_chunk.h"

namespace edge {

// Writes from the front of `bufs` and drops what was written (a partially written buffer is
// trimmed). Returns 0, or a negative libuv error other than UV_EAGAIN.
int tryWriteFront(uv_stream_t* stream, std::vector<OutChunk>& bufs);

}  // namespace edge
