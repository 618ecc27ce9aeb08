#include "proxy/redis/subscriber.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <string_view>
#include <vector>

#include "lib/cache/shared_cache.h"
#include "proxy/log.h"
#include "proxy/redis/uv_adapter.h"

namespace edge::redis {
namespace {

using invalidation::GapAction;

std::string_view text(const redisReply& reply) {
  return reply.str != nullptr ? std::string_view(reply.str, reply.len) : std::string_view();
}

bool isString(const redisReply* reply) {
  return reply != nullptr &&
         (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS);
}

// Sends one command given as separate arguments (binary-safe: no format string parsing).
int command(redisAsyncContext* ac, redisCallbackFn* fn, void* self,
            const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return redisAsyncCommandArgv(ac, fn, self, static_cast<int>(argv.size()), argv.data(),
                               lengths.data());
}

Subscriber* owner(const redisAsyncContext* ac) { return static_cast<Subscriber*>(ac->data); }

}  // namespace

Subscriber* Subscriber::start(uv_loop_t* loop, const config::InvalidationConfig& config,
                              invalidation::Purger& purger,
                              invalidation::InvalidationStats& stats) {
  auto* self = new Subscriber(loop, config, purger, stats);
  EDGE_LOG_INFO("invalidation: %s via redis %s",
                config.mode == config::InvalidationMode::Stream ? "reading a stream"
                                                                : "subscribing",
                config.redis.str().c_str());
  self->connect();
  return self;
}

Subscriber::Subscriber(uv_loop_t* loop, const config::InvalidationConfig& config,
                       invalidation::Purger& purger, invalidation::InvalidationStats& stats)
    : loop_(loop), config_(config), purger_(purger), stats_(stats),
      random_(std::random_device{}()) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  password_ = config_.redis.password;
  if (!config_.redis.password_env.empty()) {
    const char* value = std::getenv(config_.redis.password_env.c_str());
    password_ = value != nullptr ? value : "";
  }
  stats_.configured = true;
  stats_.mode = config_.mode == config::InvalidationMode::Stream ? "stream" : "pubsub";
  stats_.address = config_.redis.str();
}

void Subscriber::close() {
  if (state_ == State::Closed) {
    return;
  }
  state_ = State::Closed;
  if (ctx_ != nullptr) {
    redisAsyncContext* ac = ctx_;
    ctx_ = nullptr;
    redisAsyncFree(ac);  // pending callbacks get a null reply; the adapter closes its handle
  }
  stats_.connected = stats_.subscribed = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_),
           [](uv_handle_t* h) { delete static_cast<Subscriber*>(h->data); });
}

void Subscriber::connect() {
  ++attempts_;
  EDGE_LOG_DEBUG("invalidation: connecting to redis %s (attempt %llu)",
                 config_.redis.str().c_str(), static_cast<unsigned long long>(attempts_));
  const config::RedisConfig& redis = config_.redis;
  redisAsyncContext* ac = redis.unix_path.empty()
                              ? redisAsyncConnect(redis.host.c_str(), redis.port)
                              : redisAsyncConnectUnix(redis.unix_path.c_str());
  if (ac == nullptr) {
    onLost("out of memory");
    return;
  }
  if (ac->err != 0) {
    const std::string reason = ac->errstr;
    redisAsyncFree(ac);
    onLost(reason);
    return;
  }
  ac->data = this;
  if (attachToLoop(ac, loop_) != REDIS_OK) {
    redisAsyncFree(ac);
    onLost("cannot attach to the event loop");
    return;
  }
  if (redis.unix_path.empty()) {
    redisEnableKeepAlive(&ac->c);  // the only way a silent peer is noticed in pub/sub mode
  }
  redisAsyncSetConnectCallback(ac, &Subscriber::onConnect);
  redisAsyncSetDisconnectCallback(ac, &Subscriber::onDisconnect);
  ctx_ = ac;
  state_ = State::Connecting;
  confirmations_ = 0;
  drop_reason_.clear();
  // Commands queue until the connection is up; a failure of any of them drops it.
  sendSetup();
  if (config_.mode == config::InvalidationMode::Stream) {
    sendStreamStart();
  } else {
    sendSubscriptions();
  }
  armTimer(static_cast<uint64_t>(redis.connect_timeout.count()));
}

void Subscriber::sendSetup() {
  if (!password_.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!config_.redis.username.empty()) {
      auth.push_back(config_.redis.username);
    }
    auth.push_back(password_);
    command(ctx_, &Subscriber::onSetupReply, this, auth);
  }
  if (config_.mode == config::InvalidationMode::Stream && config_.redis.database != 0) {
    command(ctx_, &Subscriber::onSetupReply, this,
            {"SELECT", std::to_string(config_.redis.database)});
  }
}

