// Access log lines (lib/http/access_log_line) from client bytes: the input, split at the first
// '\n', is the request target and the User-Agent; the X-Request-Id check (lib/http/request_id)
// reads the input as an incoming id.
//
// Properties: a JSON line is one line of valid UTF-8 with no control bytes, starting with '{'
// and ending with "}\n"; a combined line is one line of visible ASCII and spaces; an id that
// validRequestId keeps is printable ASCII of 1..200 bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "lib/http/access_log_line.h"
#include "lib/http/request_id.h"

namespace {

// Well-formed UTF-8 (RFC 3629), checked independently of the formatter's own decoder.
bool validUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      return false;
    }
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b >> 6) != 0x2) {
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  edge::http::AccessLogRecord record;
  record.time_ms = 1796387696789;
  record.method = "GET";
  record.protocol = "HTTP/1.1";
  record.target = input.substr(0, eol);
  record.user_agent = eol == std::string_view::npos ? input : input.substr(eol + 1);
  record.request_id = record.user_agent;

  std::string json;
  edge::http::appendAccessLogLine(json, record, edge::http::AccessLogFormat::Json);
  FUZZ_CHECK(json.size() >= 3 && json.front() == '{' && json.substr(json.size() - 2) == "}\n",
             "a JSON line is one object and a newline");
  FUZZ_CHECK(validUtf8(json), "a JSON line is valid UTF-8");
  for (size_t i = 0; i + 1 < json.size(); ++i) {
    FUZZ_CHECK(static_cast<unsigned char>(json[i]) >= 0x20 && json[i] != 0x7F,
               "no control bytes inside a JSON line");
  }

  std::string combined;
  edge::http::appendAccessLogLine(combined, record, edge::http::AccessLogFormat::Combined);
  FUZZ_CHECK(!combined.empty() && combined.back() == '\n', "a combined line ends its line");
  for (size_t i = 0; i + 1 < combined.size(); ++i) {
    const auto c = static_cast<unsigned char>(combined[i]);
    FUZZ_CHECK(c >= 0x20 && c < 0x7F, "a combined line is visible ASCII and spaces");
  }

  if (edge::http::validRequestId(input)) {
    FUZZ_CHECK(!input.empty() && input.size() <= edge::http::kMaxRequestIdSize,
               "a kept id has 1..200 bytes");
    for (char ch : input) {
      FUZZ_CHECK(ch > 0x20 && ch < 0x7F, "a kept id is visible ASCII");
    }
  }
  return 0;
}
