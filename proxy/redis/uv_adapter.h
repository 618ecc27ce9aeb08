// Runs a hiredis async context on a libuv loop. hiredis 0.14 ships such an adapter
// (adapters/libuv.h), but it drops poll errors: a refused connect() is reported by libuv as
// an error status, which that adapter ignores, so the attempt hangs until a timeout. This one
// hands the error to hiredis (which then finds it on the socket), as later hiredis releases do.
#pragma once

#include <uv.h>

struct redisAsyncContext;

namespace edge::redis {

// REDIS_OK, or REDIS_ERR (then nothing is attached). The poll handle closes, and its memory is
// freed, when hiredis frees the context.
int attachToLoop(redisAsyncContext* ac, uv_loop_t* loop);

}  // namespace edge::redis