void Subscriber::sendSubscriptions() {
  if (!config_.channels.empty()) {
    std::vector<std::string> args{"SUBSCRIBE"};
    args.insert(args.end(), config_.channels.begin(), config_.channels.end());
    command(ctx_, &Subscriber::onSubscribeReply, this, args);
  }
  if (!config_.channel_patterns.empty()) {
    std::vector<std::string> args{"PSUBSCRIBE"};
    args.insert(args.end(), config_.channel_patterns.begin(), config_.channel_patterns.end());
    command(ctx_, &Subscriber::onSubscribeReply, this, args);
  }
}

// Where reading starts: after the last id seen, or (the first time) after the newest entry
// now in the stream, found with XREVRANGE. Reading from "$" instead would skip whatever is
// added between two XREADs, since "$" is re-read each time.
void Subscriber::sendStreamStart() {
  resumed_ = !last_id_.empty();
  command(ctx_, &Subscriber::onStreamEndReply, this,
          {"XREVRANGE", config_.stream_key, "+", "-", "COUNT", "1"});
}

void Subscriber::readStream() {
  command(ctx_, &Subscriber::onStreamReply, this,
          {"XREAD", "BLOCK", std::to_string(config_.stream_block.count()), "COUNT",
           std::to_string(config_.stream_count), "STREAMS", config_.stream_key, last_id_});
  // A reply is due within the block time: without one the connection is dead.
  armTimer(static_cast<uint64_t>((config_.stream_block + config_.redis.connect_timeout).count()));
}

void Subscriber::onReady() {
  state_ = State::Ready;
  uv_timer_stop(&timer_);
  const GapAction action = invalidation::gapAction(
      config_.gap_policy, {!ever_ready_, attempts_ == 1, resumed_});
  const int64_t now = cache::wallClockMs();
  const int64_t down_ms = ever_ready_ || attempts_ > 1 ? now - down_since_ms_ : 0;
  if (ever_ready_ || attempts_ > 1) {
    ++stats_.reconnects;
    EDGE_LOG_INFO("invalidation: redis %s is back after %u failed attempts (%lld ms)",
                  config_.redis.str().c_str(), failures_, static_cast<long long>(down_ms));
  } else {
    EDGE_LOG_INFO("invalidation: %s on redis %s",
                  config_.mode == config::InvalidationMode::Stream ? "reading the stream"
                                                                   : "subscribed",
                  config_.redis.str().c_str());
  }
  ++stats_.connects;
  stats_.subscribed = true;
  ever_ready_ = true;
  failures_ = 0;
  failure_logged_ = false;
  purger_.applyGap(action, down_ms);
}

// Frees the connection because of `reason`. hiredis reports the disconnection (deferred when
// this runs inside one of its callbacks) only for a connection that was established.
void Subscriber::drop(const std::string& reason) {
  if (ctx_ == nullptr) {
    return;
  }
  redisAsyncContext* ac = ctx_;
  drop_reason_ = reason;
  const bool established = (ac->c.flags & REDIS_CONNECTED) != 0;
  redisAsyncFree(ac);
  if (!established) {
    ctx_ = nullptr;
    onLost(reason);
  }
}

void Subscriber::onLost(const std::string& reason) {
  if (state_ == State::Closed) {
    return;
  }
  const bool was_ready = state_ == State::Ready;
  state_ = State::Waiting;
  stats_.connected = stats_.subscribed = false;
  if (was_ready) {
    ++stats_.disconnects;
    down_since_ms_ = cache::wallClockMs();
    EDGE_LOG_WARN("invalidation: lost redis %s: %s; reconnecting with backoff",
                  config_.redis.str().c_str(), reason.c_str());
    failure_logged_ = true;
  } else {
    ++stats_.connect_failures;
    if (!ever_ready_ && attempts_ == 1) {
      down_since_ms_ = cache::wallClockMs();
    }
    if (!failure_logged_) {
      EDGE_LOG_WARN("invalidation: cannot reach redis %s: %s; retrying with backoff (further "
                    "failures are not logged until it is back)",
                    config_.redis.str().c_str(), reason.c_str());
      failure_logged_ = true;
    }
  }
  const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  const auto delay = invalidation::backoffDelay(failures_++, config_.reconnect_min,
                                                config_.reconnect_max, unit);
  EDGE_LOG_DEBUG("invalidation: %s; next attempt in %lld ms", reason.c_str(),
                 static_cast<long long>(delay.count()));
  armTimer(static_cast<uint64_t>(delay.count()));
}

void Subscriber::armTimer(uint64_t ms) {
  uv_timer_start(&timer_, [](uv_timer_t* t) { static_cast<Subscriber*>(t->data)->onTimer(); },
                 ms, 0);
}

void Subscriber::onTimer() {
  switch (state_) {
    case State::Waiting:
      connect();
      return;
    case State::Connecting:
      drop("no answer within connect_timeout");
      return;
    case State::Ready:
      drop("no reply to XREAD within the block time");
      return;
    case State::Closed:
      return;
  }
}

