#include "config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <system_error>

#include "config/units.h"

namespace edge::config::yaml {
namespace {

constexpr size_t kMaxQuoted = 60;

// 1048576 -> "1m": limits in messages read the way they are written in the file.
std::string formatSize(uint64_t bytes) {
  constexpr std::string_view kSuffixes = "gmk";
  for (size_t i = 0; i < kSuffixes.size(); ++i) {
    const uint64_t unit = 1ull << (10 * (kSuffixes.size() - i));
    if (bytes != 0 && bytes % unit == 0) {
      return std::to_string(bytes / unit) + kSuffixes[i];
    }
  }
  return std::to_string(bytes);
}

// Why a host:port failed, for the mistakes people actually make.
std::string hostPortHint(std::string_view text) {
  const size_t colon = text.rfind(':');
  const size_t bracket = text.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    return " (the port is required)";
  }
  if (text.front() != '[' && text.find(':') != colon) {
    return " (an IPv6 address goes in brackets, and the whole value in quotes)";
  }
  const std::string_view port = text.substr(colon + 1);
  uint64_t number = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  const bool all_digits = !port.empty() && ptr == port.data() + port.size();
  if (ec == std::errc::result_out_of_range || (all_digits && number > 65535)) {
    return " (the port must be a number from 0 to 65535)";
  }
  return all_digits ? " (the host is not a valid name or address)" : " (the port is not a number)";
}

// Accepts only a scalar; reports anything else (a list, a map, nothing) against `what`.
const std::string* scalarOf(Diagnostics& diag, const Field& field, std::string_view what) {
  if (!field.node.IsScalar()) {
    diag.expected(field, what);
    return nullptr;
  }
  return &field.node.Scalar();
}

std::string joinPath(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) {
    out += '.';
  }
  out += key;
  return out;
}

// How a node looks to a person reading the error: "\"fast\"", "a list", "a map", "nothing".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

}  // namespace

int oneBased(int zero_based) { return zero_based < 0 ? 0 : zero_based + 1; }

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, kMaxQuoted)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  out += text.size() > kMaxQuoted ? "...\"" : "\"";
  return out;
}

YAML::Mark Field::mark() const {
  const bool empty_value = !node.IsDefined() || node.IsNull();
  if ((empty_value || node.Mark().is_null()) && !key_mark.is_null()) {
    return key_mark;
  }
  return node.Mark();
}

Field Field::child(const YAML::Node& key, const YAML::Node& value) const {
  return Field{value, joinPath(path, key.IsScalar() ? key.Scalar() : "?"), key.Mark()};
}

Field Field::item(size_t index, const YAML::Node& value) const {
  return Field{value, path + "[" + std::to_string(index) + "]", YAML::Mark::null_mark()};
}

std::optional<std::string> closestName(std::string_view name,
                                       const std::vector<std::string>& candidates) {
  // Longer names tolerate one more typo; a guess must not need more edits than it has letters.
  const size_t typos = name.size() >= 8 ? 3 : 2;
  const size_t limit = std::min(typos, name.size() > 1 ? name.size() - 1 : 0);
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    const size_t distance = editDistance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

void Diagnostics::add(const YAML::Mark& mark, std::string key_path, std::string message) {
  errors_.push_back(ConfigError{file_, oneBased(mark.line), oneBased(mark.column),
                                std::move(key_path), std::move(message)});
}

void Diagnostics::expected(const Field& field, std::string_view what) {
  add(field, "expected " + std::string(what) + ", got " + describe(field.node));
}

MapFields::MapFields(Diagnostics& diag, const Field& field, std::vector<std::string> known)
    : diag_(diag), field_(field), known_(std::move(known)) {
  if (!field.node.IsMap()) {
    diag_.expected(field, "a map");
    return;
  }
  is_map_ = true;
  for (auto it = field.node.begin(); it != field.node.end(); ++it) {
    addKey(it->first, it->second);
  }
}

void MapFields::addKey(const YAML::Node& key, const YAML::Node& value) {
  const Field entry = field_.child(key, value);
  if (!key.IsScalar()) {
    diag_.add(key.Mark(), field_.path, "expected a key name, got " + describe(key));
    return;
  }
  const std::string& name = key.Scalar();
  if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
    std::string message = "unknown key " + quote(name);
    if (const auto guess = closestName(name, known_)) {
      message += " (did you mean " + quote(*guess) + "?)";
    }
    diag_.add(key.Mark(), entry.path, std::move(message));
    return;
  }
  if (const auto first = get(name)) {
    diag_.add(key.Mark(), entry.path,
              "duplicate key " + quote(name) + " (first given on line " +
                  std::to_string(oneBased(first->key_mark.line)) + ")");
    return;
  }
  fields_.push_back(entry);
  names_.push_back(name);
}

std::optional<Field> MapFields::get(std::string_view key) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == key) {
      return fields_[i];
    }
  }
  return std::nullopt;
}

std::optional<Field> MapFields::require(std::string_view key) const {
  auto found = get(key);
  if (!found && is_map_) {
    diag_.add(field_.mark(), field_.path, "missing required key " + quote(key));
  }
  return found;
}

