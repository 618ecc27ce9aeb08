#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "proxy/log.h"
#include "proxy/request_counters.h"

namespace edge {
namespace {

int64_t epochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int openPath(const config::AccessLogConfig& config) {
  if (config.toStdout()) {
    return STDOUT_FILENO;
  }
  return ::open(config.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

// Milliseconds between two worker clock readings, or -1 when either did not happen.
int64_t between(uint64_t from, uint64_t to) {
  return from == 0 || to == 0 || to < from ? -1 : static_cast<int64_t>(to - from);
}

// What a line shows of a request; views into `ctx` and `upstream` (kept by the caller).
http::AccessLogRecord recordOf(const filters::RequestContext& ctx, const std::string& upstream) {
  http::AccessLogRecord r;
  r.time_ms = epochMs();
  r.client = ctx.client_ip;
  r.method = ctx.method;
  r.target = ctx.target;
  r.protocol = ctx.client_http10 ? "HTTP/1.0" : "HTTP/1.1";
  r.status = ctx.status;
  r.bytes_sent = ctx.bytes_out;
  r.duration_ms = between(ctx.timings.headers_read, ctx.timings.done);
  r.upstream = upstream;
  r.upstream_time_ms = between(ctx.timings.headers_read, ctx.timings.upstream_first_byte);
  if (ctx.outcome != filters::CacheOutcome::None) {
    r.cache = outcomeName(ctx.outcome);
  }
  if (ctx.route_class != nullptr) {
    r.route_class = ctx.route_class->name;
  }
  r.request_id = ctx.request_id;
  r.user_agent = ctx.user_agent;
  r.referer = ctx.referer;
  if (ctx.client_tls) {
    r.tls_version = ctx.client_tls->version;
  }
  return r;
}

}  // namespace

bool AccessLogBuffer::append(std::string_view line) {
  std::lock_guard lock(mutex_);
  if (text_.size() + line.size() > capacity_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  text_.append(line);
  return true;
}

void AccessLogBuffer::takeInto(std::string& out) {
  std::lock_guard lock(mutex_);
  out.append(text_);
  text_.clear();  // keeps its capacity: the worker does not allocate again
}

std::unique_ptr<AccessLog> AccessLog::open(const config::AccessLogConfig& config,
                                           unsigned workers, std::string& error) {
  const int fd = openPath(config);
  if (fd < 0) {
    error = "access_log.path " + config.path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<AccessLog>(new AccessLog(config, workers, fd));
}

AccessLog::AccessLog(const config::AccessLogConfig& config, unsigned workers, int fd)
    : config_(config), fd_(fd) {
  for (unsigned w = 0; w < workers; ++w) {
    buffers_.push_back(std::make_unique<AccessLogBuffer>(config.buffer_size));
  }
  writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (fd_ != STDOUT_FILENO && fd_ >= 0) {
    ::close(fd_);
  }
}

void AccessLog::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_ = true;
  }
  wake_.notify_one();
}

uint64_t AccessLog::dropped() const {
  uint64_t total = 0;
  for (const auto& buffer : buffers_) {
    total += buffer->dropped();
  }
  return total;
}

void AccessLog::run() {
  std::string text;
  bool stopping = false;
  while (!stopping) {
    bool reopen = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, config_.flush_interval, [this] { return stop_ || reopen_; });
      stopping = stop_;
      reopen = std::exchange(reopen_, false);
    }
    // What was written before the signal goes to the old file; what comes after, the new.
    text.clear();
    for (auto& buffer : buffers_) {
      buffer->takeInto(text);
    }
    writeAll(text);
    if (reopen) {
      reopenNow();
    }
    warnIfDropped();
  }
}

void AccessLog::writeAll(const std::string& text) {
  size_t done = 0;
  while (done < text.size() && fd_ >= 0) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      EDGE_LOG_WARN("access log %s: %s; %zu bytes lost", config_.path.c_str(),
                    std::strerror(errno), text.size() - done);
      return;
    }
    done += static_cast<size_t>(n);
  }
}

void AccessLog::reopenNow() {
  if (config_.toStdout()) {
    return;
  }
  const int fd = openPath(config_);
  if (fd < 0) {
    EDGE_LOG_WARN("access log %s: cannot reopen (%s); still writing to the old file",
                  config_.path.c_str(), std::strerror(errno));
    return;
  }
  ::close(fd_);
  fd_ = fd;
  EDGE_LOG_INFO("access log %s reopened", config_.path.c_str());
}

