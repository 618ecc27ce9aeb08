// An OpenSSL BIO that appends what the SSL writes (records, alerts) to a std::string the socket
// owns; the socket hands that string to TCP as it is. A memory BIO would hold the bytes in its
// own buffer and cost one more copy per flush.
#pragma once

#include <openssl/bio.h>

#include <string>

namespace edge::tls {

// A new BIO writing into `outbox`, which must outlive it (the SSL owns and frees the BIO).
BIO* newOutboxBio(std::string* outbox);

}  // namespace edge::tls
