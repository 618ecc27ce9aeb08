#include "filters/batch/batch_response.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>

#include "filters/fields/json_response.h"
#include "lib/http/headers.h"
#include "lib/json/json_string.h"

namespace edge::filters::batch {
namespace {

using json::appendJsonString;

constexpr std::string_view kDropped[] = {"connection", "keep-alive", "transfer-encoding",
                                         "content-length", "proxy-connection", "upgrade",
                                         "trailer", "te"};

std::string_view mediaType(const ItemResponse& item) {
  for (const auto& [name, value] : item.headers) {
    if (http::lowerAscii(name) == "content-type") {
      std::string_view type = value;
      type = type.substr(0, type.find(';'));
      while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
        type.remove_suffix(1);
      }
      return type;
    }
  }
  return {};
}

bool isTextType(std::string_view type) {
  const std::string lower = http::lowerAscii(type);
  return lower.starts_with("text/") || lower == "application/xml" || lower.ends_with("+xml") ||
         lower == "application/javascript" || lower == "application/x-www-form-urlencoded" ||
         lower == "image/svg+xml";
}

bool isValidJson(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  return parser.parse(padded).get(root) == simdjson::SUCCESS;
}

// Repeated fields are joined with ", " (RFC 9110 5.3), except Set-Cookie, whose values may
// contain commas: it becomes an array of its values.
void appendHeaders(std::string& out, const ItemResponse& item) {
  std::vector<std::pair<std::string, std::vector<std::string>>> merged;
  for (const auto& [name, value] : item.headers) {
    std::string lower = http::lowerAscii(name);
    if (std::find(std::begin(kDropped), std::end(kDropped), lower) != std::end(kDropped)) {
      continue;
    }
    auto same = std::find_if(merged.begin(), merged.end(),
                             [&](const auto& header) { return header.first == lower; });
    if (same == merged.end()) {
      merged.push_back({std::move(lower), {value}});
    } else if (same->first == "set-cookie") {
      same->second.push_back(value);
    } else {
      same->second.front().append(", ").append(value);
    }
  }
  out.push_back('{');
  for (size_t i = 0; i < merged.size(); ++i) {
    const auto& [name, values] = merged[i];
    if (i > 0) {
      out.push_back(',');
    }
    appendJsonString(out, name);
    out.push_back(':');
    if (name != "set-cookie") {
      appendJsonString(out, values.front());
      continue;
    }
    out.push_back('[');
    for (size_t v = 0; v < values.size(); ++v) {
      if (v > 0) {
        out.push_back(',');
      }
      appendJsonString(out, values[v]);
    }
    out.push_back(']');
  }
  out.push_back('}');
}

void appendBase64(std::string& out, std::string_view bytes) {
  std::string encoded(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  encoded.resize(static_cast<size_t>(written));
  out.push_back('"');
  out.append(encoded);
  out.push_back('"');
}

}  // namespace

void appendItemResponse(std::string& out, const ItemResponse& item) {
  out.append("{\"id\":");
  appendJsonString(out, item.id);
  out.append(",\"status\":").append(std::to_string(item.status));
  out.append(",\"headers\":");
  appendHeaders(out, item);
  if (!item.body.empty()) {
    const std::string_view type = mediaType(item);
    out.append(",\"body\":");
    if (isJsonMediaType(type) && isValidJson(item.body)) {
      out.append(item.body);
    } else if ((isTextType(type) || isJsonMediaType(type)) && simdjson::validate_utf8(item.body)) {
      appendJsonString(out, item.body);
    } else {
      appendBase64(out, item.body);
      out.append(",\"bodyEncoding\":\"base64\"");
    }
  }
  out.push_back('}');
}

ItemResponse errorResponse(std::string id, int status, std::string_view message) {
  ItemResponse item{std::move(id), status, {{"content-type", "application/json"}}, {}};
  item.body = "{\"error\":";
  appendJsonString(item.body, message);
  item.body.push_back('}');
  return item;
}

}  // namespace edge::filters::batch
