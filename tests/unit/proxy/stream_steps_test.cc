// The Stream's steps (route, request filters, upstream, deliver, done) on a real worker loop,
// with a fake client that records what the Stream does to it and an origin that is a plain
// blocking socket server: nothing on the origin side shares the proxy's HTTP code, so a bug
// there cannot hide a bug in the proxy.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "lib/cache/shared_cache.h"
#include "lib/http/request_parser.h"
#include "proxy/client_side.h"
#include "proxy/request_counters.h"
#include "proxy/runtime.h"
#include "proxy/stream.h"
#include "proxy/worker.h"

namespace edge {
namespace {

// Only a guard against a hang: every wait ends as soon as its event happens.
constexpr std::chrono::seconds kGuard{30};
constexpr const char* kClientIp = "192.0.2.10";

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  size_t end = text.find_last_not_of(" \t");
  return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
}

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // names in lower case

// "Name: value" lines after a first line, split at CRLF.
void splitHead(const std::string& head, std::string& first_line, HeaderList& headers) {
  size_t at = head.find("\r\n");
  first_line = head.substr(0, at);
  while (at != std::string::npos) {
    size_t begin = at + 2;
    at = head.find("\r\n", begin);
    std::string line = head.substr(begin, at == std::string::npos ? std::string::npos : at - begin);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      headers.emplace_back(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
  }
}

std::optional<std::string> headerOf(const HeaderList& headers, const std::string& name) {
  for (const auto& [n, v] : headers) {
    if (n == name) {
      return v;
    }
  }
  return std::nullopt;
}

// ---- the origin --------------------------------------------------------------------------

// One request the origin read.
struct SeenRequest {
  std::string request_line;
  HeaderList headers;
  std::string body;
  std::optional<std::string> header(const std::string& name) const {
    return headerOf(headers, name);
  }
};

// A blocking HTTP/1.1 origin on 127.0.0.1, one connection at a time: it reads a request head
// (and a Content-Length body), records it and writes the canned bytes, then closes. With
// `hold`, it waits before answering until release() or until the proxy closes the connection.
class Origin {
 public:
  Origin() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // any free port
    socklen_t len = sizeof(addr);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        ::pipe2(wake_, O_CLOEXEC) != 0) {
      std::perror("origin");
      std::abort();
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~Origin() { stop(); }

  uint16_t port() const { return port_; }

  void respondWith(std::string bytes, bool hold = false) {
    std::lock_guard<std::mutex> lock(mutex_);
    response_ = std::move(bytes);
    hold_ = hold;
  }

  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released_ = true;
    }
    wake();
  }

  void stop() {
    if (!thread_.joinable()) {
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake();
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  int connections() {
    std::lock_guard<std::mutex> lock(mutex_);
    return connections_;
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(seen_.size());
  }
  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

  // A held request has arrived and its answer waits.
  bool waitHolding() { return waitFor([this] { return holding_; }); }
  // The proxy closed a held connection (the origin's read returned 0).
  bool waitPeerClosed() { return waitFor([this] { return peer_closed_; }); }

 private:
  enum class Wait { Ready, Released, Stopped };

  template <class Pred>
  bool waitFor(Pred pred) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kGuard, pred);
  }

