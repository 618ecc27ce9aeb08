#include "filters/fields/json_response.h"

#include <string_view>

#include "lib/cache/cache_control.h"

namespace edge::filters {

bool isJsonMediaType(std::string_view media_type) {
  const std::string lower = http::lowerAscii(media_type);
  return lower == "application/json" ||
         (lower.size() > 17 && lower.starts_with("application/") && lower.ends_with("+json"));
}

bool isPlainJson(const http::Headers& headers) {
  const std::string* content_type = headers.find("content-type");
  if (content_type == nullptr) {
    return false;
  }
  std::string_view media = http::trimOws(
      std::string_view(*content_type).substr(0, std::string_view(*content_type).find(';')));
  if (!isJsonMediaType(media)) {
    return false;
  }
  const std::string* encoding = headers.find("content-encoding");
  return encoding == nullptr || http::trimOws(*encoding).empty() ||
         http::iequals(http::trimOws(*encoding), "identity");
}

bool forbidsTransform(const http::Headers& headers) {
  return cache::parseCacheControl(headers.joined("cache-control")).no_transform;
}

}  // namespace edge::filters
