#include "lib/http/request_parser.h"

#include <string_view>
#include <vector>

#include "lib/http/framing.h"

namespace edge::http {

RequestParser::RequestParser(RequestSink& sink, const config::Limits& limits)
    : sink_(sink), limits_(limits) {
  llhttp_init(&parser_, HTTP_REQUEST, settings());
  parser_.data = this;
}

RequestParser::Result RequestParser::execute(const char* data, size_t len) {
  exec_begin_ = data;
  exec_end_ = data + len;
  if (!line_endings_.scan(data, len)) {
    fail(400, "bare LF in the request head: lines must end with CRLF");
    return {Outcome::Error, 0};
  }
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) {
    // llhttp has checked the framing (it refuses a bad Transfer-Encoding only after
    // on_headers_complete): only now may the head go anywhere.
    dispatchHead();
    return {Outcome::NeedMore, len};
  }
  if (err == HPE_PAUSED) {
    const char* pos = llhttp_get_error_pos(&parser_);
    return {Outcome::MessageDone, static_cast<size_t>(pos - data)};
  }
  if (error_.reason.empty()) {
    // llhttp's own diagnosis (bare LF, bad chunk size, CL with TE, ...).
    error_.status = 400;
    error_.reason = std::string("malformed request: ") + llhttp_get_error_reason(&parser_);
  }
  return {Outcome::Error, 0};
}

void RequestParser::resume() { llhttp_resume(&parser_); }

// llhttp (8.x, even in strict mode) takes a bare LF as the end of the request line or of the
// head; a server behind us may not, which is how requests get smuggled. So every line of the
// head must end with CRLF. Bytes after the head (the body) are not looked at.
bool RequestParser::LineEndingCheck::scan(const char* data, size_t len) {
  for (size_t i = 0; i < len && state != State::Done; ++i) {
    const char c = data[i];
    if (c == '\n' && state != State::AfterCr && state != State::LineStartAfterCr &&
        state != State::StartAfterCr) {
      return false;
    }
    switch (state) {
      case State::Start:  // empty lines before the request line are allowed (RFC 9112 2.2)
        state = c == '\r' ? State::StartAfterCr : State::InLine;
        break;
      case State::StartAfterCr:
        state = c == '\n' ? State::Start : State::InLine;
        break;
      case State::InLine:
        state = c == '\r' ? State::AfterCr : State::InLine;
        break;
      case State::AfterCr:
        state = c == '\n' ? State::LineStart : (c == '\r' ? State::AfterCr : State::InLine);
        break;
      case State::LineStart:
        state = c == '\r' ? State::LineStartAfterCr : State::InLine;
        break;
      case State::LineStartAfterCr:
        state = c == '\n' ? State::Done : State::InLine;
        break;
      case State::Done:
        break;
    }
  }
  return true;
}

int RequestParser::fail(int status, std::string reason) {
  error_.status = status;
  error_.reason = std::move(reason);
  return -1;
}

int RequestParser::countHeadBytes(size_t len) {
  head_bytes_ += len;
  if (head_bytes_ > limits_.max_header_bytes) {
    return fail(431, "request header block is larger than " +
                         std::to_string(limits_.max_header_bytes) + " bytes");
  }
  return 0;
}

int RequestParser::onMessageBegin(llhttp_t* p) {
  RequestParser& s = self(p);
  s.head_ = RequestHead{};
  s.field_.clear();
  s.value_.clear();
  s.value_spans_ = 0;
  s.head_bytes_ = 0;
  s.body_bytes_ = 0;
  s.in_message_ = true;
  s.head_complete_ = false;
  s.head_pending_ = false;
  return 0;
}

int RequestParser::onUrl(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = self(p);
  s.head_.target.append(at, len);
  return s.countHeadBytes(len);
}

int RequestParser::onHeaderField(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = self(p);
  s.field_.append(at, len);
  return s.countHeadBytes(len + 4);  // ": " and CRLF count toward the block too
}

int RequestParser::onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = self(p);
  if (s.value_spans_ > 0 && s.isObsFold(at)) {
    return s.fail(400, "obsolete line folding in header \"" + s.field_ + "\"");
  }
  ++s.value_spans_;
  s.last_value_span_hit_end_ = at + len == s.exec_end_;
  s.value_.append(at, len);
  return s.countHeadBytes(len);
}

