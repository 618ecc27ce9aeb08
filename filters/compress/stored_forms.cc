#include "filters/compress/stored_forms.h"

namespace edge::filters {

bool prepareStoredHeaders(cache::CachedEntry& entry, const CompressionSettings& settings) {
  CompressFacts facts{"GET", entry.status, entry.headers, entry.body->size(), false};
  const CompressVerdict verdict = decideCompression(facts, settings.rules);
  if (settings.config->enabled && variesByAcceptEncoding(verdict)) {
    addVaryAcceptEncoding(entry.headers);  // hits may come compressed
  }
  return settings.config->enabled && verdict == CompressVerdict::Compress;
}

void addGzipForm(cache::CachedEntry& entry, const EncodingLevels& levels) {
  entry.encoded[encodedSlot(Coding::Gzip)] = encodeEntry(entry, Coding::Gzip, levels);
}

}  // namespace edge::filters
