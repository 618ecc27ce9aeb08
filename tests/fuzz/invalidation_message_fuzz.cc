// Invalidation messages as they arrive from Redis (parseMessage: plain text or JSON) and as
// the admin API reads them (parseJsonMessage).
//
// Property: a message either yields a purge command naming what it holds (at least one name,
// none empty or with a control byte, at most kMaxNamesPerMessage; plain text: exactly the
// trimmed text) or is reported malformed with a reason; never both, never neither.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "lib/invalidation/message.h"

namespace {

using namespace edge::invalidation;

constexpr size_t kMaxBytes = 4096;

void checkNames(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    FUZZ_CHECK(!name.empty(), "empty name in a purge command");
    for (unsigned char c : name) {
      FUZZ_CHECK(c >= 0x20 && c != 0x7f, "control byte in a purge name");
    }
  }
}

void checkExactlyOne(const ParsedMessage& parsed) {
  FUZZ_CHECK(parsed.command.has_value() != !parsed.error.empty(),
             "a message is both valid and malformed, or neither");
  if (!parsed.command) {
    return;
  }
  const PurgeCommand& command = *parsed.command;
  const size_t names = command.keys.size() + command.tags.size() + command.patterns.size();
  FUZZ_CHECK(names >= 1 && names <= kMaxNamesPerMessage, "purge command names nothing or too much");
  checkNames(command.keys);
  checkNames(command.tags);
  checkNames(command.patterns);
}

std::string_view trimmed(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) {
    return {};
  }
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ParsedMessage parsed = parseMessage(text, kMaxBytes);
  checkExactlyOne(parsed);
  const std::string_view body = trimmed(text);
  if (parsed.command && !body.starts_with('{')) {
    FUZZ_CHECK(parsed.command->patterns.size() == 1 && parsed.command->patterns[0] == body &&
                   parsed.command->keys.empty() && parsed.command->tags.empty(),
               "a plain-text message does not purge exactly its text");
  }
  checkExactlyOne(parseJsonMessage(text, kMaxBytes));
  return 0;
}
