#include "lib/http/access_log_line.h"

#include <cstdio>
#include <ctime>

namespace edge::http {
namespace {

// The length of the well-formed UTF-8 sequence at `s[i]` (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0.
size_t utf8Length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) {
    return 0;
  }
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return n;
}

void appendHexByte(std::string& out, const char* prefix, unsigned value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%s%02X", prefix, value);
  out += buf;
}

// A quoted field of the combined format, escaped as nginx does: '"', '\' and bytes outside
// visible ASCII as \xHH. Empty: "-".
void appendQuoted(std::string& out, std::string_view bytes) {
  out += '"';
  if (bytes.empty()) {
    out += '-';
  }
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7F) {
      appendHexByte(out, "\\x", c);
    } else {
      out += ch;
    }
  }
  out += '"';
}

// A bare key=value field of the combined format; values with spaces or quotes are quoted.
void appendExtra(std::string& out, std::string_view key, std::string_view value) {
  out.append(" ").append(key).append("=");
  bool plain = !value.empty();
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    plain = plain && c > 0x20 && c < 0x7F && c != '"' && c != '\\';
  }
  if (plain) {
    out += value;
  } else {
    appendQuoted(out, value);
  }
}

void appendExtra(std::string& out, std::string_view key, int64_t value) {
  appendExtra(out, key, value < 0 ? std::string("-") : std::to_string(value));
}

void appendJsonField(std::string& out, std::string_view key, std::string_view value) {
  out.append(",\"").append(key).append("\":");
  if (value.empty()) {
    out += "null";
  } else {
    appendJsonString(out, value);
  }
}

void appendJsonField(std::string& out, std::string_view key, int64_t value) {
  out.append(",\"").append(key).append("\":");
  out += value < 0 ? std::string("null") : std::to_string(value);
}

std::tm utcTime(int64_t epoch_ms) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

// The fields both formats write after their own (text or number; a negative number or an
// empty text is unknown), in order.
template <typename Visit>
void forEachExtra(const AccessLogRecord& r, Visit&& visit) {
  visit("type", r.kind);
  visit("request_id", r.request_id);
  visit("duration_ms", r.duration_ms);
  visit("upstream", r.upstream);
  visit("upstream_time_ms", r.upstream_time_ms);
  visit("cache", r.cache);
  visit("route_class", r.route_class);
  visit("tls", r.tls_version);
  if (r.bytes_received >= 0) {
    visit("bytes_received", r.bytes_received);
  }
}

void appendJson(std::string& out, const AccessLogRecord& r) {
  out += "{\"time\":\"" + isoTimeUtc(r.time_ms) + "\"";
  appendJsonField(out, "client", r.client);
  appendJsonField(out, "method", r.method);
  appendJsonField(out, "target", r.target);
  appendJsonField(out, "protocol", r.protocol);
  appendJsonField(out, "status", r.status == 0 ? -1 : r.status);
  appendJsonField(out, "bytes_sent", static_cast<int64_t>(r.bytes_sent));
  appendJsonField(out, "user_agent", r.user_agent);
  appendJsonField(out, "referer", r.referer);
  forEachExtra(r, [&](std::string_view key, auto value) { appendJsonField(out, key, value); });
  out += "}\n";
}

// nginx "combined": $remote_addr - - [$time_local] "$request" $status $bytes_sent
// "$http_referer" "$http_user_agent", then time= and the extra fields as key=value.
void appendCombined(std::string& out, const AccessLogRecord& r) {
  out += r.client.empty() ? std::string_view("-") : r.client;
  char stamp[40];
  const std::tm tm = utcTime(r.time_ms);
  std::strftime(stamp, sizeof stamp, " - - [%d/%b/%Y:%H:%M:%S +0000] ", &tm);
  out += stamp;
  std::string request;
  request.append(r.method).append(" ").append(r.target).append(" ").append(r.protocol);
  appendQuoted(out, request);
  out += ' ';
  out += r.status == 0 ? std::string("-") : std::to_string(r.status);
  out += ' ';
  out += std::to_string(r.bytes_sent);
  out += ' ';
  appendQuoted(out, r.referer);
  out += ' ';
  appendQuoted(out, r.user_agent);
  appendExtra(out, "time", isoTimeUtc(r.time_ms));
  forEachExtra(r, [&](std::string_view key, auto value) { appendExtra(out, key, value); });
  out += '\n';
}

}  // namespace

std::string isoTimeUtc(int64_t epoch_ms) {
  const std::tm tm = utcTime(epoch_ms);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(epoch_ms % 1000));
  return buf;
}

void appendJsonString(std::string& out, std::string_view bytes) {
  out += '"';
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x80) {
      const size_t n = utf8Length(bytes, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(bytes.substr(i, n));
        i += n;
      }
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      appendHexByte(out, "\\u00", c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

void appendAccessLogLine(std::string& out, const AccessLogRecord& record,
                         AccessLogFormat format) {
  if (format == AccessLogFormat::Json) {
    appendJson(out, record);
  } else {
    appendCombined(out, record);
  }
}

}  // namespace edge::http