std::vector<NamedField> namedEntries(Diagnostics& diag, const Field& field) {
  std::vector<NamedField> out;
  if (!field.node.IsMap()) {
    diag.expected(field, "a map of names");
    return out;
  }
  for (auto it = field.node.begin(); it != field.node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: `it->` hands out a temporary
    if (!key.IsScalar() || key.Scalar().empty()) {
      diag.add(key.Mark(), field.path, "expected a name, got " + describe(key));
      continue;
    }
    const auto same = std::find_if(out.begin(), out.end(),
                                   [&](const NamedField& e) { return e.name == key.Scalar(); });
    Field entry = field.child(key, it->second);
    if (same != out.end()) {
      diag.add(key.Mark(), entry.path,
               "duplicate name " + quote(key.Scalar()) + " (first given on line " +
                   std::to_string(oneBased(same->field.key_mark.line)) + ")");
      continue;
    }
    out.push_back(NamedField{key.Scalar(), std::move(entry)});
  }
  return out;
}

std::optional<std::vector<Field>> listItems(Diagnostics& diag, const Field& field,
                                            std::string_view what) {
  if (!field.node.IsSequence()) {
    diag.expected(field, what);
    return std::nullopt;
  }
  std::vector<Field> items;
  for (size_t i = 0; i < field.node.size(); ++i) {
    items.push_back(field.item(i, field.node[i]));
  }
  return items;
}

std::optional<std::string> readString(Diagnostics& diag, const Field& field) {
  const std::string* text = scalarOf(diag, field, "a string");
  if (text == nullptr) {
    return std::nullopt;
  }
  if (text->empty()) {
    diag.expected(field, "a non-empty string");
    return std::nullopt;
  }
  return *text;
}

std::optional<bool> readBool(Diagnostics& diag, const Field& field) {
  bool value = false;
  if (!field.node.IsScalar() || !YAML::convert<bool>::decode(field.node, value)) {
    diag.expected(field, "true or false");
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> readInteger(Diagnostics& diag, const Field& field, int64_t min,
                                   int64_t max) {
  const std::string what =
      max == std::numeric_limits<int64_t>::max()
          ? "a whole number of at least " + std::to_string(min)
          : "a number from " + std::to_string(min) + " to " + std::to_string(max);
  const std::string* text = scalarOf(diag, field, what);
  if (text == nullptr) {
    return std::nullopt;
  }
  int64_t value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || text->empty() || value < min || value > max) {
    diag.expected(field, what);
    return std::nullopt;
  }
  return value;
}

std::optional<Millis> readDuration(Diagnostics& diag, const Field& field, bool allow_zero) {
  constexpr std::string_view kWhat = "a duration like 250ms, 2s or 5m";
  const std::string* text = scalarOf(diag, field, kWhat);
  if (text == nullptr) {
    return std::nullopt;
  }
  const auto value = parseDuration(*text);
  if (!value) {
    diag.expected(field, kWhat);
    return std::nullopt;
  }
  if (!allow_zero && value->count() == 0) {
    diag.expected(field, "a duration greater than 0");
    return std::nullopt;
  }
  if (*value > kMaxDuration) {
    diag.add(field, "duration " + *text + " is longer than the limit of 3650d (10 years)");
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> readByteSize(Diagnostics& diag, const Field& field, uint64_t min,
                                     uint64_t max) {
  constexpr std::string_view kWhat = "a size like 512, 64k or 16m";
  const std::string* text = scalarOf(diag, field, kWhat);
  if (text == nullptr) {
    return std::nullopt;
  }
  const auto value = parseByteSize(*text);
  if (!value) {
    diag.expected(field, kWhat);
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    const bool unbounded = max == std::numeric_limits<uint64_t>::max();
    diag.expected(field, unbounded ? "a size of at least " + formatSize(min)
                                   : "a size from " + formatSize(min) + " to " + formatSize(max));
    return std::nullopt;
  }
  return value;
}

std::string lowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool isToken(std::string_view text) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

std::optional<std::string> readHeaderName(Diagnostics& diag, const Field& field) {
  constexpr std::string_view kWhat = "a header name like accept-language";
  const std::string* text = scalarOf(diag, field, kWhat);
  if (text == nullptr) {
    return std::nullopt;
  }
  if (!isToken(*text)) {
    diag.expected(field, kWhat);
    return std::nullopt;
  }
  return lowerAscii(*text);
}

std::optional<HostPort> readHostPort(Diagnostics& diag, const Field& field) {
  constexpr std::string_view kWhat = "host:port like 127.0.0.1:8080 or \"[::1]:8080\"";
  const std::string* text = scalarOf(diag, field, kWhat);
  if (text == nullptr) {
    return std::nullopt;
  }
  auto value = parseHostPort(*text);
  if (!value) {
    diag.add(field, "expected " + std::string(kWhat) + ", got " + describe(field.node) +
                        (text->empty() ? "" : hostPortHint(*text)));
    return std::nullopt;
  }
  return value;
}

}  // namespace edge::config::yaml
