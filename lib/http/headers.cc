#include "lib/http/headers.h"

#include <algorithm>
#include <array>

namespace edge::http {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }


// Calls fn(token) for each element of a comma-separated list, skipping empty elements.
template <typename Fn>
void forEachToken(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trimOws(list.substr(0, comma));
    if (!item.empty()) {
      fn(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
}

constexpr std::array<std::string_view, 9> kHopByHop = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization"};

}  // namespace

std::vector<std::string_view> listElements(std::string_view list) {
  std::vector<std::string_view> out;
  forEachToken(list, [&](std::string_view item) { out.push_back(item); });
  return out;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = lower(c);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool hasToken(std::string_view value, std::string_view token) {
  bool found = false;
  forEachToken(value, [&](std::string_view item) { found = found || iequals(item, token); });
  return found;
}

void Headers::add(std::string name, std::string value) {
  list_.push_back(Header{std::move(name), std::move(value)});
}

void Headers::set(std::string_view name, std::string value) {
  remove(name);
  list_.push_back(Header{std::string(name), std::move(value)});
}

void Headers::remove(std::string_view name) {
  std::erase_if(list_, [&](const Header& h) { return iequals(h.name, name); });
}

const std::string* Headers::find(std::string_view name) const {
  for (const Header& h : list_) {
    if (iequals(h.name, name)) {
      return &h.value;
    }
  }
  return nullptr;
}

size_t Headers::count(std::string_view name) const {
  return static_cast<size_t>(
      std::count_if(list_.begin(), list_.end(), [&](const Header& h) { return iequals(h.name, name); }));
}

std::string Headers::joined(std::string_view name) const {
  std::string out;
  for (const Header& h : list_) {
    if (iequals(h.name, name)) {
      if (!out.empty()) {
        out += ", ";
      }
      out += h.value;
    }
  }
  return out;
}

bool Headers::hasToken(std::string_view name, std::string_view token) const {
  for (const Header& h : list_) {
    if (iequals(h.name, name) && http::hasToken(h.value, token)) {
      return true;
    }
  }
  return false;
}

void Headers::appendToList(std::string_view name, std::string_view item) {
  for (Header& h : list_) {
    if (iequals(h.name, name)) {
      h.value.append(", ").append(item);
      return;
    }
  }
  list_.push_back(Header{std::string(name), std::string(item)});
}

void stripHopByHop(Headers& headers) {
  // Collect the names nominated by Connection before removing Connection itself.
  std::vector<std::string> nominated;
  for (const Header& h : headers) {
    if (iequals(h.name, "connection")) {
      forEachToken(h.value, [&](std::string_view t) { nominated.emplace_back(t); });
    }
  }
  for (std::string_view name : kHopByHop) {
    headers.remove(name);
  }
  for (const std::string& name : nominated) {
    // Host frames the request's target; a client cannot make us drop it.
    if (!iequals(name, "host")) {
      headers.remove(name);
    }
  }
}

}  // namespace edge::http
