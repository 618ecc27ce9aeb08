// Cache keys and entry tags, built from a request and its route class. Pure logic.
//
// Key layout: "<host>|<normalised path>?<sorted query>|<class>|<dimensions>", where the
// method class (GET and HEAD share entries) is implicit because only they are looked up.
// Putting host and target first lets "every entry of this URL" be one prefix: the unsafe-method
// invalidation purges urlPrefix(...) + "*".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "lib/http/headers.h"

namespace edge::cache {

struct KeyRequest {
  std::string_view host;    // Host header value (port kept, lower-cased here; ":80" dropped)
  std::string_view target;  // origin-form: path and optional query
  const http::Headers* headers = nullptr;
};

std::string buildKey(const KeyRequest& request, const config::RouteClass& route_class);

// "<host>|<normalised path>?<sorted query>|" for `target` with the class's query rules:
// the prefix every key of that URL starts with.
std::string urlPrefix(std::string_view host, std::string_view target,
                      const config::RouteClass& route_class);

// Escapes glob metacharacters so `text` matches itself in fnmatch(3).
std::string globEscape(std::string_view text);

// Query parameters filtered by the class (ignore or include list, '*' suffix = prefix match)
// and sorted by name, stably: repeated names keep their order. Exposed for tests.
std::string normaliseQuery(std::string_view query, const config::CacheKeyConfig& key);

}  // namespace edge::cache