// ---- hiredis callbacks ----------------------------------------------------------------------

void Subscriber::onConnect(const redisAsyncContext* ac, int status) {
  Subscriber* self = owner(ac);
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns.
    self->ctx_ = nullptr;
    self->onLost(ac->errstr);
    return;
  }
  self->stats_.connected = true;
}

void Subscriber::onDisconnect(const redisAsyncContext* ac, int status) {
  Subscriber* self = owner(ac);
  if (self->ctx_ != ac) {
    return;  // freed by close()
  }
  self->ctx_ = nullptr;
  std::string reason = self->drop_reason_;
  if (reason.empty()) {
    reason = status == REDIS_OK ? "connection closed" : ac->errstr;
  }
  self->onLost(reason);
}

void Subscriber::onSetupReply(redisAsyncContext* /*ac*/, void* reply, void* self) {
  auto* r = static_cast<redisReply*>(reply);
  auto* subscriber = static_cast<Subscriber*>(self);
  if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
    subscriber->drop("redis refused the connection setup: " + std::string(text(*r)));
  }
}

void Subscriber::onSubscribeReply(redisAsyncContext* /*ac*/, void* reply, void* self) {
  auto* r = static_cast<redisReply*>(reply);
  if (r != nullptr) {
    static_cast<Subscriber*>(self)->handlePubSub(*r);
  }
}

void Subscriber::handlePubSub(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) {
    drop("subscribe failed: " + std::string(text(reply)));
    return;
  }
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3 || !isString(reply.element[0])) {
    return;
  }
  const std::string_view kind = text(*reply.element[0]);
  if (kind == "subscribe" || kind == "psubscribe") {
    const size_t expected = config_.channels.size() + config_.channel_patterns.size();
    if (++confirmations_ == expected) {
      onReady();
    }
  } else if (kind == "message" && isString(reply.element[2])) {
    purger_.onMessage(text(*reply.element[2]), "channel " + std::string(text(*reply.element[1])));
  } else if (kind == "pmessage" && reply.elements >= 4 && isString(reply.element[3])) {
    purger_.onMessage(text(*reply.element[3]), "channel " + std::string(text(*reply.element[2])));
  }
}

void Subscriber::onStreamEndReply(redisAsyncContext* /*ac*/, void* reply, void* self) {
  auto* r = static_cast<redisReply*>(reply);
  auto* subscriber = static_cast<Subscriber*>(self);
  if (r == nullptr || subscriber->state_ != State::Connecting) {
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    subscriber->drop("XREVRANGE failed: " + std::string(text(*r)));
    return;
  }
  if (!subscriber->resumed_) {
    // The newest entry's id, or 0-0 for an empty stream: reading starts after it.
    const bool has_entry = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                           r->element[0]->type == REDIS_REPLY_ARRAY &&
                           r->element[0]->elements > 0 && isString(r->element[0]->element[0]);
    subscriber->last_id_ = has_entry ? std::string(text(*r->element[0]->element[0])) : "0-0";
    subscriber->stats_.stream_last_id = subscriber->last_id_;
  }
  subscriber->onReady();
  subscriber->readStream();
}

void Subscriber::onStreamReply(redisAsyncContext* /*ac*/, void* reply, void* self) {
  auto* r = static_cast<redisReply*>(reply);
  auto* subscriber = static_cast<Subscriber*>(self);
  if (r == nullptr || subscriber->state_ != State::Ready) {
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    subscriber->drop("XREAD failed: " + std::string(text(*r)));
    return;
  }
  subscriber->handleStreamEntries(*r);
  if (subscriber->state_ == State::Ready && subscriber->ctx_ != nullptr) {
    subscriber->readStream();
  }
}

// [[key, [[id, [field, value, ...]], ...]]], or nil when the block time passed quietly.
void Subscriber::handleStreamEntries(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0) {
    return;
  }
  const redisReply* stream = reply.element[0];
  if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2 ||
      stream->element[1]->type != REDIS_REPLY_ARRAY) {
    return;
  }
  const redisReply* entries = stream->element[1];
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* entry = entries->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 || !isString(entry->element[0])) {
      continue;
    }
    last_id_ = std::string(text(*entry->element[0]));
    stats_.stream_last_id = last_id_;
    const redisReply* fields = entry->element[1];
    const std::string source = "stream entry " + last_id_;
    bool found = false;
    for (size_t f = 0; fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements; f += 2) {
      if (isString(fields->element[f]) && text(*fields->element[f]) == config_.stream_field &&
          isString(fields->element[f + 1])) {
        purger_.onMessage(text(*fields->element[f + 1]), source);
        found = true;
        break;
      }
    }
    if (!found) {
      purger_.onMalformed("", source, "no field \"" + config_.stream_field + "\"");
    }
  }
}

}  // namespace edge::redis
