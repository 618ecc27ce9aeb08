#include "proxy/tls/server_context.h"

#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <array>
#include <string>

#include "proxy/tls/context_files.h"
#include "proxy/tls/ticket_keys.h"
#include "proxy/tls/tls_socket.h"

namespace edge::tls {
namespace {

// Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
constexpr long kSessionLifetimeSeconds = 3600;

// Sessions resume only where they were made with the same client-certificate rules: OpenSSL
// refuses a session whose context differs. The ticket keys are shared by every listener, so
// without this a ticket from a listener that asks for no certificate would resume on one that
// requires it, and skip the check.
std::array<unsigned char, SHA256_DIGEST_LENGTH> sessionContext(
    const config::TlsListenerConfig& tls) {
  std::string identity = "edge-proxy";
  for (const config::CertificateFiles& files : tls.certificates) {
    identity += '|' + files.cert.path;
  }
  identity += '|';
  identity += tls.client_ca ? tls.client_ca->path : std::string();
  identity += tls.client_cert_required ? "|required" : "|optional";
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(identity.data()), identity.size(),
         digest.data());
  return digest;
}

}  // namespace

std::shared_ptr<const ServerContext> ServerContext::build(const config::TlsListenerConfig& tls,
                                                          const std::string& file,
                                                          ConfigReport& report) {
  std::shared_ptr<ServerContext> context(new ServerContext(tls));
  size_t errors_before = report.errors.size();
  for (const config::CertificateFiles& files : tls.certificates) {
    context->addCertificate(files, file, report);
  }
  if (report.errors.size() != errors_before || context->contexts_.empty()) {
    return nullptr;
  }
  for (const std::string& protocol : tls.alpn) {
    context->alpn_wire_.push_back(static_cast<char>(protocol.size()));
    context->alpn_wire_ += protocol;
  }
  SSL_CTX* first = context->contexts_.front();
  // The macro for this casts old-style; the call it expands to, spelled out.
  SSL_CTX_callback_ctrl(first, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                        reinterpret_cast<void (*)()>(&ServerContext::onServerName));
  SSL_CTX_set_tlsext_servername_arg(first, context.get());
  for (SSL_CTX* ctx : context->contexts_) {
    SSL_CTX_set_alpn_select_cb(ctx, &ServerContext::onAlpn, context.get());
  }
  return context;
}

bool ServerContext::addCertificate(const config::CertificateFiles& files, const std::string& file,
                                   ConfigReport& report) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    report.error(file, files.cert.place, "cannot create a TLS context: " + takeOpenSslError());
    return false;
  }
  applyCommonSettings(ctx, settings_.min_version);
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  const std::string& ciphers = settings_.ciphers.empty() ? kDefaultCiphers : settings_.ciphers;
  bool ok = true;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    report.error(file, settings_.ciphers_place,
                 "no cipher in " + ciphers + " is known: " + takeOpenSslError());
    ok = false;
  }
  ok = useCertificate(ctx, files, file, report) && ok;
  if (settings_.client_ca) {
    ok = trustCertificates(ctx, *settings_.client_ca, file, report) && ok;
    if (ok) {
      SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(settings_.client_ca->path.c_str()));
    }
    int mode = SSL_VERIFY_PEER;
    if (settings_.client_cert_required) {
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  // Resumption by ticket only: no per-process session cache to share between workers.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  const auto context = sessionContext(settings_);
  static_assert(context.size() <= SSL_MAX_SID_CTX_LENGTH);
  SSL_CTX_set_session_id_context(ctx, context.data(), static_cast<unsigned>(context.size()));
  SSL_CTX_set_timeout(ctx, kSessionLifetimeSeconds);
  if (settings_.session_tickets) {
    TicketKeys::install(ctx);
    SSL_CTX_set_num_tickets(ctx, 1);
  } else {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  contexts_.push_back(ctx);
  return ok;
}

ServerContext::~ServerContext() {
  for (SSL_CTX* ctx : contexts_) {
    SSL_CTX_free(ctx);
  }
}

SSL* ServerContext::newConnection() const { return SSL_new(contexts_.front()); }

int ServerContext::onServerName(SSL* ssl, int* alert, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) {
    return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  }
  for (size_t i = 0; i < self->contexts_.size(); ++i) {
    X509* cert = SSL_CTX_get0_certificate(self->contexts_[i]);
    if (X509_check_host(cert, name, 0, 0, nullptr) == 1) {
      if (i != 0) {
        SSL_set_SSL_CTX(ssl, self->contexts_[i]);
      }
      return SSL_TLSEXT_ERR_OK;
    }
  }
  if (!self->settings_.strict_sni) {
    return SSL_TLSEXT_ERR_OK;
  }
  if (TlsSocket* socket = TlsSocket::of(ssl)) {
    socket->noteUnknownSni();
  }
  *alert = SSL_AD_UNRECOGNIZED_NAME;
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

int ServerContext::onAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                          const unsigned char* in, unsigned int inlen, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  unsigned char* chosen = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(self->alpn_wire_.data());
  if (SSL_select_next_proto(&chosen, outlen, ours, static_cast<unsigned>(self->alpn_wire_.size()),
                            in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace edge::tls
