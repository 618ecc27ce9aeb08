#include "proxy/admin/admin_api.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <string_view>

#include "lib/metrics/name_slots.h"
#include "lib/metrics/exposition.h"
#include "proxy/admin/json_writer.h"
#include "proxy/admin/metrics_page.h"
#include "lib/cache/policy.h"
#include "lib/cache/shared_cache.h"
#include "lib/http/headers.h"

namespace edge::admin {
namespace {

constexpr std::string_view kBearer = "Bearer";

AdminResponse error(int status, std::string_view message) {
  return {status, JsonWriter().beginObject().field("error", message).endObject().take(), {}};
}

std::array<unsigned char, EVP_MAX_MD_SIZE> digest(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
    return (c | 0x20) - 'a' + 10;
  }
  return -1;
}

bool truthy(const std::string& value) { return value == "1" || value == "true"; }

void writeEntry(JsonWriter& json, const cache::CachedEntry& entry, int64_t now) {
  const cache::Evaluation evaluation = cache::evaluate(entry, {}, now);
  json.beginObject()
      .field("status", entry.status)
      .field("stored_at_ms", entry.response_time_ms)
      .field("age_s", cache::ageSeconds(evaluation.age_ms))
      .field("ttl_s", (entry.freshness_lifetime_ms - evaluation.age_ms) / 1000)
      .field("fresh", evaluation.verdict == cache::Verdict::Fresh)
      .field("invalidated", entry.invalidated.load(std::memory_order_relaxed))
      .field("size", static_cast<uint64_t>(entry.body ? entry.body->size() : 0))
      .field("charge", static_cast<uint64_t>(entry.charge()))
      .field("etag", entry.etag)
      .field("last_modified", entry.last_modified)
      .field("stale_while_revalidate_s", entry.stale_while_revalidate_ms / 1000)
      .field("stale_if_error_s", entry.stale_if_error_ms / 1000)
      .key("tags")
      .beginArray();
  for (const std::string& tag : entry.tags) {
    json.value(tag);
  }
  json.endArray().key("vary").beginObject();
  for (const auto& [name, value] : entry.vary_values) {
    json.field(name, value);
  }
  json.endObject()
      .key("encodings")
      .beginArray();
  if (entry.encoded[0]) {
    json.value("gzip");
  }
  if (entry.encoded[1]) {
    json.value("br");
  }
  json.endArray().endObject();
}

void writeRequests(JsonWriter& json, const RequestTotals& totals) {
  json.beginObject().field("total", totals.requests).key("cache").beginObject();
  for (size_t i = 0; i < kOutcomeCount; ++i) {
    json.field(outcomeName(static_cast<filters::CacheOutcome>(i)), totals.outcomes[i]);
  }
  json.endObject().key("status").beginObject();
  for (size_t i = 0; i < kStatusClassCount; ++i) {
    json.field(statusClassName(i), totals.statuses[i]);
  }
  json.endObject().key("errors").beginObject();
  for (size_t i = 1; i < kErrorKindCount; ++i) {  // [0] is ErrorKind::None
    json.field(errorKindName(static_cast<filters::ErrorKind>(i)), totals.errors[i]);
  }
  json.endObject()
      .field("bytes_in", totals.bytes_in)
      .field("bytes_out", totals.bytes_out)
      .endObject();
}

void writeConnections(JsonWriter& json, const ConnectionTotals& totals) {
  json.key("tls").beginObject()
      .field("handshakes", totals.tls_handshakes)
      .field("resumed", totals.tls_resumed)
      .key("handshake_failures").beginObject();
  for (size_t i = 0; i < kTlsFailureCount; ++i) {
    json.field(tlsFailureName(static_cast<TlsFailure>(i)), totals.tls_failures[i]);
  }
  json.endObject().endObject();
  json.key("tunnels").beginObject()
      .field("open", totals.tunnels_open)
      .field("opened", totals.tunnels_opened)
      .field("refused", totals.tunnels_refused)
      .endObject();
}

}  // namespace

bool percentDecode(std::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return false;
    }
    const int high = hexValue(text[i + 1]);
    const int low = hexValue(text[i + 2]);
    if (high < 0 || low < 0) {
      return false;
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

std::vector<std::string> queryValues(std::string_view query, std::string_view name, bool& valid) {
  std::vector<std::string> values;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) {
      continue;
    }
    std::string value;
    if (!percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), value)) {
      valid = false;
    }
    values.push_back(std::move(value));
  }
  return values;
}

