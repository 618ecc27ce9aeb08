// Tags attached to a stored entry, so purges can name groups of entries. Pure logic.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "lib/http/headers.h"

namespace edge::cache {

struct TagSource {
  std::string_view target;  // origin-form request target (path and query)
  const http::Headers* request_headers = nullptr;
  const http::Headers* response_headers = nullptr;
};

// The class's templates expanded ({header.NAME}, {path.N} 1-based, {query.NAME}; a template
// whose placeholder has no value is skipped, so no tag ever names "nothing"), then the
// origin's Surrogate-Key (space separated) and Cache-Tag (comma separated) values.
// Duplicates are removed; order is otherwise kept.
std::vector<std::string> expandTags(const config::RouteClass& route_class, const TagSource& source);

}  // namespace edge::cache
