// Runs the items of one batch request: at most `concurrency` at a time, each after the items
// it depends on, each a BatchItem with its own timeout, then one JSON body with every
// response in request order. Owned by the Stream that took the batch request; destroying it
// cancels whatever still runs.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "filters/batch/batch_request.h"
#include "filters/batch/batch_response.h"
#include "filters/batch/batch_runner.h"
#include "filters/batch/batch_schedule.h"
#include "proxy/batch_item.h"

namespace edge {

class Worker;

// The batch filter's runner on one worker: each run is a BatchRun, cancelled with its handle.
class WorkerBatchRunner : public filters::batch::BatchRunner {
 public:
  explicit WorkerBatchRunner(Worker& worker) : worker_(worker) {}
  std::unique_ptr<filters::Cancellable> run(const config::BatchConfig& config, BatchParent parent,
                                            std::vector<filters::batch::ItemRequest> items,
                                            std::function<void(std::string&&)> done) override;

 private:
  Worker& worker_;
};

class BatchRun {
 public:
  using Done = std::function<void(std::string&& body)>;

  BatchRun(Worker& worker, const config::BatchConfig& config, BatchParent parent,
           std::vector<filters::batch::ItemRequest> items);
  ~BatchRun();

  // `done` gets the response body once every item has an answer.
  void start(Done done);

 private:
  void pump();
  void startItem(size_t index);
  void onItemDone(size_t index, filters::batch::ItemResponse&& response);
  std::string refusal(const filters::batch::ItemRequest& item) const;

  Worker& worker_;
  const config::BatchConfig& config_;
  BatchParent parent_;
  std::vector<filters::batch::ItemRequest> items_;
  std::vector<std::unique_ptr<BatchItem>> running_;
  // Each item's element of "responses", as it will be sent: what counts against
  // max_response_size is what the answer holds (base64 and escapes included).
  std::vector<std::string> responses_;
  filters::batch::Schedule schedule_;
  uint64_t response_bytes_ = 0;  // of responses_ so far, against max_response_size
  Done done_;
  bool pumping_ = false;
  bool pump_again_ = false;
  bool finished_ = false;
};

}  // namespace edge