  void wake() {
    char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_[1], &byte, 1);
  }

  // Blocks until `fd` is readable, or a stop (or, when `releasable`, a release) comes.
  Wait waitReadable(int fd, bool releasable) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) {
          return Wait::Stopped;
        }
        if (releasable && released_) {
          released_ = false;
          return Wait::Released;
        }
      }
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return Wait::Stopped;
      }
      if (fds[1].revents != 0) {
        char drain[64];
        [[maybe_unused]] ssize_t n = ::read(wake_[0], drain, sizeof(drain));
        continue;  // the flags say what happened
      }
      if (fds[0].revents != 0) {
        return Wait::Ready;
      }
    }
  }

  void run() {
    while (waitReadable(listen_fd_, false) == Wait::Ready) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++connections_;
      }
      serve(fd);
      ::close(fd);
    }
  }

  // False when the connection ended (or the origin stops) before more bytes came.
  bool readMore(int fd, std::string& in) {
    if (waitReadable(fd, false) != Wait::Ready) {
      return false;
    }
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) {
      return false;
    }
    in.append(buffer, static_cast<size_t>(n));
    return true;
  }

  void serve(int fd) {
    std::string in;
    size_t head_end;
    while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
      if (!readMore(fd, in)) {
        return;
      }
    }
    SeenRequest request;
    splitHead(in.substr(0, head_end), request.request_line, request.headers);
    request.body = in.substr(head_end + 4);
    size_t length = std::stoul(request.header("content-length").value_or("0"));
    while (request.body.size() < length) {
      if (!readMore(fd, request.body)) {
        return;
      }
    }
    std::string response;
    bool hold;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      seen_.push_back(std::move(request));
      response = response_;
      hold = hold_;
      holding_ = hold;
    }
    changed_.notify_all();
    if (hold && !holdUntilReleased(fd)) {
      return;
    }
    for (size_t sent = 0; sent < response.size();) {
      ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      sent += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
  }

  // True when released; false when the proxy closed the connection (or the origin stops).
  bool holdUntilReleased(int fd) {
    for (;;) {
      Wait wait = waitReadable(fd, true);
      if (wait == Wait::Released) {
        return true;
      }
      if (wait == Wait::Stopped) {
        return false;
      }
      char byte;
      if (::read(fd, &byte, 1) <= 0) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          peer_closed_ = true;
        }
        changed_.notify_all();
        return false;
      }
    }
  }

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::string response_;
  bool hold_ = false;
  bool released_ = false;
  bool stopping_ = false;
  bool holding_ = false;
  bool peer_closed_ = false;
  int connections_ = 0;
  std::vector<SeenRequest> seen_;
};

std::string cannedResponse(int status, const std::string& reason, const std::string& body,
                           const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

// ---- the client --------------------------------------------------------------------------

struct LocalReply {
  int status = 0;
  std::string reason;
  bool close = false;
  std::string extra_headers;
};

// Everything the Stream did to its client.
struct ClientRecord {
  std::string bytes;  // send() and sendShared(), in order
  int responses_done = 0;
  int aborts = 0;
  std::vector<LocalReply> local_replies;
  int calls_after_gone = 0;  // any ClientSide call once the connection was gone
};

// The response the client received, read back from its bytes.
struct ClientResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
  bool complete = false;  // the whole body as framed
  std::optional<std::string> header(const std::string& name) const {
    return headerOf(headers, name);
  }
};

ClientResponse parseResponse(const std::string& bytes) {
  ClientResponse response;
  size_t head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return response;
  }
  std::string status_line;
  splitHead(bytes.substr(0, head_end), status_line, response.headers);
  if (status_line.size() >= 12) {
    response.status = std::stoi(status_line.substr(9, 3));
  }
  std::string rest = bytes.substr(head_end + 4);
  if (auto length = response.header("content-length")) {
    size_t n = std::stoul(*length);
    response.complete = rest.size() == n;
    response.body = rest.substr(0, n);
  } else if (response.header("transfer-encoding") == "chunked") {
    size_t at = 0;
    for (;;) {
      size_t line_end = rest.find("\r\n", at);
      if (line_end == std::string::npos) {
        break;
      }
      size_t size = std::stoul(rest.substr(at, line_end - at), nullptr, 16);
      if (size == 0) {
        response.complete = rest.compare(line_end, 4, "\r\n\r\n") == 0;
        break;
      }
      response.body.append(rest, line_end + 2, size);
      at = line_end + 2 + size + 2;
    }
  } else {
    response.body = rest;
  }
  return response;
}

// A ClientSide like DownstreamConn's as the Stream sees it: it owns the Stream, retires it
// through the worker's deferred delete once the response is over, and tells it when the
// connection is gone. Worker thread only, except the futures.
class FakeClient : public ClientSide {
 public:
  explicit FakeClient(Worker& worker) : worker_(worker) {}

  std::future<void> settled() { return settled_.get_future(); }
  std::future<void> destroyed() { return destroyed_.get_future(); }