bool AdminApi::authorized(const std::string& authorization) const {
  // "<scheme> <token>", the scheme case-insensitive (RFC 9110 11.1), spaces between.
  const std::string_view credentials = authorization;
  const size_t space = credentials.find(' ');
  if (space == std::string_view::npos || !http::iequals(credentials.substr(0, space), kBearer)) {
    return false;
  }
  const std::string_view token = http::trimOws(credentials.substr(space));
  // Digests compared in constant time: neither the token's bytes nor its length leak.
  const auto given = digest(token);
  const auto expected = digest(token_);
  return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

std::optional<AdminResponse> AdminApi::refusal(std::string_view target,
                                               const std::string& authorization) const {
  if (authorized(authorization)) {
    return std::nullopt;
  }
  const std::string_view path = target.substr(0, target.find('?'));
  if (!health_requires_token_ && (path == "/healthz" || path == "/readyz")) {
    return std::nullopt;
  }
  AdminResponse response = error(401, "a valid bearer token is required");
  response.headers.emplace_back(
      "WWW-Authenticate", authorization.empty()
                              ? "Bearer realm=\"edge-proxy admin\""
                              : "Bearer realm=\"edge-proxy admin\", error=\"invalid_token\"");
  return response;
}

AdminResponse AdminApi::handle(const AdminRequest& request) {
  if (auto refused = refusal(request.target, request.authorization)) {
    return std::move(*refused);
  }
  const std::string_view target = request.target;
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  if (auto answer = lifecycle(request, path)) {
    return std::move(*answer);
  }
  struct Route {
    std::string_view path;
    std::string_view method;
  };
  constexpr std::array<Route, 4> kRoutes = {Route{"/purge", "POST"}, Route{"/stats", "GET"},
                                            Route{"/entry", "GET"}, Route{"/metrics", "GET"}};
  for (const Route& route : kRoutes) {
    if (path != route.path) {
      continue;
    }
    if (request.method != route.method) {
      AdminResponse response = error(405, "use " + std::string(route.method) + " for " +
                                              std::string(route.path));
      response.headers.emplace_back("Allow", std::string(route.method));
      return response;
    }
    if (path == "/purge") {
      return purge(request, query);
    }
    if (path == "/metrics") {
      return metrics();
    }
    return path == "/stats" ? stats() : entry(query);
  }
  return error(404, "unknown path; the admin API has POST /purge, GET /stats, GET /entry, "
                    "GET /metrics, POST /reload, GET /healthz, GET /readyz");
}

AdminResponse AdminApi::purge(const AdminRequest& request, std::string_view query) {
  invalidation::PurgeCommand command;
  if (!request.body.empty()) {
    invalidation::ParsedMessage parsed = invalidation::parseJsonMessage(request.body, max_body_);
    if (!parsed.command) {
      return error(400, parsed.error);
    }
    command = std::move(*parsed.command);
  } else {
    bool valid = true;
    command.keys = queryValues(query, "key", valid);
    command.tags = queryValues(query, "tag", valid);
    command.patterns = queryValues(query, "pattern", valid);
    const std::vector<std::string> soft = queryValues(query, "soft", valid);
    command.soft = !soft.empty() && truthy(soft.back());
    if (!valid) {
      return error(400, "broken percent-encoding in the query");
    }
    for (const auto* names : {&command.keys, &command.tags, &command.patterns}) {
      for (const std::string& name : *names) {
        if (name.empty()) {
          return error(400, "empty key, tag or pattern");
        }
      }
    }
    if (command.keys.empty() && command.tags.empty() && command.patterns.empty()) {
      return error(400, "nothing to purge: give a JSON body or key=, tag= or pattern=");
    }
  }
  const size_t count = purger_.apply(command);
  ++stats_.admin_purges;
  JsonWriter json;
  json.beginObject()
      .field("purged", static_cast<uint64_t>(count))
      .field("soft", command.soft)
      .field("keys", static_cast<uint64_t>(command.keys.size()))
      .field("tags", static_cast<uint64_t>(command.tags.size()))
      .field("patterns", static_cast<uint64_t>(command.patterns.size()))
      .endObject();
  return {200, json.take(), {}};
}

AdminResponse AdminApi::stats() const {
  const cache::StoreStats store = purger_.store().stats();
  const invalidation::InvalidationStats& inv = stats_;
  JsonWriter json;
  json.beginObject().key("store").beginObject()
      .field("entries", store.entries)
      .field("bytes", store.bytes)
      .field("budget", store.budget)
      .field("inserts", store.inserts)
      .field("evictions", store.evictions)
      .field("purged", store.purged)
      .field("rejected", store.rejected)
      .field("purge_generation", purger_.store().generation())
      .endObject();
  json.key("fields").beginObject()
      .field("invalid_json", cache_ != nullptr ? cache_->invalid_json.load() : uint64_t{0})
      .endObject();
  json.key("coalescing").beginObject()
      .field("in_flight",
             static_cast<uint64_t>(cache_ != nullptr ? cache_->coalescer.inFlightCount() : 0))
      .field("followers", cache_ != nullptr ? cache_->coalescer.followersJoined() : uint64_t{0})
      .endObject();
  json.key("invalidation").beginObject()
      .field("configured", inv.configured)
      .field("mode", inv.mode)
      .field("redis", inv.address)
      .field("connected", inv.connected)
      .field("subscribed", inv.subscribed)
      .field("connects", inv.connects)
      .field("reconnects", inv.reconnects)
      .field("connect_failures", inv.connect_failures)
      .field("disconnects", inv.disconnects)
      .field("messages", inv.messages)
      .field("malformed", inv.malformed)
      .field("last_malformed_reason", inv.last_malformed_reason)
      .field("purges", inv.purges)
      .field("admin_purges", inv.admin_purges)
      .field("purged_entries", inv.purged_entries)
      .field("last_message_ms", inv.last_message_ms)
      .field("last_applied_us", inv.last_applied_us)
      .field("stream_last_id", inv.stream_last_id)
      .key("last_gap").beginObject()
      .field("count", inv.gaps)
      .field("at_ms", inv.last_gap_ms)
      .field("down_ms", inv.last_gap_down_ms)
      .field("action", inv.last_gap_action)
      .field("entries", inv.last_gap_entries)
      .endObject()
      .endObject();
  const RequestTotals totals = requests_ ? requests_(false) : RequestTotals{};
  json.key("requests");
  writeRequests(json, totals);
  writeConnections(json, totals.connections);
  if (upstreams_) {
    json.key("upstreams");
    upstreams_(json);
  }
  json.endObject();
  return {200, json.take(), {}};
}

AdminResponse AdminApi::metrics() const {
  const RequestTotals totals = requests_ ? requests_(true) : RequestTotals{};
  const std::vector<std::string> class_names = metrics::NameSlots::classes().names();
  const std::vector<std::string> upstream_names = metrics::NameSlots::upstreams().names();
  const cache::StoreStats store = purger_.store().stats();
  MetricsInputs in{totals, class_names, upstream_names, store, stats_};
  if (cache_ != nullptr) {
    in.coalesced_followers = cache_->coalescer.followersJoined();
    in.coalescing_in_flight = cache_->coalescer.inFlightCount();
    in.invalid_json = cache_->invalid_json.load(std::memory_order_relaxed);
  }
  in.now_ms = cache::wallClockMs();
  return {200, renderMetrics(in), {{"Content-Type", std::string(metrics::kContentType)}}};
}

AdminResponse AdminApi::entry(std::string_view query) const {
  bool valid = true;
  const std::vector<std::string> keys = queryValues(query, "key", valid);
  if (!valid || keys.size() != 1 || keys.front().empty()) {
    return error(400, "give exactly one key=<cache key>, percent-encoded");
  }
  const std::vector<cache::EntryPtr> variants = purger_.store().peek(keys.front());
  if (variants.empty()) {
    return error(404, "no entry is stored under this key");
  }
  const int64_t now = cache::wallClockMs();
  JsonWriter json;
  json.beginObject().field("key", keys.front()).key("variants").beginArray();
  for (const cache::EntryPtr& variant : variants) {
    writeEntry(json, *variant, now);
  }
  json.endArray().endObject();
  return {200, json.take(), {}};
}

}  // namespace edge::admin
