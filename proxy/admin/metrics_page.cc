#include "proxy/admin/metrics_page.h"

#include <algorithm>

#include "lib/metrics/exposition.h"
#include "lib/metrics/name_slots.h"

namespace edge::admin {
namespace {

using metrics::Type;

void requestSeries(metrics::TextWriter& out, const MetricsInputs& in) {
  constexpr std::string_view kName = "edge_proxy_requests_total";
  out.family(kName, Type::Counter,
             "Finished requests by route class, status class and cache outcome.");
  const auto& classes = in.requests.classes;
  for (size_t c = 0; c < classes.size() && c < in.class_names.size(); ++c) {
    for (size_t s = 0; s < kStatusClassCount; ++s) {
      for (size_t o = 0; o < kOutcomeCount; ++o) {
        const uint64_t n = classes[c].requests[s][o];
        if (n == 0) {
          continue;  // series appear with their first request
        }
        out.sample(kName,
                   {{"class", in.class_names[c]},
                    {"status", statusClassName(s)},
                    {"cache", outcomeName(static_cast<filters::CacheOutcome>(o))}},
                   n);
      }
    }
  }
}

// A histogram per class that has seen a request.
void histograms(metrics::TextWriter& out, const MetricsInputs& in, std::string_view name,
                std::string_view help, metrics::HistogramTotals ClassTotals::*which) {
  out.family(name, Type::Histogram, help);
  const auto& classes = in.requests.classes;
  for (size_t c = 0; c < classes.size() && c < in.class_names.size(); ++c) {
    const metrics::HistogramTotals& h = classes[c].*which;
    if (h.count() != 0) {
      out.histogram(name, {{"class", in.class_names[c]}}, h);
    }
  }
}

void one(metrics::TextWriter& out, std::string_view name, Type type, std::string_view help,
         uint64_t value) {
  out.family(name, type, help).sample(name, {}, value);
}

void requestTotals(metrics::TextWriter& out, const RequestTotals& r) {
  out.family("edge_proxy_request_errors_total", Type::Counter,
             "Requests that ended in an error, by kind (upstream connect, timeout, reset...).");
  for (size_t i = 1; i < kErrorKindCount; ++i) {  // [0] is ErrorKind::None
    out.sample("edge_proxy_request_errors_total",
               {{"kind", errorKindName(static_cast<filters::ErrorKind>(i))}}, r.errors[i]);
  }
  one(out, "edge_proxy_request_body_bytes_total", Type::Counter,
      "Request body bytes read from clients.", r.bytes_in);
  one(out, "edge_proxy_response_bytes_total", Type::Counter,
      "Response bytes (head and body) queued to clients.", r.bytes_out);
}

void connections(metrics::TextWriter& out, const ConnectionTotals& c) {
  one(out, "edge_proxy_client_connections", Type::Gauge, "Client connections open now.",
      c.connections_open);
  one(out, "edge_proxy_client_connections_accepted_total", Type::Counter,
      "Client connections accepted.", c.connections_accepted);
  one(out, "edge_proxy_tls_handshakes_total", Type::Counter,
      "Client TLS handshakes completed (resumed ones included).", c.tls_handshakes);
  one(out, "edge_proxy_tls_resumed_handshakes_total", Type::Counter,
      "Client TLS handshakes that resumed a session.", c.tls_resumed);
  out.family("edge_proxy_tls_handshake_failures_total", Type::Counter,
             "Client TLS handshakes that failed, by reason.");
  for (size_t i = 0; i < kTlsFailureCount; ++i) {
    out.sample("edge_proxy_tls_handshake_failures_total",
               {{"reason", tlsFailureName(static_cast<TlsFailure>(i))}}, c.tls_failures[i]);
  }
  one(out, "edge_proxy_tunnels", Type::Gauge, "Upgrade tunnels open now.", c.tunnels_open);
  one(out, "edge_proxy_tunnels_opened_total", Type::Counter, "Upgrade tunnels opened.",
      c.tunnels_opened);
  one(out, "edge_proxy_tunnels_refused_total", Type::Counter,
      "Upgrade requests refused at max_tunnels.", c.tunnels_refused);
}

// Per upstream name: every registered one (a slot's series survive reloads that drop it).
void upstreams(metrics::TextWriter& out, const MetricsInputs& in) {
  const auto& totals = in.requests.upstreams.upstreams;
  const size_t n = std::min(totals.size(), in.upstream_names.size());
  using PerUpstream = UpstreamTotals::PerUpstream;
  auto each = [&](std::string_view name, Type type, std::string_view help,
                  uint64_t PerUpstream::*field) {
    out.family(name, type, help);
    for (size_t i = metrics::NameSlots::kOther; i < n; ++i) {
      if (i == metrics::NameSlots::kOther && totals[i].connects == 0) {
        continue;  // "other" only once names overflowed the registry
      }
      out.sample(name, {{"upstream", in.upstream_names[i]}}, totals[i].*field);
    }
  };
  each("edge_proxy_upstream_connects_total", Type::Counter,
       "Upstream connections opened (attempts).", &PerUpstream::connects);
  each("edge_proxy_upstream_retries_total", Type::Counter,
       "Upstream requests sent again: to the next server, or once more after a reused "
       "connection closed.",
       &PerUpstream::retries);
  each("edge_proxy_upstream_ejections_total", Type::Counter,
       "Servers ejected after max_fails failures in a row.", &PerUpstream::ejections);
  each("edge_proxy_upstream_idle_connections", Type::Gauge,
       "Idle keep-alive connections in the pools now.", &PerUpstream::idle);
  constexpr std::string_view kFailures = "edge_proxy_upstream_failures_total";
  out.family(kFailures, Type::Counter,
             "Upstream attempts that failed, by kind (timeouts are connect_timeout and "
             "first_byte_timeout).");
  for (size_t i = metrics::NameSlots::kOther; i < n; ++i) {
    for (size_t k = 1; k < kErrorKindCount; ++k) {  // [0] is ErrorKind::None
      if (totals[i].failures[k] != 0) {
        out.sample(kFailures,
                   {{"upstream", in.upstream_names[i]},
                    {"kind", errorKindName(static_cast<filters::ErrorKind>(k))}},
                   totals[i].failures[k]);
      }
    }
  }
}

void cacheStore(metrics::TextWriter& out, const MetricsInputs& in) {
  const cache::StoreStats& s = in.store;
  one(out, "edge_proxy_cache_memory_bytes", Type::Gauge,
      "Bytes the cached entries hold (what the budget counts).", s.bytes);
  one(out, "edge_proxy_cache_memory_budget_bytes", Type::Gauge, "The cache's byte budget.",
      s.budget);
  one(out, "edge_proxy_cache_entries", Type::Gauge, "Cached variants.", s.entries);
  one(out, "edge_proxy_cache_inserts_total", Type::Counter, "Entries stored.", s.inserts);
  one(out, "edge_proxy_cache_evictions_total", Type::Counter,
      "Entries evicted to stay within the budget.", s.evictions);
  one(out, "edge_proxy_cache_purged_total", Type::Counter,
      "Entries removed or invalidated by purges.", s.purged);
  one(out, "edge_proxy_cache_rejected_total", Type::Counter,
      "Entries too large for a shard's budget, not stored.", s.rejected);
  one(out, "edge_proxy_coalescing_in_flight", Type::Gauge,
      "Origin fetches that concurrent identical misses may join.", in.coalescing_in_flight);
  one(out, "edge_proxy_coalesced_followers_total", Type::Counter,
      "Requests that joined another request's origin fetch.", in.coalesced_followers);
  one(out, "edge_proxy_fields_invalid_json_total", Type::Counter,
      "JSON responses sent unprojected because the origin's JSON is invalid.", in.invalid_json);
}

void invalidationFeed(metrics::TextWriter& out, const MetricsInputs& in) {
  const invalidation::InvalidationStats& s = in.invalidation;
  one(out, "edge_proxy_invalidation_connected", Type::Gauge,
      "1 while the Redis invalidation feed is connected and subscribed.",
      s.connected && s.subscribed ? 1 : 0);
  one(out, "edge_proxy_invalidation_reconnects_total", Type::Counter,
      "Redis feed connections made after a lost or failed one.", s.reconnects);
  one(out, "edge_proxy_invalidation_connect_failures_total", Type::Counter,
      "Redis feed connection attempts that failed.", s.connect_failures);
  one(out, "edge_proxy_invalidation_messages_total", Type::Counter,
      "Invalidation messages received from Redis, malformed ones included.", s.messages);
  one(out, "edge_proxy_invalidation_malformed_total", Type::Counter,
      "Invalidation messages that could not be read.", s.malformed);
  one(out, "edge_proxy_purges_applied_total", Type::Counter,
      "Purge commands applied (Redis messages and admin purges).", s.purges);
  one(out, "edge_proxy_admin_purges_total", Type::Counter, "Purges made through the admin API.",
      s.admin_purges);
  one(out, "edge_proxy_invalidation_gaps_total", Type::Counter,
      "Feed outages after which the gap policy ran.", s.gaps);
  if (s.last_applied_us != 0) {
    const double applied = static_cast<double>(s.last_applied_us) / 1e6;
    out.family("edge_proxy_purge_last_applied_timestamp_seconds", Type::Gauge,
               "Wall-clock time the last purge command was applied.")
        .sample("edge_proxy_purge_last_applied_timestamp_seconds", {}, applied);
    const double lag = static_cast<double>(in.now_ms) / 1e3 - applied;
    out.family("edge_proxy_purge_last_applied_age_seconds", Type::Gauge,
               "Seconds since the last purge command was applied.")
        .sample("edge_proxy_purge_last_applied_age_seconds", {}, lag > 0 ? lag : 0.0);
  }
}

}  // namespace

std::string renderMetrics(const MetricsInputs& in) {
  metrics::TextWriter out;
  requestSeries(out, in);
  histograms(out, in, "edge_proxy_request_duration_seconds",
             "From a request's head read to its response's end, per route class.",
             &ClassTotals::duration);
  histograms(out, in, "edge_proxy_upstream_response_seconds",
             "From an upstream connection taking the request to the response head, per class.",
             &ClassTotals::upstream);
  requestTotals(out, in.requests);
  connections(out, in.requests.connections);
  upstreams(out, in);
  cacheStore(out, in);
  invalidationFeed(out, in);
  return out.take();
}

}  // namespace edge::admin
