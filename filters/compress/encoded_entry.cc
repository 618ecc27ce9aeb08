#include "filters/compress/encoded_entry.h"

#include "lib/codec/brotli_encoder.h"
#include "lib/codec/gzip_encoder.h"
#include "filters/conditional/etag.h"

namespace edge::filters {

std::string compressBody(const std::string& body, Coding coding, const EncodingLevels& levels) {
  std::string compressed = coding == Coding::Gzip
                               ? codec::gzipCompress(body, levels.gzip_level)
                               : codec::brotliCompress(body, levels.brotli_quality);
  // The encoders grow their output in steps (16 KB for gzip); a stored form keeps only what
  // it needs, or a 500-byte form would hold 16 KB of the cache budget.
  compressed.shrink_to_fit();
  return compressed;
}

std::shared_ptr<const cache::CachedEntry::Encoded> encodedForm(const cache::CachedEntry& entry,
                                                               Coding coding,
                                                               std::string&& compressed) {
  auto encoded = std::make_shared<cache::CachedEntry::Encoded>();
  encoded->body = std::make_shared<const std::string>(std::move(compressed));
  http::Headers headers = entry.headers;
  headers.set("Content-Encoding", std::string(codingToken(coding)));
  if (const std::string* etag = entry.headers.find("etag")) {
    // Each encoding is its own representation with its own strong validator.
    headers.set("ETag", variantTag(*etag, coding));
  }
  addVaryAcceptEncoding(headers);
  headers.appendToList("Via", "1.1 edge-proxy");
  encoded->wire_headers = cache::wireHeaderBlock(headers);
  return encoded;
}

std::shared_ptr<const cache::CachedEntry::Encoded> encodeEntry(const cache::CachedEntry& entry,
                                                               Coding coding,
                                                               const EncodingLevels& levels) {
  return encodedForm(entry, coding, compressBody(*entry.body, coding, levels));
}

}  // namespace edge::filters
