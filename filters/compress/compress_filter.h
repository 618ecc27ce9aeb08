// Compression, for every way a response leaves: a hit gets the entry's stored form (gzip made
// on first demand and stored, Brotli made in the background), a body held in full is
// compressed in one piece (a strong variant tag), a streamed body through an encoder flushed
// at each read batch (a weak tag). An origin's gzip is decoded for a client that refuses it.
// Decided once, at the response head, as h2o does.
#pragma once

#include <memory>

#include "filters/chain/filter.h"
#include "filters/chain/services.h"
#include "filters/compress/encoded_entry.h"
#include "filters/compress/negotiation.h"
#include "lib/codec/encoder.h"

namespace edge::filters {

struct CompressFilterConfig {
  CompressionSettings settings;
  EncodingLevels stored_levels;  // of the forms kept with entries
};

class CompressFilter : public Filter {
 public:
  CompressFilter(const CompressFilterConfig& config, const FilterServices& services)
      : config_(config), services_(services) {}

  FilterStatus onRequestHeaders(http::RequestHead& head) override;
  FilterStatus onResponseHeaders(ResponseHead& head, bool& end) override;
  FilterStatus onResponseBody(BodyPiece& piece) override;
  uint64_t bufferLimit() const override { return UINT64_MAX; }  // whole bodies are at hand

 private:
  enum class Mode { None, StoredForm, Whole, Streamed };

  void serveStoredForm(ResponseHead& head);
  FilterStatus startWhole(ResponseHead& head);
  void startStreamed(ResponseHead& head);
  bool startGzipDecoding(ResponseHead& head);
  void encode(BodyPiece& piece);

  const CompressFilterConfig& config_;
  const FilterServices& services_;
  Mode mode_ = Mode::None;
  Coding coding_ = Coding::Identity;
  cache::Body form_body_;                     // the stored form's body, for a hit
  codec::TransformerPtr encoder_;             // compressing (or decoding) a streamed body
};

}  // namespace edge::filters
