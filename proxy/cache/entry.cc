#include "proxy/cache/entry.h"

namespace edge::cache {
namespace {

// The struct itself, the shared_ptr control block and the store's bookkeeping.
constexpr size_t kEntryOverhead = 256;

}  // namespace

size_t CachedEntry::charge() const {
  size_t bytes = kEntryOverhead + key.size() + reason.size() + etag.size() + last_modified.size() +
                 wire_headers.size();
  for (const http::Header& header : headers) {
    bytes += header.name.size() + header.value.size();
  }
  if (body) {
    bytes += body->size();
  }
  for (const auto& encoded_form : encoded) {
    if (encoded_form) {
      bytes += encoded_form->body->size() + encoded_form->wire_headers.size();
    }
  }
  for (const auto& [name, value] : vary_values) {
    bytes += name.size() + value.size();
  }
  for (const std::string& tag : tags) {
    bytes += tag.size();
  }
  return bytes;
}

}  // namespace edge::cache
