// One access log line from plain values: JSON lines (one object per line) or a combined-like
// text format (nginx "combined", then the extra fields as key=value). Pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edge::http {

enum class AccessLogFormat { Json, Combined };

// What one request or tunnel was. Empty strings and negative numbers are "not known": JSON
// writes null, the combined format "-".
struct AccessLogRecord {
  int64_t time_ms = 0;  // Unix epoch milliseconds, when the request (or tunnel) ended
  std::string_view kind = "request";  // "request" or "tunnel"
  std::string_view client;
  std::string_view method;
  std::string_view target;
  std::string_view protocol;  // "HTTP/1.0", "HTTP/1.1"
  int status = 0;             // 0: no status (the client left first)
  uint64_t bytes_sent = 0;
  int64_t bytes_received = -1;  // tunnels: bytes from the client
  int64_t duration_ms = -1;
  std::string_view upstream;      // host:port of the server that answered
  int64_t upstream_time_ms = -1;  // to the upstream's first byte
  std::string_view cache;         // "hit", "miss", ...
  std::string_view route_class;
  std::string_view request_id;
  std::string_view user_agent;
  std::string_view tls_version;  // "TLSv1.3" when the client came over TLS
  std::string_view referer;
};

// "2026-12-04T12:00:00.123Z".
std::string isoTimeUtc(int64_t epoch_ms);
// A JSON string literal with its quotes: control bytes, quotes and backslashes escaped,
// invalid UTF-8 replaced by U+FFFD, so any bytes make valid JSON.
void appendJsonString(std::string& out, std::string_view bytes);
// The line, with its '\n', appended to `out`.
void appendAccessLogLine(std::string& out, const AccessLogRecord& record,
                         AccessLogFormat format);

}  // namespace edge::http
