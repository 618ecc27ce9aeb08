// The access log's runtime: each worker formats its finished requests into a buffer of its
// own (never blocking: a full buffer counts the line as dropped); one writer thread takes the
// buffers every flush interval and appends them to the file (O_APPEND) or stdout. SIGUSR1
// asks the writer to reopen the file after a rotation.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/access_log_config.h"
#include "filters/chain/request_context.h"
#include "lib/http/access_log_line.h"

namespace edge {

// One worker's lines waiting for the writer. The worker appends, the writer swaps the text
// out; the lock is held for a copy or a swap only.
class AccessLogBuffer {
 public:
  explicit AccessLogBuffer(size_t capacity) : capacity_(capacity) {}
  // False (and counted as dropped) when the line does not fit.
  bool append(std::string_view line);
  void takeInto(std::string& out);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  const size_t capacity_;
  std::mutex mutex_;
  std::string text_;
  std::atomic<uint64_t> dropped_{0};
};

class AccessLog {
 public:
  // Opens the file (or takes stdout); null with `error` when it cannot be opened.
  static std::unique_ptr<AccessLog> open(const config::AccessLogConfig& config, unsigned workers,
                                         std::string& error);
  ~AccessLog();  // writes what is buffered, then stops the writer
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  const config::AccessLogConfig& config() const { return config_; }
  AccessLogBuffer& buffer(unsigned worker) { return *buffers_[worker]; }
  // Any thread (the main loop's SIGUSR1): the writer reopens the path before its next write.
  void reopen();
  uint64_t dropped() const;

 private:
  AccessLog(const config::AccessLogConfig& config, unsigned workers, int fd);
  void run();
  void writeAll(const std::string& text);
  void reopenNow();
  void warnIfDropped();

  const config::AccessLogConfig config_;
  std::vector<std::unique_ptr<AccessLogBuffer>> buffers_;
  int fd_;  // the writer thread's
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool reopen_ = false;
  uint64_t dropped_warned_ = 0;
  int64_t last_warning_ms_ = 0;
  std::thread writer_;
};

// A worker's side: decides whether a request is logged, formats it, appends it.
class WorkerAccessLog {
 public:
  WorkerAccessLog(const config::AccessLogConfig& config, AccessLogBuffer& buffer);

  // A finished request (not a 101: its tunnel is logged when it closes).
  void request(const filters::RequestContext& ctx);
  // The line a tunnel writes when it closes, from the request that opened it.
  std::function<void(uint64_t from_client, uint64_t to_client)> tunnel(
      const filters::RequestContext& ctx, uint64_t now_ms);

 private:
  bool sampled(int status);

  const config::AccessLogConfig& config_;
  AccessLogBuffer& buffer_;
  http::AccessLogFormat format_;
  uint64_t sample_state_;
  std::string line_;  // reused
};

}  // namespace edge
