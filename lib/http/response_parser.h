// llhttp, response side: copies spans, skips interim 1xx responses, knows that HEAD, 204 and
// 304 responses have no body, and completes read-until-close bodies on EOF (llhttp_finish).
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <string>

#include "lib/http/headers.h"

namespace edge::http {

struct ResponseHead {
  int status = 0;
  std::string reason;
  Headers headers;
  bool keep_alive = true;
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool until_close = false;  // body delimited by the connection closing
};

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void onResponseHead(ResponseHead&& head) = 0;
  virtual void onResponseBody(const char* data, size_t len) = 0;
  virtual void onResponseEnd() = 0;
};

class ResponseParser {
 public:
  static constexpr size_t kMaxHeadBytes = 64 * 1024;

  explicit ResponseParser(ResponseSink& sink);
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Call before each exchange; HEAD responses carry no body whatever their headers say. With
  // `upgrade_offered`, a 101 is the end of HTTP on this connection: the bytes after its head
  // belong to the new protocol.
  void expectResponse(bool to_head_request, bool upgrade_offered = false);

  // Switched: a 101 head was delivered; `consumed` is where the new protocol starts.
  enum class Outcome { NeedMore, MessageDone, Switched, Error };
  struct Result {
    Outcome outcome = Outcome::NeedMore;
    size_t consumed = 0;
  };
  Result execute(const char* data, size_t len);
  // The upstream closed. Completes a read-until-close body; anything else mid-message is an
  // error (a truncated response must never look complete).
  Outcome finish();

  bool started() const { return started_; }  // any byte of the current response seen
  const std::string& error() const { return error_; }

 private:
  static const llhttp_settings_t* settings();
  static int onMessageBegin(llhttp_t* p);
  static int onStatus(llhttp_t* p, const char* at, size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueComplete(llhttp_t* p);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, size_t len);
  static int onMessageComplete(llhttp_t* p);
  static ResponseParser& self(llhttp_t* p) { return *static_cast<ResponseParser*>(p->data); }

  int countHeadBytes(size_t len);

  llhttp_t parser_;
  ResponseSink& sink_;
  ResponseHead head_;
  std::string field_;
  std::string value_;
  size_t head_bytes_ = 0;
  bool head_request_ = false;
  bool interim_ = false;   // current message is a 1xx to be skipped
  bool upgrade_offered_ = false;
  bool switched_ = false;  // a 101 came: nothing after it is HTTP
  bool started_ = false;
  bool in_message_ = false;
  bool until_close_ = false;
  std::string error_;
};

}  // namespace edge::http
