// Checked reading of YAML nodes for the loader. Private to config/ and the only header that
// includes yaml-cpp. Every reader reports its own error and returns nullopt, so the section code
// stays a list of "read this, store that".
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/loader.h"

namespace edge::config::yaml {

// A value with the key path that leads to it. An empty value ("key:") has no useful mark of
// its own (yaml-cpp points at the next token), so errors about it point at its key.
struct Field {
  YAML::Node node;
  std::string path;
  YAML::Mark key_mark = YAML::Mark::null_mark();

  // Where errors about this value point: the value itself, or its key when the value is empty.
  YAML::Mark mark() const;
  // The value under `key` of this map, with the key appended to the path.
  Field child(const YAML::Node& key, const YAML::Node& value) const;
  // Item `index` of this list, with "[index]" appended to the path.
  Field item(size_t index, const YAML::Node& value) const;
};

// Collects the errors found while reading one file, each with its position and key path.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void add(const YAML::Mark& mark, std::string key_path, std::string message);
  void add(const Field& field, std::string message) { add(field.mark(), field.path, message); }
  void expected(const Field& field, std::string_view what);  // "expected <what>, got <found>"

  std::vector<ConfigError> take() { return std::move(errors_); }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

// The keys of one map with a fixed set of known keys. Unknown and repeated keys are reported
// on construction; get() then returns the first occurrence of a known key.
class MapFields {
 public:
  MapFields(Diagnostics& diag, const Field& field, std::vector<std::string> known);

  bool isMap() const { return is_map_; }
  std::optional<Field> get(std::string_view key) const;
  // Reports a missing key at the map itself; returns the field when present.
  std::optional<Field> require(std::string_view key) const;

 private:
  void addKey(const YAML::Node& key, const YAML::Node& value);

  Diagnostics& diag_;
  Field field_;
  std::vector<std::string> known_;
  std::vector<Field> fields_;
  std::vector<std::string> names_;
  bool is_map_ = false;
};

struct NamedField {
  std::string name;
  Field field;
};

// yaml-cpp counts from 0, people from 1; an unknown position stays 0.
int oneBased(int zero_based);

// "text" in double quotes with quotes and newlines escaped, cut short when long.
std::string quote(std::string_view text);

// The candidate closest to `name`, if close enough to be a plausible typo.
std::optional<std::string> closestName(std::string_view name,
                                       const std::vector<std::string>& candidates);

// Entries of a map whose keys are names the user chose (upstreams, route classes), in file
// order; repeated or non-scalar names are reported and skipped.
std::vector<NamedField> namedEntries(Diagnostics& diag, const Field& field);

// Items of a list; anything else is reported with `what` as the expectation.
std::optional<std::vector<Field>> listItems(Diagnostics& diag, const Field& field,
                                            std::string_view what);

// A non-empty string.
std::optional<std::string> readString(Diagnostics& diag, const Field& field);

// true or false, in any of the spellings YAML accepts.
std::optional<bool> readBool(Diagnostics& diag, const Field& field);

// A whole number from `min` to `max`.
std::optional<int64_t> readInteger(Diagnostics& diag, const Field& field, int64_t min,
                                   int64_t max);

// A duration like 250ms; `allow_zero` false means the value must be greater than 0.
std::optional<Millis> readDuration(Diagnostics& diag, const Field& field, bool allow_zero);

// A size like 64k, from `min` to `max` bytes; a `max` of UINT64_MAX means no upper bound.
std::optional<uint64_t> readByteSize(Diagnostics& diag, const Field& field, uint64_t min,
                                     uint64_t max);

// ASCII letters in lower case; everything else as is.
std::string lowerAscii(std::string_view text);

// An RFC 9110 token: what HTTP methods and header names are made of.
bool isToken(std::string_view text);

// An HTTP header name, lower-cased: headers are matched without regard to case.
std::optional<std::string> readHeaderName(Diagnostics& diag, const Field& field);

// host:port, with a hint about what is wrong when it does not parse.
std::optional<HostPort> readHostPort(Diagnostics& diag, const Field& field);

}  // namespace edge::config::yaml
