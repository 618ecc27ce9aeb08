#include "proxy/batch_run.h"

#include <algorithm>

#include "proxy/worker.h"

namespace edge {
namespace {

std::vector<std::vector<size_t>> dependencies(
    const std::vector<filters::batch::ItemRequest>& items) {
  std::vector<std::vector<size_t>> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    out.push_back(item.depends_on);
  }
  return out;
}

}  // namespace

BatchRun::BatchRun(Worker& worker, const config::BatchConfig& config, BatchParent parent,
                   std::vector<filters::batch::ItemRequest> items)
    : worker_(worker),
      config_(config),
      parent_(std::move(parent)),
      items_(std::move(items)),
      running_(items_.size()),
      responses_(items_.size()),
      schedule_(dependencies(items_), config.concurrency) {}

BatchRun::~BatchRun() {
  for (auto& item : running_) {
    if (item) {
      item->cancel();
    }
  }
}

void BatchRun::start(Done done) {
  done_ = std::move(done);
  pump();
}

// Starts what may run. Items answered at once (cache hits) finish inside startItem and ask
// for another round instead of recursing.
void BatchRun::pump() {
  if (pumping_) {
    pump_again_ = true;
    return;
  }
  pumping_ = true;
  do {
    pump_again_ = false;
    for (size_t index : schedule_.takeReady()) {
      startItem(index);
    }
  } while (pump_again_);
  pumping_ = false;
  if (schedule_.allFinished() && !finished_) {
    finished_ = true;
    std::string body = "{\"responses\":[";
    for (size_t i = 0; i < responses_.size(); ++i) {
      if (i > 0) {
        body.push_back(',');
      }
      body.append(responses_[i]);
    }
    body.append("]}");
    if (Done done = std::move(done_)) {
      done(std::move(body));
    }
  }
}

// Why an item may not run as written, or "".
std::string BatchRun::refusal(const filters::batch::ItemRequest& item) const {
  std::string problem = filters::batch::targetProblem(item.path, config_.path);
  if (!problem.empty()) {
    return "path " + problem;
  }
  for (const auto& [name, value] : item.headers) {
    const auto& inherited = config_.inherit_headers;
    if (std::find(inherited.begin(), inherited.end(), name) != inherited.end()) {
      return "header " + name + " comes from the batch request and may not be set per item";
    }
    if (name == "host" || name == "content-length" || name == "transfer-encoding" ||
        name == "connection") {
      return "header " + name + " may not be set per item";
    }
  }
  return "";
}

void BatchRun::startItem(size_t index) {
  const filters::batch::ItemRequest& item = items_[index];
  if (std::string why = refusal(item); !why.empty()) {
    onItemDone(index, filters::batch::errorResponse(item.id, 400, why));
    return;
  }
  // Embedding never makes a body smaller, so a body larger than what is left cannot fit.
  const uint64_t left =
      config_.max_response_size - std::min(response_bytes_, config_.max_response_size);
  running_[index] = std::make_unique<BatchItem>(worker_, parent_, left);
  running_[index]->start(item, index + 1, static_cast<uint64_t>(config_.item_timeout.count()),
                         [this, index](filters::batch::ItemResponse&& response) {
                           onItemDone(index, std::move(response));
                         });
}

// The short error answers of items that do not fit are embedded all the same.
void BatchRun::onItemDone(size_t index, filters::batch::ItemResponse&& response) {
  std::string embedded;
  filters::batch::appendItemResponse(embedded, response);
  if (response_bytes_ + embedded.size() > config_.max_response_size) {
    response = filters::batch::errorResponse(
        items_[index].id, 502, "the response would take the batch over its max_response_size");
    embedded.clear();
    filters::batch::appendItemResponse(embedded, response);
  }
  response_bytes_ += embedded.size();
  responses_[index] = std::move(embedded);
  for (size_t blocked : schedule_.finish(index, response.status < 400)) {
    filters::batch::appendItemResponse(
        responses_[blocked],
        filters::batch::errorResponse(items_[blocked].id, 424,
                                      "a request this item depends on failed"));
  }
  pump();
}

namespace {

class RunningBatch : public filters::Cancellable {
 public:
  explicit RunningBatch(std::unique_ptr<BatchRun> run) : run_(std::move(run)) {}
  void cancel() override { run_.reset(); }

 private:
  std::unique_ptr<BatchRun> run_;  // destroying it cancels the items still running
};

}  // namespace

std::unique_ptr<filters::Cancellable> WorkerBatchRunner::run(
    const config::BatchConfig& config, BatchParent parent,
    std::vector<filters::batch::ItemRequest> items, std::function<void(std::string&&)> done) {
  auto batch = std::make_unique<BatchRun>(worker_, config, std::move(parent), std::move(items));
  BatchRun& started = *batch;
  auto handle = std::make_unique<RunningBatch>(std::move(batch));
  started.start(std::move(done));
  return handle;
}

}  // namespace edge