  // As DownstreamConn runs a parsed request: head, body, end (the end only to a live stream).
  void begin(http::RequestHead&& head, const std::string& body) {
    accepted_ms_ = worker_.nowMs();
    stream_ = std::make_unique<Stream>(*this, worker_, std::move(head));
    stream_->start();  // may answer at once
    if (!body.empty() && stream_) {
      stream_->onRequestBody(body.data(), body.size());
    }
    if (stream_) {
      stream_->onRequestEnd();
    }
  }

  // The connection closes under the stream (DownstreamConn::close). `keep_stream` holds the
  // stream past it, so whatever onDownstreamGone must stop cannot be stopped by its destructor.
  void gone(bool keep_stream = false) {
    if (!gone_) {
      gone_ = true;
      if (stream_) {
        stream_->onDownstreamGone();
      }
    }
    if (!keep_stream) {
      retire();
    }
  }

  ClientRecord record() const { return record_; }

  // ClientSide
  void send(std::string&& bytes) override {
    noteCall();
    record_.bytes += bytes;
  }
  void sendShared(std::shared_ptr<const std::string> buffer, size_t offset,
                  size_t length) override {
    noteCall();
    record_.bytes.append(*buffer, offset, length);
  }
  void flush() override { noteCall(); }
  bool congested() override {
    noteCall();
    return false;
  }
  void pauseReading() override { noteCall(); }
  void resumeReading() override { noteCall(); }
  void responseDone(bool /*close*/) override {
    noteCall();
    ++record_.responses_done;
    retire();
    settle();
  }
  void abortResponse() override {
    noteCall();
    ++record_.aborts;
    gone_ = true;  // the connection closes, as DownstreamConn::abortResponse does
    if (stream_) {
      stream_->onDownstreamGone();
      retire();
    }
    settle();
  }
  void replyLocally(int status, const std::string& reason, bool close,
                    std::string_view extra_headers) override {
    noteCall();
    record_.local_replies.push_back({status, reason, close, std::string(extra_headers)});
    retire();
    settle();
  }
  bool closeAfterResponse() const override { return false; }
  bool requestHttp11() const override { return true; }
  const std::string& clientIp() const override { return ip_; }
  const std::optional<filters::ClientTls>& clientTls() const override { return tls_; }
  uint64_t acceptedMs() const override { return accepted_ms_; }

 private:
  // Hands the stream to the worker's graveyard; the promise says when it has been destroyed
  // (its request is then in the worker's counters).
  struct Retired : Deferred {
    Retired(std::unique_ptr<Stream> s, std::promise<void>& p) : stream(std::move(s)), done(p) {}
    ~Retired() override {
      stream.reset();
      done.set_value();
    }
    std::unique_ptr<Stream> stream;
    std::promise<void>& done;
  };

  void retire() {
    if (stream_) {
      worker_.deferDelete(std::make_unique<Retired>(std::move(stream_), destroyed_));
    }
  }
  void settle() {
    if (!settled_set_) {
      settled_set_ = true;
      settled_.set_value();
    }
  }
  void noteCall() {
    if (gone_) {
      ++record_.calls_after_gone;
    }
  }

  Worker& worker_;
  const std::string ip_ = kClientIp;
  const std::optional<filters::ClientTls> tls_;
  uint64_t accepted_ms_ = 0;
  std::unique_ptr<Stream> stream_;
  bool gone_ = false;
  ClientRecord record_;
  std::promise<void> settled_;  // a response ended: done, aborted or replied locally
  bool settled_set_ = false;
  std::promise<void> destroyed_;
};

http::RequestHead request(const std::string& method, const std::string& target,
                          const std::string& host = "proxy.test") {
  http::RequestHead head;
  head.method = method;
  head.target = target;
  if (!host.empty()) {
    head.headers.add("Host", host);
  }
  return head;
}

// ---- the fixture -------------------------------------------------------------------------

