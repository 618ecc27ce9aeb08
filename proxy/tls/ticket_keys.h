// The keys that encrypt TLS session tickets, shared by every worker and every listener (and
// kept across a reload), so a ticket issued on one worker resumes on any other. The current
// key encrypts new tickets; it is replaced after `rotation`, and the previous ones still
// decrypt until they fall off the end of the ring. Every ticket that decrypts is renewed.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>

namespace edge::tls {

class TicketKeys {
 public:
  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> aes{};
    std::array<unsigned char, 32> hmac{};
    std::chrono::steady_clock::time_point created;
  };
  enum class Found { No, Current, Previous };

  explicit TicketKeys(std::chrono::seconds rotation = std::chrono::hours(1), size_t kept = 3)
      : rotation_(rotation), kept_(kept > 0 ? kept : 1) {}

  // The key that encrypts new tickets, rotated first when it is too old.
  Key current(std::chrono::steady_clock::time_point now);
  // The key named `name`, if it is still in the ring.
  Found find(const unsigned char* name, std::chrono::steady_clock::time_point now, Key& out);

  // The process-wide ring the listeners use.
  static TicketKeys& shared();
  // Installs the ring's callback on a server context.
  static void install(SSL_CTX* ctx);

 private:
  void rotateIfDue(std::chrono::steady_clock::time_point now);

  const std::chrono::seconds rotation_;
  const size_t kept_;
  std::mutex mutex_;
  std::deque<Key> keys_;  // front: current
};

}  // namespace edge::tls
