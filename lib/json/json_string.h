// JSON string literals for the bodies the proxy writes itself: batch responses, its own error
// bodies and the admin API's answers. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

namespace edge::filters::json {

// Where writers differ. Both forms decode to the same text when it is UTF-8.
struct StringEscapes {
  // "\n", "\r" and "\t"; when false every control character is written as "\u00XX".
  bool short_forms = true;
  // Text that is not UTF-8 (obs-text in a header) has every byte >= 0x80 escaped as Latin-1
  // ("\u00e9"), so the literal stays valid JSON; when false such bytes are copied unchecked.
  bool latin1_unless_utf8 = true;
};

// Appends `text` as a JSON string literal, quotes included. '"', '\\' and control characters
// are escaped; UTF-8 (and DEL) is copied as it is.
void appendJsonString(std::string& out, std::string_view text, StringEscapes escapes = {});

}  // namespace edge::filters::json