// At most one warning a second, saying how many lines were dropped since the last one.
void AccessLog::warnIfDropped() {
  const uint64_t dropped = this->dropped();
  const int64_t now = steadyMs();
  if (dropped == dropped_warned_ || now - last_warning_ms_ < 1000) {
    return;
  }
  EDGE_LOG_WARN("access log: %llu lines dropped (buffers full; access_log.buffer_size %llu)",
                static_cast<unsigned long long>(dropped - dropped_warned_),
                static_cast<unsigned long long>(config_.buffer_size));
  dropped_warned_ = dropped;
  last_warning_ms_ = now;
}

WorkerAccessLog::WorkerAccessLog(const config::AccessLogConfig& config, AccessLogBuffer& buffer)
    : config_(config),
      buffer_(buffer),
      format_(config.format == config::AccessLogConfig::Format::Json
                  ? http::AccessLogFormat::Json
                  : http::AccessLogFormat::Combined),
      sample_state_(static_cast<uint64_t>(steadyMs()) | 1) {}

// 5xx always; the rest by the sample fraction (xorshift: cheap, per worker, no lock).
bool WorkerAccessLog::sampled(int status) {
  if (status >= 500 || config_.sample >= 1.0) {
    return true;
  }
  if (config_.sample <= 0.0) {
    return false;
  }
  sample_state_ ^= sample_state_ << 13;
  sample_state_ ^= sample_state_ >> 7;
  sample_state_ ^= sample_state_ << 17;
  return static_cast<double>(sample_state_ >> 11) * 0x1.0p-53 < config_.sample;
}

void WorkerAccessLog::request(const filters::RequestContext& ctx) {
  if (ctx.status == 101 || !sampled(ctx.status)) {
    return;
  }
  const std::string upstream = ctx.upstream_server ? ctx.upstream_server->str() : std::string();
  line_.clear();
  http::appendAccessLogLine(line_, recordOf(ctx, upstream), format_);
  buffer_.append(line_);
}

std::function<void(uint64_t, uint64_t)> WorkerAccessLog::tunnel(
    const filters::RequestContext& ctx, uint64_t now_ms) {
  // Owned copies: the tunnel outlives the request and its config snapshot may be replaced.
  struct Copy {
    filters::RequestContext ctx;
    std::string upstream;
    std::string route_class;
    int64_t opened_steady_ms;
    int64_t before_ms;  // from the request's head to the 101
  };
  auto copy = std::make_shared<Copy>();
  copy->ctx.client_ip = ctx.client_ip;
  copy->ctx.method = ctx.method;
  copy->ctx.target = ctx.target;
  copy->ctx.client_http10 = ctx.client_http10;
  copy->ctx.status = ctx.status;
  copy->ctx.bytes_out = ctx.bytes_out;
  copy->ctx.request_id = ctx.request_id;
  copy->ctx.user_agent = ctx.user_agent;
  copy->ctx.referer = ctx.referer;
  copy->ctx.client_tls = ctx.client_tls;
  copy->ctx.timings = ctx.timings;
  copy->upstream = ctx.upstream_server ? ctx.upstream_server->str() : std::string();
  copy->route_class = ctx.route_class ? ctx.route_class->name : std::string();
  copy->opened_steady_ms = steadyMs();
  copy->before_ms = between(ctx.timings.headers_read, now_ms);
  return [this, copy](uint64_t from_client, uint64_t to_client) {
    if (!sampled(copy->ctx.status)) {
      return;
    }
    http::AccessLogRecord r = recordOf(copy->ctx, copy->upstream);
    r.kind = "tunnel";
    r.route_class = copy->route_class;
    r.bytes_sent = copy->ctx.bytes_out + to_client;
    r.bytes_received = static_cast<int64_t>(from_client);
    r.duration_ms = std::max<int64_t>(copy->before_ms, 0) + (steadyMs() - copy->opened_steady_ms);
    line_.clear();
    http::appendAccessLogLine(line_, r, format_);
    buffer_.append(line_);
  };
}

}  // namespace edge
