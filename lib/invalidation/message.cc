#include "lib/invalidation/message.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <utility>

namespace edge::invalidation {
namespace {

constexpr std::string_view kSpace = " \t\r\n";

std::string_view trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return {};
  }
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

bool hasControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// "\"name\"" + rest, built by appending (GCC 12 misreports prepending to a temporary).
std::string quoted(std::string_view name, std::string_view rest) {
  std::string out = "\"";
  out.append(name.substr(0, 40)).append("\"").append(rest);
  return out;
}

ParsedMessage failure(std::string reason) { return ParsedMessage{std::nullopt, std::move(reason)}; }

// Appends the strings of `value` (an array of non-empty strings) to `out`; an error or "".
std::string readNames(std::string_view field, simdjson::dom::element value,
                      std::vector<std::string>& out) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    return quoted(field, " must be an array of strings");
  }
  for (simdjson::dom::element item : array) {
    std::string_view name;
    if (item.get_string().get(name) != simdjson::SUCCESS) {
      return quoted(field, " must be an array of strings");
    }
    if (name.empty() || hasControl(name)) {
      return quoted(field, " holds an empty name or a control character");
    }
    out.emplace_back(name);
  }
  return {};
}

std::string readField(std::string_view field, simdjson::dom::element value, PurgeCommand& out) {
  if (field == "keys") {
    return readNames(field, value, out.keys);
  }
  if (field == "tags") {
    return readNames(field, value, out.tags);
  }
  if (field == "patterns") {
    return readNames(field, value, out.patterns);
  }
  if (field == "soft") {
    return value.get_bool().get(out.soft) == simdjson::SUCCESS ? ""
                                                               : "\"soft\" must be true or false";
  }
  return "unknown field " + quoted(field, " (expected keys, tags, patterns, soft)");
}

std::string tooLarge(size_t size, size_t max_bytes) {
  return "message of " + std::to_string(size) + " bytes is larger than the limit of " +
         std::to_string(max_bytes);
}

}  // namespace

ParsedMessage parseJsonMessage(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return failure(tooLarge(text.size(), max_bytes));
  }
  thread_local simdjson::dom::parser parser;  // reuses its buffers across messages
  simdjson::dom::element root;
  if (auto error = parser.parse(text.data(), text.size()).get(root); error) {
    return failure(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return failure("a JSON message must be an object");
  }
  PurgeCommand command;
  std::vector<std::string_view> seen;
  for (simdjson::dom::key_value_pair field : object) {
    if (std::find(seen.begin(), seen.end(), field.key) != seen.end()) {
      return failure("duplicate field " + quoted(field.key, ""));
    }
    seen.push_back(field.key);
    if (std::string error = readField(field.key, field.value, command); !error.empty()) {
      return failure(std::move(error));
    }
  }
  const size_t names = command.keys.size() + command.tags.size() + command.patterns.size();
  if (names == 0) {
    return failure("nothing to purge: no keys, tags or patterns");
  }
  if (names > kMaxNamesPerMessage) {
    return failure("more than " + std::to_string(kMaxNamesPerMessage) + " names in one message");
  }
  return ParsedMessage{std::move(command), {}};
}

ParsedMessage parseMessage(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return failure(tooLarge(text.size(), max_bytes));
  }
  const std::string_view body = trim(text);
  if (body.empty()) {
    return failure("empty message");
  }
  if (body.front() == '{') {
    return parseJsonMessage(body, max_bytes);
  }
  if (hasControl(body)) {
    return failure("control character in a plain-text message");
  }
  PurgeCommand command;
  command.patterns.emplace_back(body);  // a glob without metacharacters matches itself only
  return ParsedMessage{std::move(command), {}};
}

}  // namespace edge::invalidation
