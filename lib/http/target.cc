#include "lib/http/target.h"

#include <vector>

namespace edge::http {
namespace {

bool isUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char upperHex(char c) { return (c >= 'a' && c <= 'f') ? static_cast<char>(c - 32) : c; }

}  // namespace

std::string normalisePercent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
        hexValue(text[i + 2]) >= 0) {
      char decoded = static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      if (isUnreserved(decoded)) {
        out.push_back(decoded);
      } else {
        out.push_back('%');
        out.push_back(upperHex(text[i + 1]));
        out.push_back(upperHex(text[i + 2]));
      }
      i += 2;
    } else if (text[i] == '%') {
      out.append("%25");
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool hasMalformedEscape(std::string_view text) {
  for (size_t i = text.find('%'); i != std::string_view::npos; i = text.find('%', i + 1)) {
    if (i + 2 >= text.size() || hexValue(text[i + 1]) < 0 || hexValue(text[i + 2]) < 0) {
      return true;
    }
  }
  return false;
}

std::string normalisePath(std::string_view path) {
  std::string input = normalisePercent(path);
  std::string_view rest = input;
  if (!rest.empty() && rest.front() == '/') {
    rest.remove_prefix(1);
  }
  std::vector<std::string_view> out;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (segment == "..") {
      if (!out.empty()) {
        out.pop_back();
      }
    } else if (segment != ".") {
      out.push_back(segment);
    }
    if (last) {
      if (segment == "." || segment == "..") {
        out.push_back("");  // "/a/b/.." means the directory "/a/"
      }
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  std::string result;
  result.reserve(input.size() + 1);
  for (std::string_view segment : out) {
    result.push_back('/');
    result.append(segment);
  }
  return result.empty() ? "/" : result;
}

std::string normaliseOriginForm(std::string_view target) {
  if (target == "*") {
    return std::string(target);
  }
  const size_t question = target.find('?');
  std::string out = normalisePath(target.substr(0, question));
  if (question != std::string_view::npos) {
    out.append(target.substr(question));
  }
  return out;
}

namespace {

// Splits an absolute-form target ("http://host:port/p?q") into authority and origin-form.
void splitAbsoluteForm(std::string_view target, std::string& authority, std::string& origin) {
  std::string_view rest = target.substr(target.find("://") + 3);
  size_t path_start = rest.find_first_of("/?");
  authority.assign(rest.substr(0, path_start));
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  origin.clear();
  if (path.empty() || path[0] == '?') {
    origin.push_back('/');  // "http://h" and "http://h?q" have the root path
  }
  origin.append(path);
}

}  // namespace

ResolvedTarget resolveTarget(std::string_view request_target, std::string_view host_header) {
  ResolvedTarget resolved;
  resolved.host = host_header;
  std::string origin_form;
  if (request_target.starts_with("http://") || request_target.starts_with("https://")) {
    splitAbsoluteForm(request_target, resolved.host, origin_form);
  } else if (!request_target.empty() && (request_target[0] == '/' || request_target == "*")) {
    origin_form = request_target;
  } else {
    resolved.error = "request target must be a path (origin-form) or an absolute URI";
    return resolved;
  }
  // A stray '%' could be read as part of an escape by whoever decodes the path next, so the
  // resource it names would not be the one the proxy routed and keyed.
  if (hasMalformedEscape(std::string_view(origin_form).substr(0, origin_form.find('?')))) {
    resolved.error = "malformed percent-encoding in the request path: '%' must start %XX";
    return resolved;
  }
  resolved.target = normaliseOriginForm(origin_form);
  return resolved;
}

}  // namespace edge::http