// Routes: example.test/x and any path on renamed.test (whose upstream rewrites Host) pass
// through; /pass passes through; /cached is cacheable for GET and HEAD (any other method
// passes through). Nothing else matches.
std::string configYaml(uint16_t origin_port) {
  const std::string origin = "127.0.0.1:" + std::to_string(origin_port);
  return "listen: 127.0.0.1:0\n"
         "workers: 1\n"
         "upstreams:\n"
         "  origin:\n"
         "    servers: [" + origin + "]\n"
         "  renamed:\n"
         "    servers: [" + origin + "]\n"
         "    host_header: origin.internal\n"
         "route_classes:\n"
         "  cached:\n"
         "    ttl: 60s\n"
         "  pass:\n"
         "    cache: false\n"
         "routes:\n"
         "  - match: { host: example.test, path: /x }\n"
         "    upstream: origin\n"
         "    class: pass\n"
         "  - match: { host: renamed.test, path_prefix: / }\n"
         "    upstream: renamed\n"
         "    class: pass\n"
         "  - match: { path: /pass }\n"
         "    upstream: origin\n"
         "    class: pass\n"
         "  - match: { path: /cached }\n"
         "    upstream: origin\n"
         "    class: cached\n";
}

class StreamStepsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    origin_ = std::make_unique<Origin>();
    config::LoadResult loaded =
        config::loadConfigString(configYaml(origin_->port()), "stream_steps.yaml");
    ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].format());
    std::string error;
    RuntimePtr runtime = buildRuntime(loaded.config, error);
    ASSERT_NE(runtime, nullptr) << error;
    auto cache = std::make_shared<cache::SharedCache>(loaded.config->cache);
    worker_ = std::make_unique<Worker>(0, runtime, cache, std::vector<int>{});
    worker_->start();
  }

  // The origin first, so no fetch can keep the loop waiting; then every stream still open
  // hears its client leave, and the worker drains and ends (as Server does on SIGTERM).
  void TearDown() override {
    origin_->stop();
    if (worker_) {
      onWorker([this] {
        for (auto& client : clients_) {
          client->gone();
        }
      });
      worker_->drain();
      worker_->join();
      worker_.reset();
    }
  }

  // Runs `fn` on the worker's thread and returns its result.
  template <class F>
  auto onWorker(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    std::future<R> result = task->get_future();
    worker_->post([task] { (*task)(); });
    if (result.wait_for(kGuard) != std::future_status::ready) {
      std::fprintf(stderr, "the worker did not run a posted task\n");
      std::abort();
    }
    return result.get();
  }

  FakeClient& start(http::RequestHead head, std::string body = {}) {
    if (!body.empty()) {
      head.has_content_length = true;
      head.content_length = body.size();
      head.headers.set("Content-Length", std::to_string(body.size()));
    }
    clients_.push_back(std::make_unique<FakeClient>(*worker_));
    FakeClient* client = clients_.back().get();
    settled_.push_back(client->settled());
    destroyed_.push_back(client->destroyed());
    onWorker([client, &head, &body] { client->begin(std::move(head), body); });
    return *client;
  }

  // Waits until the client's response ended (done, aborted or a local reply).
  ClientRecord settledRecord(FakeClient& client) {
    EXPECT_EQ(settled_[indexOf(client)].wait_for(kGuard), std::future_status::ready)
        << "the response never ended";
    return recordOf(client);
  }
  ClientRecord recordOf(FakeClient& client) {
    return onWorker([&client] { return client.record(); });
  }
  // Waits until the client's stream is destroyed: its request is in the counters then.
  bool streamDestroyed(FakeClient& client) {
    return destroyed_[indexOf(client)].wait_for(kGuard) == std::future_status::ready;
  }

  RequestTotals counters() { return worker_->requestCounters().read(); }

  size_t indexOf(const FakeClient& client) const {
    for (size_t i = 0; i < clients_.size(); ++i) {
      if (clients_[i].get() == &client) {
        return i;
      }
    }
    std::abort();
  }

  std::unique_ptr<Origin> origin_;
  // Destroyed after the worker: a retired stream refers to its client until the loop ends.
  std::vector<std::unique_ptr<FakeClient>> clients_;
  std::vector<std::future<void>> settled_;
  std::vector<std::future<void>> destroyed_;
  std::unique_ptr<Worker> worker_;
};

