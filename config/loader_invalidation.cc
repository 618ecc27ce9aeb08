#include "config/loader_invalidation.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/units.h"

namespace edge::config::yaml {
namespace {

constexpr uint64_t kMinMessageSize = 64;
constexpr uint64_t kMaxMessageSize = 64ull << 20;
constexpr uint64_t kMaxAdminBody = 64ull << 20;
constexpr int64_t kMaxDatabase = 65535;
constexpr int64_t kMaxStreamCount = 100000;
constexpr std::string_view kUnixPrefix = "unix:";

// One of `names` (index returned), with a "did you mean" hint for a near miss.
std::optional<size_t> readChoice(Diagnostics& diag, const Field& field,
                                 const std::vector<std::string>& names) {
  std::string what;
  for (size_t i = 0; i < names.size(); ++i) {
    what += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  if (!field.node.IsScalar()) {
    diag.expected(field, what);
    return std::nullopt;
  }
  const std::string& text = field.node.Scalar();
  for (size_t i = 0; i < names.size(); ++i) {
    if (text == names[i]) {
      return i;
    }
  }
  std::string message = "expected " + what + ", got " + quote(text);
  if (const auto guess = closestName(text, names)) {
    message += " (did you mean " + quote(*guess) + "?)";
  }
  diag.add(field, std::move(message));
  return std::nullopt;
}

// A list of non-empty strings (a single string is a list of one); nullopt if any is bad.
std::optional<std::vector<std::string>> readNames(Diagnostics& diag, const Field& field) {
  std::vector<Field> items{field};
  if (!field.node.IsScalar()) {
    auto list = listItems(diag, field, "a name or a list of names");
    if (!list) {
      return std::nullopt;
    }
    items = std::move(*list);
  }
  std::vector<std::string> names;
  bool valid = true;
  for (const Field& item : items) {
    if (auto name = readString(diag, item)) {
      names.push_back(std::move(*name));
    } else {
      valid = false;
    }
  }
  return valid ? std::optional(std::move(names)) : std::nullopt;
}

void readAddress(Diagnostics& diag, const Field& field, RedisConfig& redis) {
  constexpr std::string_view kWhat = "host:port like 127.0.0.1:6379, or unix:/path/to/socket";
  if (!field.node.IsScalar()) {
    diag.expected(field, kWhat);
    return;
  }
  const std::string& text = field.node.Scalar();
  if (text.starts_with(kUnixPrefix)) {
    const std::string path = text.substr(kUnixPrefix.size());
    if (path.empty() || path.front() != '/') {
      diag.add(field, "expected an absolute socket path after \"unix:\", got " + quote(text));
      return;
    }
    redis.unix_path = path;
    return;
  }
  const auto address = readHostPort(diag, field);
  if (address && address->port == 0) {
    diag.add(field, "the Redis address needs a real port, not 0");
  } else if (address) {
    redis.host = address->host;
    redis.port = address->port;
  }
}

void readRedis(Diagnostics& diag, const Field& field, RedisConfig& redis) {
  const MapFields map(diag, field, {"address", "username", "password", "password_env",
                                    "database", "connect_timeout"});
  if (const auto value = map.get("address")) {
    readAddress(diag, *value, redis);
  }
  if (const auto value = map.get("username")) {
    redis.username = readString(diag, *value).value_or("");
  }
  const auto password = map.get("password");
  const auto password_env = map.get("password_env");
  if (password && password_env) {
    diag.add(*password_env, "give password or password_env, not both");
  } else if (password) {
    redis.password = readString(diag, *password).value_or("");
  } else if (password_env) {
    redis.password_env = readString(diag, *password_env).value_or("");
  }
  if (const auto value = map.get("database")) {
    const auto db = readInteger(diag, *value, 0, kMaxDatabase);
    redis.database = static_cast<uint32_t>(db.value_or(redis.database));
  }
  if (const auto value = map.get("connect_timeout")) {
    redis.connect_timeout = readDuration(diag, *value, false).value_or(redis.connect_timeout);
  }
}

void readStream(Diagnostics& diag, const Field& field, InvalidationConfig& invalidation) {
  const MapFields map(diag, field, {"key", "field", "block", "count"});
  if (const auto value = map.get("key")) {
    invalidation.stream_key = readString(diag, *value).value_or(invalidation.stream_key);
  }
  if (const auto value = map.get("field")) {
    invalidation.stream_field = readString(diag, *value).value_or(invalidation.stream_field);
  }
  if (const auto value = map.get("block")) {
    invalidation.stream_block =
        readDuration(diag, *value, false).value_or(invalidation.stream_block);
  }
  if (const auto value = map.get("count")) {
    const auto count = readInteger(diag, *value, 1, kMaxStreamCount);
    invalidation.stream_count = static_cast<uint32_t>(count.value_or(invalidation.stream_count));
  }
}

void readReconnect(Diagnostics& diag, const Field& field, InvalidationConfig& invalidation) {
  const MapFields map(diag, field, {"min_delay", "max_delay"});
  const auto min = map.get("min_delay");
  const auto max = map.get("max_delay");
  if (min) {
    invalidation.reconnect_min =
        readDuration(diag, *min, false).value_or(invalidation.reconnect_min);
  }
  if (max) {
    invalidation.reconnect_max =
        readDuration(diag, *max, false).value_or(invalidation.reconnect_max);
  }
  if (invalidation.reconnect_max < invalidation.reconnect_min) {
    diag.add(max ? *max : *min, "max_delay must not be shorter than min_delay");
  }
}

// Keys that belong to the other mode are reported rather than silently ignored.
void checkModeKeys(Diagnostics& diag, const MapFields& map, InvalidationMode mode) {
  if (mode == InvalidationMode::Stream) {
    for (const char* key : {"channels", "channel_patterns"}) {
      if (const auto value = map.get(key)) {
        diag.add(*value, std::string(key) + " apply to mode pubsub; mode stream reads stream.key");
      }
    }
  } else if (const auto value = map.get("stream")) {
    diag.add(*value, "stream applies to mode stream, not pubsub");
  }
}

void readChannels(Diagnostics& diag, const Field& field, const MapFields& map,
                  InvalidationConfig& invalidation) {
  if (const auto value = map.get("channels")) {
    invalidation.channels = readNames(diag, *value).value_or(invalidation.channels);
  }
  if (const auto value = map.get("channel_patterns")) {
    invalidation.channel_patterns =
        readNames(diag, *value).value_or(invalidation.channel_patterns);
  }
  if (invalidation.mode == InvalidationMode::PubSub && invalidation.channels.empty() &&
      invalidation.channel_patterns.empty()) {
    diag.add(map.get("channels").value_or(field), "at least one channel or channel pattern");
  }
}

bool isLoopback(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

void readInvalidation(Diagnostics& diag, const Field& field, InvalidationConfig& invalidation) {
  const MapFields map(diag, field,
                      {"redis", "mode", "channels", "channel_patterns", "stream", "gap_policy",
                       "reconnect", "max_message_size"});
  if (!map.isMap()) {
    return;
  }
  if (const auto value = map.get("redis")) {
    readRedis(diag, *value, invalidation.redis);
  }
  if (const auto value = map.get("mode")) {
    if (const auto mode = readChoice(diag, *value, {"pubsub", "stream"})) {
      invalidation.mode = *mode == 0 ? InvalidationMode::PubSub : InvalidationMode::Stream;
    }
  }
  checkModeKeys(diag, map, invalidation.mode);
  readChannels(diag, field, map, invalidation);
  if (const auto value = map.get("stream")) {
    readStream(diag, *value, invalidation);
  }
  if (const auto value = map.get("gap_policy")) {
    constexpr std::array kPolicies = {GapPolicy::RevalidateAll, GapPolicy::PurgeAll,
                                      GapPolicy::Ignore};
    if (const auto policy = readChoice(diag, *value, {"revalidate_all", "purge_all", "ignore"})) {
      invalidation.gap_policy = kPolicies[*policy];
    }
  }
  if (const auto value = map.get("reconnect")) {
    readReconnect(diag, *value, invalidation);
  }
  if (const auto value = map.get("max_message_size")) {
    const auto size = readByteSize(diag, *value, kMinMessageSize, kMaxMessageSize);
    invalidation.max_message_size = size.value_or(invalidation.max_message_size);
  }
}

bool isWildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

// Two listen addresses that cannot both be bound: the same port on the same or a wildcard host.
bool sameSocket(const HostPort& a, const HostPort& b) {
  return a.port != 0 && a.port == b.port &&
         (a.host == b.host || isWildcard(a.host) || isWildcard(b.host));
}

void readAdmin(Diagnostics& diag, const Field& field, const std::vector<ListenConfig>& listen,
               AdminConfig& admin) {
  const MapFields map(diag, field, {"listen", "token_env", "allow_remote", "max_body",
                                     "health_requires_token"});
  if (!map.isMap()) {
    return;
  }
  if (const auto value = map.get("allow_remote")) {
    admin.allow_remote = readBool(diag, *value).value_or(admin.allow_remote);
  }
  if (const auto value = map.get("listen")) {
    if (const auto address = readHostPort(diag, *value)) {
      admin.host = address->host;
      admin.port = address->port;
      if (!admin.allow_remote && !isLoopback(admin.host)) {
        diag.add(*value, "the admin listener binds loopback addresses only; set "
                         "allow_remote: true to listen on " + quote(address->str()));
      }
      for (const ListenConfig& listener : listen) {
        const HostPort& proxy = listener.address;
        if (sameSocket(*address, proxy)) {
          diag.add(*value, "the admin listener cannot share " + quote(address->str()) +
                               " with the proxy listener " + quote(proxy.str()) +
                               " (listen); give it a port of its own");
          break;
        }
      }
    }
  }
  if (const auto value = map.get("token_env")) {
    admin.token_env = readString(diag, *value).value_or(admin.token_env);
  }
  if (const auto value = map.get("health_requires_token")) {
    admin.health_requires_token =
        readBool(diag, *value).value_or(admin.health_requires_token);
  }
  if (const auto value = map.get("max_body")) {
    admin.max_body = readByteSize(diag, *value, 1, kMaxAdminBody).value_or(admin.max_body);
  }
}

}  // namespace edge::config::yaml
