// What the batch filter needs from the runtime: running the items, each a sub-request through
// the whole pipeline of its own (routing, cache, coalescing, fields), and one answer when all
// are done. Destroying the returned handle cancels the items still running.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "filters/batch/batch_request.h"
#include "filters/chain/filter.h"
#include "filters/chain/request_context.h"

namespace edge::filters::batch {

// What every item takes from the batch request.
struct BatchParent {
  std::string host;
  std::string client_ip;
  std::optional<ClientTls> client_tls;  // the batch request's: every item came over it
  std::string request_id;  // the batch's; item n (from 1) gets "<request_id>-<n>"
  std::vector<std::pair<std::string, std::string>> inherited;  // headers every item gets
};

class BatchRunner {
 public:
  virtual ~BatchRunner() = default;
  // `done` gets the {"responses":[...]} body once every item has an answer: inline when
  // every item is answered at once (cache hits), else later.
  virtual std::unique_ptr<Cancellable> run(const config::BatchConfig& config, BatchParent parent,
                                           std::vector<ItemRequest> items,
                                           std::function<void(std::string&&)> done) = 0;
};

}  // namespace edge::filters::batch