int RequestParser::onHeaderValueComplete(llhttp_t* p) {
  RequestParser& s = self(p);
  if (s.field_.empty()) {
    return s.fail(400, "header line without a name");
  }
  s.head_.headers.add(std::move(s.field_), std::move(s.value_));
  s.field_.clear();
  s.value_.clear();
  s.value_spans_ = 0;
  return 0;
}

// llhttp accepts obs-fold and hands the continuation line over as one more span of the same
// value. A span that continues a value is legitimate only when the previous span stopped at the
// end of a read; otherwise (or when a line break sits right before it) a fold produced it.
bool RequestParser::isObsFold(const char* at) const {
  return !last_value_span_hit_end_ || (at > exec_begin_ && at[-1] == '\n');
}

int RequestParser::validateHead() {
  const Headers& h = head_.headers;
  if (head_.http_major != 1) {
    return fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  if (parser_.method == HTTP_CONNECT) {
    return fail(501, "CONNECT is not supported by this proxy");
  }
  if (h.count("content-length") > 1) {
    return fail(400, "multiple Content-Length headers");
  }
  if (h.find("content-length") != nullptr && h.find("transfer-encoding") != nullptr) {
    return fail(400, "both Content-Length and Transfer-Encoding are present");
  }
  if (h.find("transfer-encoding") != nullptr) {
    if (head_.http_minor == 0) {
      // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
      return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    }
    std::vector<std::string_view> values;
    for (const Header& header : h) {
      if (iequals(header.name, "transfer-encoding")) {
        values.push_back(header.value);
      }
    }
    std::string reason;
    if (int status = checkRequestTransferEncoding(values, reason); status != 0) {
      return fail(status, std::move(reason));
    }
  }
  size_t hosts = h.count("host");
  if (hosts > 1) {
    return fail(400, "multiple Host headers");
  }
  if (hosts == 0 && head_.http11()) {
    return fail(400, "HTTP/1.1 request without a Host header");
  }
  if (const std::string* expect = h.find("expect")) {
    if (!iequals(*expect, "100-continue")) {
      return fail(417, "unsupported Expect: " + *expect);
    }
    head_.expect_continue = true;
  }
  if (limits_.max_request_body > 0 && head_.has_content_length &&
      head_.content_length > limits_.max_request_body) {
    return fail(413, "request body of " + std::to_string(head_.content_length) +
                         " bytes is larger than the limit of " +
                         std::to_string(limits_.max_request_body) + " bytes");
  }
  return 0;
}

int RequestParser::onHeadersComplete(llhttp_t* p) {
  RequestParser& s = self(p);
  s.head_.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  s.head_.http_major = p->http_major;
  s.head_.http_minor = p->http_minor;
  s.head_.keep_alive = llhttp_should_keep_alive(p) != 0;
  s.head_.chunked = (p->flags & F_CHUNKED) != 0;
  s.head_.has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
  s.head_.content_length = s.head_.has_content_length ? p->content_length : 0;
  if (s.validateHead() != 0) {
    return -1;
  }
  // Upgrade is hop-by-hop and stripped: the request goes upstream as a plain one.
  p->upgrade = 0;
  s.head_complete_ = true;
  s.head_pending_ = true;  // handed over once llhttp has accepted the framing too
  return 0;
}

void RequestParser::dispatchHead() {
  if (head_pending_) {
    head_pending_ = false;
    sink_.onRequestHead(std::move(head_));
  }
}

int RequestParser::onBody(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = self(p);
  s.dispatchHead();
  s.body_bytes_ += len;
  if (s.limits_.max_request_body > 0 && s.body_bytes_ > s.limits_.max_request_body) {
    return s.fail(413, "request body is larger than the limit of " +
                           std::to_string(s.limits_.max_request_body) + " bytes");
  }
  s.sink_.onRequestBody(at, len);
  return 0;
}

int RequestParser::onMessageComplete(llhttp_t* p) {
  RequestParser& s = self(p);
  s.dispatchHead();
  s.in_message_ = false;
  s.line_endings_ = LineEndingCheck{};  // the next bytes start the next request
  s.sink_.onRequestEnd();
  return HPE_PAUSED;  // one request at a time; the connection resumes us later
}

const llhttp_settings_t* RequestParser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_message_begin = &onMessageBegin;
    st.on_url = &onUrl;
    st.on_header_field = &onHeaderField;
    st.on_header_value = &onHeaderValue;
    st.on_header_value_complete = &onHeaderValueComplete;
    st.on_headers_complete = &onHeadersComplete;
    st.on_body = &onBody;
    st.on_message_complete = &onMessageComplete;
    return st;
  }();
  return &kSettings;
}

}  // namespace edge::http
