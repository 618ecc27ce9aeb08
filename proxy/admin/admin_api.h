// The admin API's requests and answers, without the sockets (admin_listener.* carries them):
//   POST /purge    JSON body {"keys":[...], "tags":[...], "patterns":[...], "soft":true},
//                  or query parameters key=, tag=, pattern= (each repeatable) and soft=1
//   GET  /stats    store, coalescing, invalidation and request counters, upstream health
//   GET  /entry?key=<cache key>   the stored variants of one key, or 404
//   GET  /metrics  the same counters and per-class series in the Prometheus text format
//   POST /reload   reads and checks the config file again and swaps it in (like SIGHUP); 400
//                  with every error when it is bad, the running config staying
//   GET  /healthz  200 while the process serves; GET /readyz 200 when ready for traffic, 503
//                  (with the reasons) while starting or draining
// Every request needs "Authorization: Bearer <token>" (the scheme in any case); without it (or
// with another token) the answer is 401 whatever the path, except /healthz and /readyz unless
// health_requires_token is set. All answers but /metrics are JSON.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/cache/shared_cache.h"
#include "proxy/admin/json_writer.h"
#include "proxy/invalidation/purger.h"
#include "lib/invalidation/stats.h"
#include "proxy/request_counters.h"

namespace edge::admin {

// The request counters of every worker, summed (`with_classes`: the per-class series too);
// called on the admin API's thread.
using RequestTotalsSource = std::function<RequestTotals(bool with_classes)>;
// Writes one JSON value of /stats (e.g. the upstreams' health); called on the admin thread.
using StatsSection = std::function<void(JsonWriter&)>;

// What the server around the admin API does for it (on the main loop).
struct ReloadOutcome {
  bool ok = false;
  std::vector<std::string> errors;    // file:line:col: key: message, as --check-config prints
  std::vector<std::string> warnings;
  std::string summary;
};

struct Readiness {
  bool ready = false;
  std::vector<std::string> reasons;  // why not
};

struct ServerControl {
  std::function<ReloadOutcome()> reload;
  std::function<Readiness()> readiness;
};

struct AdminRequest {
  std::string method;
  std::string target;         // origin-form: path and query
  std::string authorization;  // the Authorization header, empty when absent
  std::string body;
};

struct AdminResponse {
  int status = 200;
  std::string body;  // JSON unless a Content-Type header says otherwise
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the framing ones
};

class AdminApi {
 public:
  // `cache`: the shared cache whose counters /stats reports beside the store's (the fields
  // filter's invalid JSON, the coalescer's fetches and followers); optional. `requests`: the
  // workers' request counters (zeros without it).
  AdminApi(std::string token, invalidation::Purger& purger,
           invalidation::InvalidationStats& stats, size_t max_body,
           const cache::SharedCache* cache = nullptr, RequestTotalsSource requests = {})
      : token_(std::move(token)),
        purger_(purger),
        stats_(stats),
        max_body_(max_body),
        cache_(cache),
        requests_(std::move(requests)) {}

  AdminResponse handle(const AdminRequest& request);

  // The 401 answer when `authorization` does not carry the token (and `target` needs it), else
  // nullopt. The listener asks at the request head, so a client without the token learns
  // nothing else (not even that its body is too large).
  std::optional<AdminResponse> refusal(std::string_view target,
                                       const std::string& authorization) const;

  size_t maxBody() const { return max_body_; }

  // The server's reload and readiness, for /reload, /healthz and /readyz.
  void setControl(ServerControl control) { control_ = std::move(control); }
  // A reload: the token is read from its variable again, and the settings may have changed.
  void update(std::string token, size_t max_body, bool health_requires_token) {
    token_ = std::move(token);
    max_body_ = max_body;
    health_requires_token_ = health_requires_token;
  }
  void setHealthRequiresToken(bool required) { health_requires_token_ = required; }
  // /stats `upstreams`: servers, their addresses and health.
  void setUpstreamsReport(StatsSection report) { upstreams_ = std::move(report); }

 private:
  bool authorized(const std::string& authorization) const;
  AdminResponse purge(const AdminRequest& request, std::string_view query);
  AdminResponse stats() const;
  AdminResponse metrics() const;
  AdminResponse entry(std::string_view query) const;
  // /reload, /healthz and /readyz; nullopt for any other path.
  std::optional<AdminResponse> lifecycle(const AdminRequest& request, std::string_view path);

  std::string token_;
  invalidation::Purger& purger_;
  invalidation::InvalidationStats& stats_;
  size_t max_body_;
  bool health_requires_token_ = false;
  ServerControl control_;
  const cache::SharedCache* cache_;
  const RequestTotalsSource requests_;
  StatsSection upstreams_;
};

// "a%7Cb" -> "a|b"; false on a broken escape. '+' stays '+' (keys may contain it).
bool percentDecode(std::string_view text, std::string& out);

// Every value of parameter `name` in a query string ("a=1&b=2&a=3"), decoded.
std::vector<std::string> queryValues(std::string_view query, std::string_view name, bool& valid);

}  // namespace edge::admin
