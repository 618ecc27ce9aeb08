// Typed settings of the `invalidation:` section (purges from Redis) and the `admin:` section
// (the admin HTTP listener). Part of Config; no YAML types here.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace edge::config {

struct RedisConfig {
  // TCP (host, port) unless unix_path is set.
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string unix_path;
  std::string username;       // Redis 6 ACL user; empty: AUTH with the password alone
  std::string password;       // literal, discouraged: prefer password_env
  std::string password_env;   // name of an environment variable holding the password
  uint32_t database = 0;      // SELECT, for stream mode (pub/sub ignores databases)
  std::chrono::milliseconds connect_timeout{5'000};

  // "127.0.0.1:6379" or "unix:/run/redis.sock", for logs.
  std::string str() const {
    if (!unix_path.empty()) {
      return "unix:" + unix_path;
    }
    const bool ipv6 = host.find(':') != std::string::npos;
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }

  bool operator==(const RedisConfig&) const = default;
};

enum class InvalidationMode {
  PubSub,  // SUBSCRIBE / PSUBSCRIBE: what is published while disconnected is lost
  Stream,  // XREAD from the last id seen: nothing is lost across reconnects
};

// What happens to stored entries once the subscriber is back after missing messages.
enum class GapPolicy {
  RevalidateAll,  // everything stored before must revalidate before it is served again
  PurgeAll,       // everything stored is removed
  Ignore,         // nothing
};

struct InvalidationConfig {
  RedisConfig redis;
  InvalidationMode mode = InvalidationMode::PubSub;
  std::vector<std::string> channels = {"cache_invalidation"};
  std::vector<std::string> channel_patterns;
  std::string stream_key = "cache_invalidation";
  std::string stream_field = "msg";             // the entry field holding the message
  std::chrono::milliseconds stream_block{5'000};  // XREAD BLOCK
  uint32_t stream_count = 100;                  // XREAD COUNT
  GapPolicy gap_policy = GapPolicy::RevalidateAll;
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{10'000};
  uint64_t max_message_size = 64 * 1024;        // larger messages are malformed

  bool operator==(const InvalidationConfig&) const = default;
};

struct AdminConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 9091;
  std::string token_env = "EDGE_ADMIN_TOKEN";   // the bearer token comes from this variable
  bool allow_remote = false;                    // true: a non-loopback listen address is fine
  uint64_t max_body = 1024 * 1024;              // larger request bodies get 413
  // false: GET /healthz and /readyz answer without the token (load balancers, probes).
  bool health_requires_token = false;

  bool operator==(const AdminConfig&) const = default;
};

}  // namespace edge::config
