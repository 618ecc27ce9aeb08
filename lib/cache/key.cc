#include "lib/cache/key.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "lib/http/target.h"

namespace edge::cache {
namespace {

using http::normalisePath;
using http::normalisePercent;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  });
  return out;
}

std::string normaliseHost(std::string_view host) {
  std::string out = lower(host);
  if (out.size() > 3 && out.ends_with(":80")) {
    out.resize(out.size() - 3);
  }
  return out;
}

bool nameListed(std::string_view name, const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    if (!p.empty() && p.back() == '*') {
      if (name.starts_with(std::string_view(p).substr(0, p.size() - 1))) {
        return true;
      }
    } else if (name == p) {
      return true;
    }
  }
  return false;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::pair<std::string_view, std::string_view> splitTarget(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return {target, {}};
  }
  return {target.substr(0, q), target.substr(q + 1)};
}

// Collects the values of every '|'-free dimension the class names.
void appendDimensions(std::string& key, const KeyRequest& request,
                      const config::CacheKeyConfig& cfg) {
  const http::Headers& headers = *request.headers;
  for (const std::string& name : cfg.headers) {
    key.append("|h:").append(name).append("=").append(headers.joined(name));
  }
  if (!cfg.tenant_header.empty()) {
    key.append("|t:").append(headers.joined(cfg.tenant_header));
  }
  if (cfg.per_credential) {
    const std::string* credential = headers.find("authorization");
    std::string cookie;
    if (credential == nullptr) {
      cookie = headers.joined("cookie");
    }
    std::string_view value = credential != nullptr ? std::string_view(*credential) : cookie;
    // A hash, never the credential itself: keys show up in logs and purge listings.
    key.append("|c:").append(value.empty() ? "-" : sha256Hex(value));
  }
}

}  // namespace

std::string normaliseQuery(std::string_view query, const config::CacheKeyConfig& key) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    if (!item.empty()) {
      size_t eq = item.find('=');
      std::string name = normalisePercent(item.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : normalisePercent(item.substr(eq + 1));
      bool listed = nameListed(name, key.query_params);
      bool keep = key.query_mode == config::CacheKeyConfig::QueryMode::IncludeOnly ? listed : !listed;
      if (keep) {
        params.emplace_back(std::move(name), eq == std::string_view::npos ? "" : "=" + value);
      }
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  // By name only, stably: "page=2&page=1" and "page=1&page=2" may mean different things.
  std::stable_sort(params.begin(), params.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out.append(name).append(value);
  }
  return out;
}

std::string urlPrefix(std::string_view host, std::string_view target,
                      const config::RouteClass& route_class) {
  auto [path, query] = splitTarget(target);
  std::string prefix = normaliseHost(host);
  prefix.push_back('|');
  prefix.append(normalisePath(path));
  std::string q = normaliseQuery(query, route_class.key);
  if (!q.empty()) {
    prefix.push_back('?');
    prefix.append(q);
  }
  prefix.push_back('|');
  return prefix;
}

std::string buildKey(const KeyRequest& request, const config::RouteClass& route_class) {
  std::string key = urlPrefix(request.host, request.target, route_class);
  key.append(route_class.name);
  appendDimensions(key, request, route_class.key);
  return key;
}

std::string globEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace edge::cache
