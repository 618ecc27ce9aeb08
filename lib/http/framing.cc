#include "lib/http/framing.h"

#include "lib/http/headers.h"

namespace edge::http {

bool statusHasNoBody(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

Framing upstreamRequestFraming(bool has_content_length, uint64_t content_length, bool chunked) {
  if (chunked) {
    return {BodyFraming::Chunked, 0};
  }
  if (has_content_length) {
    return {BodyFraming::ContentLength, content_length};
  }
  return {BodyFraming::None, 0};
}

DownstreamResponseFraming downstreamResponseFraming(const DownstreamResponseInput& in) {
  DownstreamResponseFraming out;
  if (statusHasNoBody(in.status)) {
    return out;
  }
  if (in.request_is_head) {
    out.advertise_length_only = in.has_content_length;
    out.framing.length = in.content_length;
    return out;
  }
  if (in.has_content_length) {
    out.framing = {BodyFraming::ContentLength, in.content_length};
  } else if (in.client_http11) {
    out.framing = {BodyFraming::Chunked, 0};
  } else {
    // An HTTP/1.0 client cannot read chunked: delimit by closing.
    out.framing = {BodyFraming::UntilClose, 0};
    out.must_close = true;
  }
  return out;
}

bool isIdempotentMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

int checkRequestTransferEncoding(const std::vector<std::string_view>& values, std::string& reason) {
  std::vector<std::string_view> codings;
  for (std::string_view value : values) {
    for (std::string_view coding : listElements(value)) {
      codings.push_back(coding);
    }
  }
  if (codings.empty() || !iequals(codings.back(), "chunked")) {
    reason = "Transfer-Encoding must end with exactly \"chunked\" (got \"";
    for (size_t i = 0; i < values.size(); ++i) {
      reason.append(i > 0 ? ", " : "").append(values[i]);
    }
    reason.append("\")");
    return 400;
  }
  if (codings.size() > 1) {
    reason = "transfer coding \"" + std::string(codings.front()) +
             "\" is not supported (only \"chunked\")";
    return 501;
  }
  return 0;
}

}  // namespace edge::http
