// RFC 9111 4.4: a successful unsafe method (POST, PUT, PATCH, DELETE) invalidates what the
// cache holds for its URL and for the Location / Content-Location its response names on the
// same host.
#pragma once

#include <string_view>

#include "config/config.h"
#include "config/route_rules.h"
#include "lib/cache/store.h"
#include "lib/http/headers.h"

namespace edge::filters {

bool isUnsafeMethod(std::string_view method);

void invalidateAfterUnsafeMethod(cache::Store& store, const config::Config& config,
                                 const config::RouteTable& routes, std::string_view host,
                                 std::string_view target, const http::Headers& response_headers);

}  // namespace edge::filters
