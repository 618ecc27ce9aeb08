// llhttp, request side. Copies every span as it arrives (llhttp hands out pointers into the
// read buffer, and a head may span several reads), enforces the header and body limits, and
// pauses at the end of each message so pipelined requests are handled one at a time.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <string>

#include "config/config.h"
#include "lib/http/headers.h"

namespace edge::http {

struct RequestHead {
  std::string method;
  std::string target;
  uint8_t http_major = 1;
  uint8_t http_minor = 1;
  Headers headers;
  bool keep_alive = true;
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool expect_continue = false;

  bool http11() const { return http_major == 1 && http_minor >= 1; }
  bool hasBody() const { return chunked || (has_content_length && content_length > 0); }
};

class RequestSink {
 public:
  virtual ~RequestSink() = default;
  virtual void onRequestHead(RequestHead&& head) = 0;
  virtual void onRequestBody(const char* data, size_t len) = 0;
  virtual void onRequestEnd() = 0;
};

struct ParseError {
  int status = 400;     // 400, 413, 431, 501
  std::string reason;   // human-readable, sent in the error body
};

class RequestParser {
 public:
  RequestParser(RequestSink& sink, const config::Limits& limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  enum class Outcome { NeedMore, MessageDone, Error };
  struct Result {
    Outcome outcome = Outcome::NeedMore;
    size_t consumed = 0;  // bytes of the input used; the rest belongs to the next request
  };
  // Feeds bytes. After MessageDone the parser stays paused until resume().
  Result execute(const char* data, size_t len);
  void resume();

  bool inMessage() const { return in_message_; }
  bool headComplete() const { return head_complete_; }
  const ParseError& error() const { return error_; }

 private:
  static const llhttp_settings_t* settings();
  static int onMessageBegin(llhttp_t* p);
  static int onUrl(llhttp_t* p, const char* at, size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueComplete(llhttp_t* p);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, size_t len);
  static int onMessageComplete(llhttp_t* p);
  static RequestParser& self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

  // Follows the head's line endings across reads; false on a LF without its CR.
  struct LineEndingCheck {
    enum class State { Start, StartAfterCr, InLine, AfterCr, LineStart, LineStartAfterCr, Done };
    State state = State::Start;
    bool scan(const char* data, size_t len);
  };

  void dispatchHead();
  int countHeadBytes(size_t len);
  int fail(int status, std::string reason);
  int validateHead();
  bool isObsFold(const char* at) const;

  llhttp_t parser_;
  RequestSink& sink_;
  const config::Limits limits_;
  RequestHead head_;
  std::string field_;
  std::string value_;
  int value_spans_ = 0;
  bool last_value_span_hit_end_ = false;
  const char* exec_begin_ = nullptr;
  const char* exec_end_ = nullptr;
  size_t head_bytes_ = 0;
  uint64_t body_bytes_ = 0;
  bool in_message_ = false;
  bool head_complete_ = false;
  bool head_pending_ = false;  // complete, not yet handed to the sink
  LineEndingCheck line_endings_;
  ParseError error_;
};

}  // namespace edge::http
