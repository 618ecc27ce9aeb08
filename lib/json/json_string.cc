#include "lib/json/json_string.h"

#include <simdjson.h>

namespace edge::filters::json {

// simdjson 3.0 escapes strings only inside its internal formatter, hence this one.
void appendJsonString(std::string& out, std::string_view text, StringEscapes escapes) {
  static constexpr char kHex[] = "0123456789abcdef";
  // One look at the whole text: a valid multi-byte sequence must stay intact.
  const bool escape_high = escapes.latin1_unless_utf8 && !simdjson::validate_utf8(text);
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (escapes.short_forms && (c == '\n' || c == '\r' || c == '\t')) {
      out.push_back('\\');
      out.push_back(c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    } else if (byte < 0x20 || (byte >= 0x80 && escape_high)) {
      out.append("\\u00");
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace edge::filters::json
