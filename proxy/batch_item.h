// One item of a batch request, run as a Stream of its own: the Stream routes it, answers it
// from the cache or follows a fetch like any request, and writes an HTTP/1.1 response into
// this ClientSide, which reads it back into status, headers and body for the batch response.
// Owned by its BatchRun; the Stream goes through the worker's deferred delete.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "filters/batch/batch_request.h"
#include "filters/batch/batch_response.h"
#include "filters/batch/batch_runner.h"
#include "proxy/client_side.h"

namespace edge {

class Stream;
class Timer;
class Worker;

using BatchParent = filters::batch::BatchParent;

class BatchItem : public ClientSide {
 public:
  using Done = std::function<void(filters::batch::ItemResponse&&)>;

  BatchItem(Worker& worker, const BatchParent& parent, uint64_t max_response_bytes);
  ~BatchItem() override;

  // Runs `request`; `done` is called exactly once, unless cancel() comes first.
  // `number`: the item's place in the batch, from 1, for its request id.
  void start(const filters::batch::ItemRequest& request, size_t number, uint64_t timeout_ms,
             Done done);
  void cancel();

  // ClientSide
  void send(std::string&& bytes) override;
  void sendShared(std::shared_ptr<const std::string> buffer, size_t offset,
                  size_t length) override;
  void flush() override {}
  bool congested() override { return false; }
  void pauseReading() override {}
  void resumeReading() override {}
  void responseDone(bool close) override;
  void abortResponse() override;
  void replyLocally(int status, const std::string& reason, bool close,
                    std::string_view extra_headers = {}) override;
  bool closeAfterResponse() const override { return false; }
  bool requestHttp11() const override { return true; }
  const std::string& clientIp() const override { return parent_.client_ip; }
  const std::optional<filters::ClientTls>& clientTls() const override {
    return parent_.client_tls;
  }
  uint64_t acceptedMs() const override { return started_ms_; }

 private:
  void append(const char* data, size_t len);
  void finish(filters::batch::ItemResponse&& response);
  void stopStream(bool unfinished);

  Worker& worker_;
  const BatchParent& parent_;
  uint64_t max_response_bytes_;
  std::string id_;
  uint64_t started_ms_ = 0;
  bool head_request_ = false;
  Done done_;
  std::unique_ptr<Stream> stream_;
  Timer* timer_ = nullptr;
  std::string captured_;  // the response as the Stream wrote it
  bool too_large_ = false;
  bool finished_ = false;
};

}  // namespace edge
