#include "lib/http/serializer.h"

#include <charconv>

namespace edge::http {
namespace {

bool isFramingHeader(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding");
}

void appendHeaders(std::string& out, const Headers& headers) {
  for (const Header& h : headers) {
    if (isFramingHeader(h.name)) {
      continue;
    }
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
}

void appendNumber(std::string& out, uint64_t value, int base) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, base);
  out.append(buf, end);
}

void appendContentLength(std::string& out, uint64_t length) {
  out.append("Content-Length: ");
  appendNumber(out, length, 10);
  out.append("\r\n");
}

void appendConnection(std::string& out, const ResponseConnection& connection) {
  if (connection.close) {
    out.append("Connection: close\r\n");
  } else if (!connection.client_http11) {
    out.append("Connection: keep-alive\r\n");
  }
}

}  // namespace

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string serializeRequestHead(std::string_view method, std::string_view target,
                                 const Headers& headers, const Framing& framing) {
  std::string out;
  out.reserve(256 + headers.size() * 48);
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  appendHeaders(out, headers);
  if (framing.kind == BodyFraming::ContentLength) {
    appendContentLength(out, framing.length);
  } else if (framing.kind == BodyFraming::Chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");
  return out;
}

namespace {

void appendStatusLine(std::string& out, int status, std::string_view reason) {
  out.append("HTTP/1.1 ");
  appendNumber(out, static_cast<uint64_t>(status), 10);
  out.append(" ").append(reason.empty() ? reasonPhrase(status) : reason).append("\r\n");
}

void appendFramingAndEnd(std::string& out, const DownstreamResponseFraming& framing,
                         const ResponseConnection& connection) {
  if (framing.framing.kind == BodyFraming::ContentLength || framing.advertise_length_only) {
    appendContentLength(out, framing.framing.length);
  } else if (framing.framing.kind == BodyFraming::Chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  appendConnection(out, connection);
  out.append("\r\n");
}

}  // namespace

std::string headerLines(const Headers& headers) {
  std::string out;
  appendHeaders(out, headers);
  return out;
}

std::string serializeResponseHead(int status, std::string_view reason, std::string_view header_lines,
                                  const DownstreamResponseFraming& framing,
                                  const ResponseConnection& connection,
                                  std::string_view more_header_lines) {
  std::string out;
  out.reserve(128 + header_lines.size() + more_header_lines.size());
  appendStatusLine(out, status, reason);
  out.append(header_lines);
  out.append(more_header_lines);
  appendFramingAndEnd(out, framing, connection);
  return out;
}

void appendChunkHeader(std::string& out, size_t size) {
  appendNumber(out, size, 16);
  out.append("\r\n");
}

void appendChunk(std::string& out, std::string_view data) {
  if (data.empty()) {
    return;
  }
  appendChunkHeader(out, data.size());
  out.append(data).append("\r\n");
}

std::string localResponse(int status, std::string_view body, const ResponseConnection& connection,
                          bool head_only, std::string_view extra_header_lines) {
  std::string lines = "Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n";
  lines.append(extra_header_lines);
  DownstreamResponseFraming framing;
  framing.framing = {BodyFraming::ContentLength, body.size()};
  std::string out = serializeResponseHead(status, {}, std::string_view(lines), framing, connection);
  if (!head_only) {
    out.append(body);
  }
  return out;
}

}  // namespace edge::http
