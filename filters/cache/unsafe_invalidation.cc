#include "filters/cache/unsafe_invalidation.h"

#include <string>

#include "lib/cache/key.h"

namespace edge::filters {

bool isUnsafeMethod(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

void invalidateAfterUnsafeMethod(cache::Store& store, const config::Config& config,
                                 const config::RouteTable& routes, std::string_view host,
                                 std::string_view target, const http::Headers& response_headers) {
  // Every variant of the URL that a GET of it would have been stored under.
  auto purgeUrl = [&](std::string_view url) {
    std::string_view path = url.substr(0, url.find('?'));
    const config::Route* get_route = routes.match(host, "GET", path);
    if (get_route == nullptr || !config.classOf(*get_route).cache) {
      return;
    }
    const config::RouteClass& cls = config.classOf(*get_route);
    std::string pattern = cache::globEscape(cache::urlPrefix(host, url, cls)) + "*";
    store.purgeGlob(pattern, cache::PurgeMode::Hard);
  };
  purgeUrl(target);
  const std::string same_host_prefix = "http://" + std::string(host);
  for (const char* name : {"location", "content-location"}) {
    const std::string* value = response_headers.find(name);
    if (value == nullptr || value->empty()) {
      continue;
    }
    std::string_view url = *value;
    if (url.starts_with(same_host_prefix)) {
      url.remove_prefix(same_host_prefix.size());
    }
    if (!url.empty() && url[0] == '/') {
      purgeUrl(url);
    }
  }
}

}  // namespace edge::filters
