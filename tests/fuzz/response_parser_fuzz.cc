// Response heads and framing from an upstream: status line, 1xx interim responses, chunked,
// Content-Length and read-until-close bodies, HEAD, 204 and 304, several responses on one
// connection, a 101 to a request that offered an upgrade, and the upstream closing (finish()).
// Byte 0 picks the read size, byte 1 which responses answer a HEAD request (bits 0-6) and
// whether the requests offer an upgrade (bit 7); the rest is the upstream's byte stream.
//
// Properties: `consumed` never exceeds the bytes given; a response to HEAD, a 204 and a 304
// deliver no body bytes; a response ends only after its head; 1xx heads never reach the sink,
// except a 101 to an offered upgrade, which ends HTTP on the connection (no body, no end).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "lib/http/response_parser.h"

namespace {

using edge::http::ResponseHead;
using edge::http::ResponseParser;

struct CheckingSink : edge::http::ResponseSink {
  bool to_head = false;
  bool upgrade = false;
  bool in_response = false;
  int status = 0;
  void onResponseHead(ResponseHead&& head) override {
    FUZZ_CHECK(!in_response, "a second head inside one response");
    FUZZ_CHECK(head.status >= 200 || (head.status == 101 && upgrade),
               "an interim response reached the sink");
    in_response = true;
    status = head.status;
  }
  void onResponseBody(const char*, size_t len) override {
    FUZZ_CHECK(in_response, "body before the head");
    FUZZ_CHECK(len > 0, "empty body span");
    FUZZ_CHECK(!to_head && status != 204 && status != 304, "body on a bodiless response");
  }
  void onResponseEnd() override {
    FUZZ_CHECK(in_response, "response end without its head");
    in_response = false;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const size_t step = 1 + data[0] % 64;
  unsigned head_mask = data[1] & 0x7f;  // bit i: the i-th exchange is a HEAD request
  CheckingSink sink;
  sink.upgrade = (data[1] & 0x80) != 0;
  ResponseParser parser(sink);
  sink.to_head = head_mask & 1;
  parser.expectResponse(sink.to_head, sink.upgrade);
  const char* pos = reinterpret_cast<const char*>(data + 2);
  const char* const end = reinterpret_cast<const char*>(data + size);
  while (pos < end) {
    const size_t len = std::min(step, static_cast<size_t>(end - pos));
    const ResponseParser::Result result = parser.execute(pos, len);
    if (result.outcome == ResponseParser::Outcome::Error) {
      FUZZ_CHECK(!parser.error().empty(), "error without a reason");
      return 0;
    }
    FUZZ_CHECK(result.consumed <= len, "consumed more than given");
    if (result.outcome == ResponseParser::Outcome::Switched) {
      FUZZ_CHECK(sink.upgrade && sink.status == 101, "switched without a 101 to an upgrade");
      return 0;  // the rest is the new protocol's
    }
    if (result.outcome == ResponseParser::Outcome::MessageDone) {
      FUZZ_CHECK(result.consumed > 0, "a response ended on no byte");
      FUZZ_CHECK(!sink.in_response, "MessageDone before the sink saw the end");
      head_mask >>= 1;
      sink.to_head = head_mask & 1;
      parser.expectResponse(sink.to_head, sink.upgrade);
    }
    pos += result.consumed;
  }
  if (parser.finish() == ResponseParser::Outcome::Error) {
    FUZZ_CHECK(!parser.error().empty(), "finish error without a reason");
  }
  return 0;
}