size_t at(filters::CacheOutcome outcome) { return static_cast<size_t>(outcome); }
size_t at(filters::ErrorKind kind) { return static_cast<size_t>(kind); }

// ---- Route -------------------------------------------------------------------------------

TEST_F(StreamStepsTest, RouteRefusesBadTargetsAndUnroutedRequestsLocally) {
  origin_->respondWith(cannedResponse(200, "OK", "passed"));

  ClientRecord not_a_target = settledRecord(start(request("GET", "foo")));
  ASSERT_EQ(not_a_target.local_replies.size(), 1u);
  EXPECT_EQ(not_a_target.local_replies[0].status, 400);
  EXPECT_NE(not_a_target.local_replies[0].reason.find("origin-form"), std::string::npos)
      << not_a_target.local_replies[0].reason;
  EXPECT_NE(not_a_target.local_replies[0].reason.find("absolute URI"), std::string::npos);

  ClientRecord bad_escape = settledRecord(start(request("GET", "/a%zz")));
  ASSERT_EQ(bad_escape.local_replies.size(), 1u);
  EXPECT_EQ(bad_escape.local_replies[0].status, 400);
  EXPECT_NE(bad_escape.local_replies[0].reason.find("percent-encoding"), std::string::npos)
      << bad_escape.local_replies[0].reason;

  ClientRecord no_route = settledRecord(start(request("GET", "/nowhere")));
  ASSERT_EQ(no_route.local_replies.size(), 1u);
  EXPECT_EQ(no_route.local_replies[0].status, 404);
  EXPECT_EQ(no_route.local_replies[0].reason, "no route matches GET proxy.test/nowhere");

  for (const ClientRecord* record : {&not_a_target, &bad_escape, &no_route}) {
    EXPECT_EQ(record->bytes, "") << "a local reply is the client's to write";
    EXPECT_EQ(record->responses_done, 0);
    EXPECT_EQ(record->aborts, 0);
    // Only the request's id: the cache never looked, so no X-Cache or Cache-Status.
    EXPECT_THAT(record->local_replies[0].extra_headers,
                ::testing::MatchesRegex("X-Request-Id: [0-9a-f]{32}\r\n"));
  }
  EXPECT_EQ(origin_->connections(), 0);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(streamDestroyed(*clients_[i]));
  }
  RequestTotals totals = counters();
  EXPECT_EQ(totals.requests, 3u);
  EXPECT_EQ(totals.statuses[4], 3u);
  EXPECT_EQ(totals.errors[at(filters::ErrorKind::BadRequest)], 3u);

  // The origin takes connections in order: had any refused request reached it, it would be
  // the first it saw, not this one.
  ClientRecord passed = settledRecord(start(request("GET", "/pass")));
  EXPECT_EQ(passed.responses_done, 1);
  EXPECT_EQ(origin_->connections(), 1);
  std::vector<SeenRequest> seen = origin_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request_line, "GET /pass HTTP/1.1");
}

TEST_F(StreamStepsTest, AbsoluteFormRoutesByItsAuthorityAndGoesUpstreamInOriginForm) {
  origin_->respondWith(cannedResponse(200, "OK", "x body"));
  http::RequestHead head = request("GET", "http://example.test/x", "other.test");
  head.headers.add("X-Forwarded-For", "198.51.100.1");
  ClientRecord record = settledRecord(start(std::move(head)));

  ASSERT_EQ(record.responses_done, 1);
  ASSERT_TRUE(record.local_replies.empty())
      << record.local_replies[0].status << " " << record.local_replies[0].reason;
  ClientResponse response = parseResponse(record.bytes);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "x body");

  std::vector<SeenRequest> seen = origin_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request_line, "GET /x HTTP/1.1");
  EXPECT_EQ(seen[0].header("host"), "example.test") << "the absolute form's authority wins";
  EXPECT_EQ(seen[0].header("x-forwarded-for"), std::string("198.51.100.1, ") + kClientIp);
  EXPECT_EQ(seen[0].header("x-forwarded-host"), "example.test");
  EXPECT_EQ(seen[0].header("x-forwarded-proto"), "http");
  EXPECT_EQ(seen[0].header("via"), "1.1 edge-proxy");
}

