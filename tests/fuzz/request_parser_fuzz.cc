// Request heads and framing through the llhttp glue: request line (origin-, absolute- and
// asterisk-form targets), header validation, Content-Length and chunked bodies, pipelined
// requests. The first input byte picks the read size, so spans cross read boundaries; the rest
// is the byte stream of one connection.
//
// Properties: `consumed` never exceeds the bytes given; a message ends only after its head;
// and the parser never hands a head to its sink for a message whose head it then rejects.
// The last one is checked on a second pass that feeds one byte per call, so a head rejected by
// its own bytes shows as an Error from the same call that delivered it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "lib/http/request_parser.h"

namespace {

using edge::http::RequestHead;
using edge::http::RequestParser;

struct CountingSink : edge::http::RequestSink {
  int heads = 0;
  int ends = 0;
  void onRequestHead(RequestHead&&) override { ++heads; }
  void onRequestBody(const char*, size_t len) override { FUZZ_CHECK(len > 0, "empty body span"); }
  void onRequestEnd() override {
    ++ends;
    FUZZ_CHECK(ends == heads, "message end without its head");
  }
};

edge::config::Limits fuzzLimits() {
  edge::config::Limits limits;
  limits.max_header_bytes = 2048;  // small enough that the fuzzer reaches 431
  limits.max_request_body = 1024;  // and 413
  return limits;
}

// Feeds `data` in reads of at most `step` bytes, resuming after each message like a
// connection does. Calls on_error(heads_before_this_call) when the parser refuses the input.
template <typename OnError>
void feed(const uint8_t* data, size_t size, size_t step, CountingSink& sink, OnError on_error) {
  RequestParser parser(sink, fuzzLimits());
  const char* pos = reinterpret_cast<const char*>(data);
  const char* const end = pos + size;
  while (pos < end) {
    const size_t len = std::min(step, static_cast<size_t>(end - pos));
    const int heads_before = sink.heads;
    const RequestParser::Result result = parser.execute(pos, len);
    if (result.outcome == RequestParser::Outcome::Error) {
      FUZZ_CHECK(!parser.error().reason.empty(), "error without a reason");
      on_error(heads_before);
      return;
    }
    FUZZ_CHECK(result.consumed <= len, "consumed more than given");
    if (result.outcome == RequestParser::Outcome::MessageDone) {
      FUZZ_CHECK(result.consumed > 0, "a message ended on no byte");  // else we would spin
      parser.resume();
    }
    pos += result.consumed;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const size_t step = 1 + data[0] % 64;
  CountingSink sink;
  feed(data + 1, size - 1, step, sink, [](int) {});

  CountingSink bytewise;
  feed(data + 1, size - 1, 1, bytewise, [&](int heads_before) {
    const bool head_then_rejected = bytewise.heads > heads_before;
    FUZZ_CHECK(!head_then_rejected,
               "a head was delivered for a message whose head is then rejected");
  });
  return 0;
}
