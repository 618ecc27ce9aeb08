// A POST to batch.path: the body is read (bounded by max_request_size), checked as a whole
// (batch_request), and its items run through the BatchRunner; the answer (or a JSON error)
// goes out through the filters before this one, compressed like any other response.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "filters/batch/batch_runner.h"
#include "filters/chain/filter.h"

namespace edge::filters::batch {

class BatchFilter : public Filter {
 public:
  BatchFilter(const config::BatchConfig& config, BatchRunner& runner)
      : config_(config), runner_(runner) {}

  FilterStatus onRequestHeaders(http::RequestHead& head) override;
  FilterStatus onRequestBody(BodyPiece& piece) override;

 private:
  void run();
  void respondJson(int status, std::string_view message);

  const config::BatchConfig& config_;
  BatchRunner& runner_;
  BatchParent parent_;
  std::string body_;
  std::unique_ptr<Cancellable> running_;
  bool refused_ = false;
};

}  // namespace edge::filters::batch
