// selectionFromQuery: finding and percent-decoding the `fields` parameters of a query string.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/json/field_selection.h"

namespace edge::filters::json {
namespace {

constexpr std::string_view kPlainName = "fields";
constexpr std::string_view kTypedPrefix = "fields[";

// A decoded text and, for each of its bytes and its end, the offset it came from in the raw text,
// so that errors point at what the client sent.
struct Decoded {
  std::string text;
  std::vector<size_t> offsets;

  size_t rawOffset(size_t position) const { return offsets[std::min(position, text.size())]; }
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Decodes %XX only; the offset of a malformed escape on failure.
std::optional<size_t> percentDecode(std::string_view raw, Decoded& out) {
  out.text.clear();
  out.offsets.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    out.offsets.push_back(i);
    if (raw[i] != '%') {
      out.text += raw[i];
      continue;
    }
    const int high = i + 1 < raw.size() ? hexValue(raw[i + 1]) : -1;
    const int low = i + 2 < raw.size() ? hexValue(raw[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return i;
    }
    out.text += static_cast<char>(high * 16 + low);
    i += 2;
  }
  out.offsets.push_back(raw.size());
  return std::nullopt;
}

struct Param {
  std::string name;
  Decoded value;
  bool typed = false;
};

bool isTypedName(std::string_view name) {
  return name.size() > kTypedPrefix.size() + 1 && name.starts_with(kTypedPrefix) &&
         name.back() == ']';
}

QuerySelection failure(const Param& param, size_t position, std::string message) {
  QuerySelection result;
  result.present = true;
  result.param = param.name;
  result.error = SelectionError{param.value.rawOffset(position), std::move(message)};
  return result;
}

QuerySelection success(std::variant<FieldSelection, SelectionError>&& parsed) {
  QuerySelection result;
  result.present = true;
  result.selection = std::get<FieldSelection>(std::move(parsed));
  return result;
}

QuerySelection fromPlain(const std::vector<Param>& params) {
  std::string joined;
  for (const Param& param : params) {
    auto parsed = parseFields(param.value.text);
    if (auto* error = std::get_if<SelectionError>(&parsed)) {
      return failure(param, error->position, std::move(error->message));
    }
    joined += joined.empty() ? "" : ",";
    joined += param.value.text;
  }
  return success(parseFields(joined));
}

QuerySelection fromTyped(const std::vector<Param>& params) {
  std::vector<std::pair<std::string, std::string>> by_type;
  for (const Param& param : params) {
    const size_t length = param.name.size() - kTypedPrefix.size() - 1;  // without the ']'
    std::string type = param.name.substr(kTypedPrefix.size(), length);
    auto parsed = parseTypedFields({{type, param.value.text}});
    if (auto* error = std::get_if<SelectionError>(&parsed)) {
      return failure(param, error->position, std::move(error->message));
    }
    by_type.emplace_back(std::move(type), param.value.text);
  }
  return success(parseTypedFields(by_type));
}

}  // namespace

QuerySelection selectionFromQuery(std::string_view query) {
  std::vector<Param> params;
  Decoded name;
  while (!query.empty()) {
    const size_t end = std::min(query.find('&'), query.size());
    std::string_view piece = query.substr(0, end);
    query.remove_prefix(std::min(end + 1, query.size()));
    const size_t equals = std::min(piece.find('='), piece.size());
    if (percentDecode(piece.substr(0, equals), name) ||
        (name.text != kPlainName && !isTypedName(name.text))) {
      continue;  // not ours
    }
    Param& param = params.emplace_back(Param{name.text, Decoded{}, name.text != kPlainName});
    const std::string_view raw_value = piece.substr(std::min(equals + 1, piece.size()));
    if (auto bad = percentDecode(raw_value, param.value)) {
      return QuerySelection{true, FieldSelection{},
                            SelectionError{*bad, "invalid percent-encoding"}, param.name};
    }
  }
  if (params.empty()) {
    return QuerySelection{};
  }
  for (const Param& param : params) {
    if (param.typed != params.front().typed) {
      return failure(param, 0, "fields and fields[TYPE] cannot be combined");
    }
  }
  return params.front().typed ? fromTyped(params) : fromPlain(params);
}

}  // namespace edge::filters::json