TEST_F(StreamStepsTest, AbsoluteFormHostGivesWayToTheUpstreamsHostHeader) {
  origin_->respondWith(cannedResponse(200, "OK", "renamed"));
  ClientRecord record = settledRecord(start(request("GET", "http://renamed.test/y?q=1", "")));

  ASSERT_EQ(record.responses_done, 1);
  std::vector<SeenRequest> seen = origin_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request_line, "GET /y?q=1 HTTP/1.1");
  EXPECT_EQ(seen[0].header("host"), "origin.internal");
  EXPECT_EQ(seen[0].header("x-forwarded-host"), "renamed.test");
  EXPECT_EQ(seen[0].header("x-forwarded-for"), kClientIp);
}

// ---- Upstream ----------------------------------------------------------------------------

TEST_F(StreamStepsTest, UncacheableRoutePassesThroughAsBypass) {
  origin_->respondWith(cannedResponse(203, "Partial Info", "from the origin",
                                      "X-Origin: yes\r\n"));
  FakeClient& client = start(request("GET", "/pass"));
  ClientRecord record = settledRecord(client);

  ASSERT_EQ(record.responses_done, 1);
  EXPECT_EQ(record.aborts, 0);
  EXPECT_TRUE(record.local_replies.empty());
  ClientResponse response = parseResponse(record.bytes);
  EXPECT_EQ(response.status, 203);
  EXPECT_TRUE(response.complete);
  EXPECT_EQ(response.body, "from the origin");
  EXPECT_EQ(response.header("x-cache"), "BYPASS");
  EXPECT_EQ(response.header("x-origin"), "yes");
  EXPECT_EQ(response.header("via"), "1.1 edge-proxy");
  EXPECT_EQ(origin_->requests(), 1);

  ASSERT_TRUE(streamDestroyed(client));
  RequestTotals totals = counters();
  EXPECT_EQ(totals.requests, 1u);
  EXPECT_EQ(totals.outcomes[at(filters::CacheOutcome::Bypass)], 1u);
  EXPECT_EQ(totals.statuses[2], 1u);
  EXPECT_EQ(totals.bytes_out, record.bytes.size());
}

TEST_F(StreamStepsTest, PostOnCacheableRoutePassesThroughWithItsBody) {
  origin_->respondWith(cannedResponse(201, "Created", "made"));
  FakeClient& client = start(request("POST", "/cached"), "{\"a\":1}");
  ClientRecord record = settledRecord(client);

  ASSERT_EQ(record.responses_done, 1);
  ClientResponse response = parseResponse(record.bytes);
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "made");
  EXPECT_EQ(response.header("x-cache"), "BYPASS");

  std::vector<SeenRequest> seen = origin_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request_line, "POST /cached HTTP/1.1");
  EXPECT_EQ(seen[0].body, "{\"a\":1}");
  EXPECT_EQ(seen[0].header("content-length"), "7");

  ASSERT_TRUE(streamDestroyed(client));
  RequestTotals totals = counters();
  EXPECT_EQ(totals.requests, 1u);
  EXPECT_EQ(totals.outcomes[at(filters::CacheOutcome::Bypass)], 1u);
  EXPECT_EQ(totals.bytes_in, 7u);
}

// ---- RequestFilters: the cache answers ---------------------------------------------------

