// What a response being stored gets from the compression feature, once, for every hit after:
// Vary: Accept-Encoding when hits may come compressed, and with compress_on_store its gzip
// form at once (Brotli follows off the request path). The hits themselves are served by
// CompressFilter from what this leaves in the entry.
#pragma once

#include "filters/compress/encoded_entry.h"
#include "filters/compress/negotiation.h"

namespace edge::filters {

// Before the entry's header block is built: adds Vary: Accept-Encoding when the response is
// one the proxy compresses (or would, for a larger body). Returns whether it is compressible.
bool prepareStoredHeaders(cache::CachedEntry& entry, const CompressionSettings& settings);

// After the header block is built: the gzip form, made now so no hit ever waits for it.
void addGzipForm(cache::CachedEntry& entry, const EncodingLevels& levels);

}  // namespace edge::filters
