// Case-insensitive header list that keeps order and duplicates, plus the token-list and
// hop-by-hop rules of RFC 9110 section 7.6.1. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edge::http {

bool iequals(std::string_view a, std::string_view b);

// ASCII letters lower-cased (header names, media types); other bytes as they are.
std::string lowerAscii(std::string_view text);

// Strips optional white space (spaces and tabs, RFC 9110 5.6.3) from both ends.
std::string_view trimOws(std::string_view s);

// The elements of a comma-separated list (RFC 9110 5.6.1): OWS trimmed, empty ones dropped.
std::vector<std::string_view> listElements(std::string_view list);

// True when the comma-separated list `value` holds `token` (case-insensitive, OWS trimmed).
bool hasToken(std::string_view value, std::string_view token);

struct Header {
  std::string name;
  std::string value;
};

class Headers {
 public:
  void add(std::string name, std::string value);
  // Replaces every header of that name with one.
  void set(std::string_view name, std::string value);
  void remove(std::string_view name);

  const std::string* find(std::string_view name) const;  // first match, or null
  size_t count(std::string_view name) const;
  // All values of `name` joined with ", " (the RFC 9110 list form); empty when absent.
  std::string joined(std::string_view name) const;
  bool hasToken(std::string_view name, std::string_view token) const;

  // Appends `item` to the list header `name` ("a" -> "a, item"), creating it if absent.
  void appendToList(std::string_view name, std::string_view item);

  size_t size() const { return list_.size(); }
  bool empty() const { return list_.empty(); }
  auto begin() const { return list_.begin(); }
  auto end() const { return list_.end(); }

 private:
  std::vector<Header> list_;
};

// Removes the hop-by-hop headers (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-Authenticate, Proxy-Authorization) and every header the
// Connection header names. Content-Length is not hop-by-hop and stays.
void stripHopByHop(Headers& headers);

}  // namespace edge::http
