// The Redis side of invalidation, on the main thread's loop: a hiredis async connection that
// SUBSCRIBEs / PSUBSCRIBEs to the configured channels (pub/sub mode) or XREADs a stream from
// the last id seen (stream mode), and hands every message to the Purger.
//
// A lost or failed connection is retried after a jittered exponential backoff; when messages
// may have been missed meanwhile, the gap policy runs once the feed is back. State changes are
// logged once each, not once per retry. The proxy serves normally while Redis is away.
//
// Ownership: created with start(), dies only through close(), which frees the Redis context
// (hiredis closes its poll handle itself) and closes the timer; the object is deleted in the
// timer's close callback. Every wait (backoff, connect, stream read) is on that one timer, so
// close() cancels whatever is pending.
#pragma once

#include <uv.h>

#include <cstdint>
#include <random>
#include <string>

#include "config/invalidation_config.h"
#include "proxy/invalidation/purger.h"
#include "lib/invalidation/stats.h"

struct redisAsyncContext;
struct redisReply;

namespace edge::redis {

class Subscriber {
 public:
  static Subscriber* start(uv_loop_t* loop, const config::InvalidationConfig& config,
                           invalidation::Purger& purger, invalidation::InvalidationStats& stats);
  void close();

 private:
  enum class State { Waiting, Connecting, Ready, Closed };

  Subscriber(uv_loop_t* loop, const config::InvalidationConfig& config,
             invalidation::Purger& purger, invalidation::InvalidationStats& stats);
  ~Subscriber() = default;

  void connect();
  void sendSetup();
  void sendSubscriptions();
  void sendStreamStart();
  void readStream();
  void onReady();
  void drop(const std::string& reason);
  void onLost(const std::string& reason);
  void armTimer(uint64_t ms);
  void onTimer();

  static void onConnect(const redisAsyncContext* ac, int status);
  static void onDisconnect(const redisAsyncContext* ac, int status);
  static void onSetupReply(redisAsyncContext* ac, void* reply, void* self);
  static void onSubscribeReply(redisAsyncContext* ac, void* reply, void* self);
  static void onStreamEndReply(redisAsyncContext* ac, void* reply, void* self);
  static void onStreamReply(redisAsyncContext* ac, void* reply, void* self);

  void handlePubSub(const ::redisReply& reply);
  void handleStreamEntries(const ::redisReply& reply);

  uv_loop_t* loop_;
  const config::InvalidationConfig config_;
  std::string password_;
  invalidation::Purger& purger_;
  invalidation::InvalidationStats& stats_;

  uv_timer_t timer_{};
  redisAsyncContext* ctx_ = nullptr;
  State state_ = State::Waiting;
  std::string drop_reason_;   // why we dropped the connection ourselves
  size_t confirmations_ = 0;  // subscriptions Redis confirmed on this connection

  uint64_t attempts_ = 0;        // connection attempts since start
  uint32_t failures_ = 0;        // consecutive failed or lost connections
  bool ever_ready_ = false;
  bool failure_logged_ = false;  // one line per outage, not one per retry
  int64_t down_since_ms_ = 0;
  std::string last_id_;          // stream mode: last entry id seen (empty: none yet)
  bool resumed_ = false;         // this connection continues from last_id_
  std::minstd_rand random_;
};

}  // namespace edge::redis
