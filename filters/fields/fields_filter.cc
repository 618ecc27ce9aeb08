#include "filters/fields/fields_filter.h"

#include <cctype>

#include "filters/conditional/etag.h"

namespace edge::filters {
namespace {

// A query parameter name that carries a selection: fields, fields[TYPE], with the brackets
// possibly percent-encoded.
bool isFieldParam(std::string_view name) {
  if (name == "fields") {
    return true;
  }
  if (!name.starts_with("fields")) {
    return false;
  }
  std::string_view rest = name.substr(6);
  return rest.starts_with("[") || (rest.size() >= 3 && rest[0] == '%' && rest[1] == '5' &&
                                   std::toupper(static_cast<unsigned char>(rest[2])) == 'B');
}

}  // namespace

std::string withoutFieldParams(std::string_view target) {
  const size_t question = target.find('?');
  if (question == std::string_view::npos) {
    return std::string(target);
  }
  std::string out(target.substr(0, question));
  std::string_view query = target.substr(question + 1);
  bool first = true;
  while (true) {
    const size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (!param.empty() && !isFieldParam(param.substr(0, param.find('=')))) {
      out.push_back(first ? '?' : '&');
      out.append(param);
      first = false;
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string projectionKey(std::string_view base_key, const json::FieldSelection& selection) {
  // The separator cannot occur in a key (keys hold a normalised URL and header values).
  std::string key(base_key);
  key.append("\x1f" "fields:").append(selection.canonical());
  return key;
}

bool isProjectionOf(const cache::CachedEntry& projected, const cache::CachedEntry& base) {
  const bool same_body = !projected.projected_from.owner_before(base.body) &&
                         !base.body.owner_before(projected.projected_from) &&
                         !projected.projected_from.expired();
  return same_body && projected.projected_from_time_ms == base.response_time_ms &&
         projected.vary_values == base.vary_values;
}

std::shared_ptr<cache::CachedEntry> projectEntry(const cache::CachedEntry& base,
                                                 const json::FieldSelection& selection,
                                                 const json::ProjectionOptions& options,
                                                 std::string key) {
  auto body = std::make_shared<std::string>();
  if (json::project(*base.body, selection, options, *body) != json::ProjectStatus::Projected) {
    return nullptr;
  }
  std::shared_ptr<cache::CachedEntry> entry = cache::cloneEntry(base);
  entry->key = std::move(key);
  entry->body = std::move(body);
  entry->encoded = {};
  if (const std::string* etag = base.headers.find("etag")) {
    const std::string tag = projectionTag(*etag, selection.canonical());
    if (!tag.empty()) {
      entry->headers.set("ETag", tag);
    } else {
      entry->headers.remove("etag");  // an unparseable origin tag would name the full body
    }
  }
  http::Headers with_via = entry->headers;
  with_via.appendToList("Via", "1.1 edge-proxy");
  entry->wire_headers = cache::wireHeaderBlock(with_via);
  entry->projected_from = base.body;
  entry->projected_from_time_ms = base.response_time_ms;
  return entry;
}

bool projectBody(http::Headers& headers, std::string& body, const json::FieldSelection& selection,
                 const json::ProjectionOptions& options) {
  std::string projected;
  if (json::project(body, selection, options, projected) != json::ProjectStatus::Projected) {
    return false;
  }
  const std::string* etag = headers.find("etag");
  const std::string base_tag = etag != nullptr ? *etag : generateEtag(body);
  const std::string tag = projectionTag(base_tag, selection.canonical());
  if (!tag.empty()) {
    headers.set("ETag", tag);
  } else {
    headers.remove("etag");  // an unparseable origin tag would name the full body
  }
  body = std::move(projected);
  return true;
}

}  // namespace edge::filters
