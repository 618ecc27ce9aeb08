#include "proxy/tls/outbox_bio.h"

namespace edge::tls {
namespace {

int outboxWrite(BIO* bio, const char* data, int len) {
  static_cast<std::string*>(BIO_get_data(bio))->append(data, static_cast<size_t>(len));
  return len;
}

long outboxControl(BIO* /*bio*/, int command, long /*num*/, void* /*ptr*/) {
  // OpenSSL flushes after each handshake flight; the bytes are already in the outbox.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int outboxCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* outboxMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "edge outbox");
    BIO_meth_set_write(m, outboxWrite);
    BIO_meth_set_ctrl(m, outboxControl);
    BIO_meth_set_create(m, outboxCreate);
    return m;
  }();
  return method;
}

}  // namespace

BIO* newOutboxBio(std::string* outbox) {
  BIO* bio = BIO_new(outboxMethod());
  BIO_set_data(bio, outbox);
  return bio;
}

}  // namespace edge::tls
