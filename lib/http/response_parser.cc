#include "lib/http/response_parser.h"

#include <string>

namespace edge::http {

ResponseParser::ResponseParser(ResponseSink& sink) : sink_(sink) {
  llhttp_init(&parser_, HTTP_RESPONSE, settings());
  parser_.data = this;
}

void ResponseParser::expectResponse(bool to_head_request, bool upgrade_offered) {
  head_request_ = to_head_request;
  upgrade_offered_ = upgrade_offered;
  switched_ = false;
  started_ = false;
  in_message_ = false;
  error_.clear();
  if (llhttp_get_errno(&parser_) == HPE_PAUSED) {
    llhttp_resume(&parser_);
  }
}

ResponseParser::Result ResponseParser::execute(const char* data, size_t len) {
  if (len > 0) {
    started_ = true;
  }
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) {
    return {Outcome::NeedMore, len};
  }
  if (err == HPE_PAUSED || (err == HPE_PAUSED_UPGRADE && switched_)) {
    const auto consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
    return {switched_ ? Outcome::Switched : Outcome::MessageDone, consumed};
  }
  if (error_.empty()) {
    error_ = std::string("malformed response: ") + llhttp_get_error_reason(&parser_);
  }
  return {Outcome::Error, 0};
}

ResponseParser::Outcome ResponseParser::finish() {
  if (!in_message_) {
    if (started_) {
      error_ = "upstream closed the connection in the middle of a response head";
      return Outcome::Error;
    }
    error_ = "upstream closed the connection before responding";
    return Outcome::Error;
  }
  if (until_close_ && llhttp_finish(&parser_) == HPE_PAUSED) {
    return Outcome::MessageDone;  // on_message_complete fired from llhttp_finish
  }
  error_ = "upstream closed the connection before the response body was complete";
  return Outcome::Error;
}

int ResponseParser::countHeadBytes(size_t len) {
  head_bytes_ += len;
  if (head_bytes_ > kMaxHeadBytes) {
    error_ = "upstream response head is larger than 64 KiB";
    return -1;
  }
  return 0;
}

int ResponseParser::onMessageBegin(llhttp_t* p) {
  ResponseParser& s = self(p);
  s.head_ = ResponseHead{};
  s.field_.clear();
  s.value_.clear();
  s.head_bytes_ = 0;
  s.interim_ = false;
  s.in_message_ = false;
  s.until_close_ = false;
  return 0;
}

int ResponseParser::onStatus(llhttp_t* p, const char* at, size_t len) {
  ResponseParser& s = self(p);
  s.head_.reason.append(at, len);
  return s.countHeadBytes(len);
}

int ResponseParser::onHeaderField(llhttp_t* p, const char* at, size_t len) {
  ResponseParser& s = self(p);
  s.field_.append(at, len);
  return s.countHeadBytes(len + 4);
}

int ResponseParser::onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  ResponseParser& s = self(p);
  s.value_.append(at, len);
  return s.countHeadBytes(len);
}

int ResponseParser::onHeaderValueComplete(llhttp_t* p) {
  ResponseParser& s = self(p);
  s.head_.headers.add(std::move(s.field_), std::move(s.value_));
  s.field_.clear();
  s.value_.clear();
  return 0;
}

int ResponseParser::onHeadersComplete(llhttp_t* p) {
  ResponseParser& s = self(p);
  int status = p->status_code;
  if (status < 100) {  // llhttp takes any three digits; RFC 9110 15 starts at 100
    s.error_ = "upstream sent the invalid status code " + std::to_string(status);
    return -1;
  }
  if (status == 101 && !s.upgrade_offered_) {
    s.error_ = "upstream switched protocols without being asked to";
    return -1;
  }
  if (status == 101) {
    s.switched_ = true;
    s.head_.status = 101;
    s.head_.keep_alive = false;
    s.sink_.onResponseHead(std::move(s.head_));
    return 1;  // no body: the new protocol follows the head
  }
  if (status >= 100 && status < 200) {
    s.interim_ = true;  // 100 Continue, 103 Early Hints: not forwarded
    // A 1xx ends with its header section (RFC 9110 15.2) whatever Content-Length or
    // Transfer-Encoding it carries; read as a body, those bytes would reach the sink as the
    // body of a response whose head it has not seen, and the final head would be lost.
    return 1;
  }
  ResponseHead& h = s.head_;
  h.status = status;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  h.chunked = (p->flags & F_CHUNKED) != 0;
  h.has_content_length = (p->flags & F_CONTENT_LENGTH) != 0 && !h.chunked;
  h.content_length = h.has_content_length ? p->content_length : 0;
  bool no_body = s.head_request_ || status == 204 || status == 304;
  h.until_close = !no_body && !h.chunked && !h.has_content_length;
  if (h.until_close) {
    h.keep_alive = false;
  }
  s.until_close_ = h.until_close;
  s.in_message_ = true;
  s.sink_.onResponseHead(std::move(s.head_));
  return no_body ? 1 : 0;  // 1 tells llhttp there is no body to read
}

int ResponseParser::onBody(llhttp_t* p, const char* at, size_t len) {
  self(p).sink_.onResponseBody(at, len);
  return 0;
}

int ResponseParser::onMessageComplete(llhttp_t* p) {
  ResponseParser& s = self(p);
  if (s.switched_) {
    return HPE_PAUSED;  // not an end of response: the connection changed protocols
  }
  if (s.interim_) {
    s.interim_ = false;
    return 0;  // keep parsing: the final response follows
  }
  s.in_message_ = false;
  s.sink_.onResponseEnd();
  return HPE_PAUSED;
}

const llhttp_settings_t* ResponseParser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_message_begin = &onMessageBegin;
    st.on_status = &onStatus;
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