TEST_F(StreamStepsTest, SecondGetIsACacheHitWithoutTheOrigin) {
  origin_->respondWith(cannedResponse(200, "OK", "cache me", "Cache-Control: max-age=60\r\n"));

  FakeClient& first = start(request("GET", "/cached"));
  ClientRecord miss = settledRecord(first);
  ASSERT_EQ(miss.responses_done, 1);
  ClientResponse missed = parseResponse(miss.bytes);
  EXPECT_EQ(missed.status, 200);
  EXPECT_EQ(missed.body, "cache me");
  EXPECT_EQ(missed.header("x-cache"), "MISS");
  EXPECT_EQ(origin_->requests(), 1);

  FakeClient& second = start(request("GET", "/cached"));
  ClientRecord hit = settledRecord(second);
  ASSERT_EQ(hit.responses_done, 1);
  ClientResponse served = parseResponse(hit.bytes);
  EXPECT_EQ(served.status, 200);
  EXPECT_TRUE(served.complete);
  EXPECT_EQ(served.body, "cache me");
  EXPECT_EQ(served.header("x-cache"), "HIT");
  ASSERT_TRUE(served.header("age").has_value());
  EXPECT_EQ(served.header("age")->find_first_not_of("0123456789"), std::string::npos)
      << *served.header("age");
  EXPECT_EQ(origin_->requests(), 1) << "the hit never reached the origin";
  EXPECT_EQ(origin_->connections(), 1);

  ASSERT_TRUE(streamDestroyed(first));
  ASSERT_TRUE(streamDestroyed(second));
  RequestTotals totals = counters();
  EXPECT_EQ(totals.requests, 2u);
  EXPECT_EQ(totals.outcomes[at(filters::CacheOutcome::Miss)], 1u);
  EXPECT_EQ(totals.outcomes[at(filters::CacheOutcome::Hit)], 1u);
}

// ---- Done --------------------------------------------------------------------------------

TEST_F(StreamStepsTest, ClientGoneWhileUpstreamHoldsCancelsTheExchangeSilently) {
  origin_->respondWith(cannedResponse(200, "OK", "too late"), /*hold=*/true);
  FakeClient& client = start(request("GET", "/pass"));
  ASSERT_TRUE(origin_->waitHolding()) << "the request never reached the origin";

  // The stream stays alive: only onDownstreamGone's cancel can close the upstream connection.
  onWorker([&client] { client.gone(/*keep_stream=*/true); });
  ASSERT_TRUE(origin_->waitPeerClosed()) << "the exchange kept its upstream connection";

  // A turn of the loop after the close: anything the stream still had to say is said.
  ClientRecord record = recordOf(client);
  EXPECT_EQ(record.calls_after_gone, 0);
  EXPECT_EQ(record.bytes, "");
  EXPECT_EQ(record.responses_done, 0);
  EXPECT_EQ(record.aborts, 0);
  EXPECT_TRUE(record.local_replies.empty());
  EXPECT_EQ(origin_->requests(), 1) << "a cancelled exchange is not retried";

  onWorker([&client] { client.gone(); });  // now retired, as the connection would have
  ASSERT_TRUE(streamDestroyed(client));
  EXPECT_EQ(recordOf(client).calls_after_gone, 0);
  RequestTotals totals = counters();
  EXPECT_EQ(totals.requests, 1u);
  EXPECT_EQ(totals.statuses[0], 1u) << "the client left before an answer";
  EXPECT_EQ(totals.errors[at(filters::ErrorKind::Aborted)], 0u) << "the client left; no abort";
}

TEST_F(StreamStepsTest, OriginClosingMidBodyAbortsTheClientsResponse) {
  const std::string half(50, 'h');
  origin_->respondWith(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + half);
  FakeClient& client = start(request("GET", "/pass"));
  ClientRecord record = settledRecord(client);

  EXPECT_EQ(record.aborts, 1);
  EXPECT_EQ(record.responses_done, 0) << "a cut-off body must never look complete";
  EXPECT_TRUE(record.local_replies.empty()) << "the head had gone out already";
  ClientResponse response = parseResponse(record.bytes);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-length"), "100");
  EXPECT_FALSE(response.complete);
  EXPECT_EQ(response.body, half);

  ASSERT_TRUE(streamDestroyed(client));
  EXPECT_EQ(recordOf(client).responses_done, 0);
  EXPECT_EQ(recordOf(client).calls_after_gone, 0);
  RequestTotals totals = counters();
  EXPECT_EQ(totals.requests, 1u);
  EXPECT_EQ(totals.errors[at(filters::ErrorKind::Aborted)], 1u);
}

}  // namespace
}  // namespace edge
