#include "filters/compress/negotiation.h"

#include "filters/compress/encoded_entry.h"

namespace edge::filters {
namespace {

bool compressible(const cache::CachedEntry& entry, const RequestContext& context,
                  const CompressionSettings& settings) {
  // An entry holds a stored form only if it was found compressible when the form was made
  // (its status, headers and size never change; the settings are the snapshot's): what is
  // left to ask is this request's side, without parsing the entry's headers on every hit.
  // (A config reload that changes the compression settings must drop the stored forms.)
  const bool has_form = entry.encoded[encodedSlot(Coding::Gzip)] != nullptr ||
                        entry.encoded[encodedSlot(Coding::Brotli)] != nullptr;
  if (has_form && settings.config->enabled) {
    return !http::iequals(context.method, "HEAD") && !context.client_http10;
  }
  CompressFacts facts{context.method, entry.status, entry.headers, entry.body->size(),
                      context.client_http10};
  return settings.config->enabled &&
         decideCompression(facts, settings.rules) == CompressVerdict::Compress;
}

}  // namespace

Coding entryCoding(const cache::CachedEntry& entry, const RequestContext& context,
                   const CompressionSettings& settings) {
  // Nothing acceptable: identity anyway (as nginx does) rather than a 406. Asked first: most
  // clients settle it without a look at the response.
  Coding coding = chooseCoding(context.accept, true, true).value_or(Coding::Identity);
  if (coding == Coding::Identity || !compressible(entry, context, settings)) {
    return Coding::Identity;
  }
  if (coding == Coding::Brotli && !entry.encoded[encodedSlot(coding)]) {
    // Brotli is made off the request path; this answer falls back to gzip or identity.
    coding = chooseCoding(context.accept, true, false).value_or(Coding::Identity);
  }
  return coding;
}

bool wantsBrotliLater(const cache::CachedEntry& entry, const RequestContext& context,
                      const CompressionSettings& settings) {
  return !entry.encoded[encodedSlot(Coding::Brotli)] &&
         chooseCoding(context.accept, true, true) == Coding::Brotli &&
         compressible(entry, context, settings);
}

WholeBodyCoding wholeBodyCoding(const ResponseHead& head, const RequestContext& context,
                                const CompressionSettings& settings) {
  CompressFacts facts{context.method, head.status, head.headers, head.content_length,
                      context.client_http10};
  WholeBodyCoding decision;
  decision.verdict = decideCompression(facts, settings.rules);
  if (settings.config->enabled && decision.verdict == CompressVerdict::Compress) {
    decision.coding = chooseCoding(context.accept, true, true).value_or(Coding::Identity);
  }
  return decision;
}

}  // namespace edge::filters
