#include "proxy/tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

namespace edge::tls {
namespace {

// OpenSSL's ticket callback: 1 = key set up, 2 = decrypted with an old key (issue a new
// ticket), 0 = unknown key (full handshake), -1 = error.
int ticketKeyCallback(SSL* /*ssl*/, unsigned char key_name[16], unsigned char* iv,
                      EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  const auto now = std::chrono::steady_clock::now();
  TicketKeys::Key key;
  if (encrypt == 1) {
    key = TicketKeys::shared().current(now);
    std::memcpy(key_name, key.name.data(), key.name.size());
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1 ||
        EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) {
      return -1;
    }
  } else {
    if (TicketKeys::shared().find(key_name, now, key) == TicketKeys::Found::No) {
      return 0;
    }
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) {
      return -1;
    }
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac.data(), key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) {
    return -1;
  }
  // A ticket that decrypts is renewed (2) whatever its key: TLS 1.3 clients use each ticket
  // once (RFC 8446 C.4), so a resumed connection must bring the next one, and OpenSSL sends it
  // only when asked to renew.
  return encrypt == 1 ? 1 : 2;
}

}  // namespace

TicketKeys& TicketKeys::shared() {
  static TicketKeys keys;
  return keys;
}

void TicketKeys::install(SSL_CTX* ctx) { SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticketKeyCallback); }

void TicketKeys::rotateIfDue(std::chrono::steady_clock::time_point now) {
  if (!keys_.empty() && now - keys_.front().created < rotation_) {
    return;
  }
  Key key;
  key.created = now;
  RAND_bytes(key.name.data(), static_cast<int>(key.name.size()));
  RAND_bytes(key.aes.data(), static_cast<int>(key.aes.size()));
  RAND_bytes(key.hmac.data(), static_cast<int>(key.hmac.size()));
  keys_.push_front(key);
  while (keys_.size() > kept_) {
    keys_.pop_back();
  }
}

TicketKeys::Key TicketKeys::current(std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  rotateIfDue(now);
  return keys_.front();
}

TicketKeys::Found TicketKeys::find(const unsigned char* name,
                                   std::chrono::steady_clock::time_point now, Key& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  rotateIfDue(now);
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
      out = keys_[i];
      return i == 0 ? Found::Current : Found::Previous;
    }
  }
  return Found::No;
}

}  // namespace edge::tls
