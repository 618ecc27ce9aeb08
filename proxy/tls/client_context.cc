#include "proxy/tls/client_context.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include "proxy/tls/context_files.h"

namespace edge::tls {
namespace {

int slotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Sessions arrive after the handshake in TLS 1.3 (NewSessionTicket): keep the newest.
int onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<ClientSessionSlot*>(SSL_get_ex_data(ssl, slotIndex()));
  if (slot == nullptr) {
    return 0;  // not kept: OpenSSL frees it
  }
  slot->keep(session);
  return 1;  // the slot owns the reference now
}

// A Host rewrite may carry a port ("api.internal:8443"); SNI and verification want the name.
std::string hostWithoutPort(const std::string& host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  size_t colon = host.find(':');
  bool one_colon = colon != std::string::npos && host.find(':', colon + 1) == std::string::npos;
  return one_colon ? host.substr(0, colon) : host;
}

bool isIpAddress(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

ClientSessionSlot::~ClientSessionSlot() {
  for (SSL_SESSION* session : sessions_) {
    SSL_SESSION_free(session);
  }
}

void ClientSessionSlot::resume(SSL* ssl) {
  SSL_set_ex_data(ssl, slotIndex(), this);
  // TLS 1.3 tickets are used once (RFC 8446 C.4): the newest unused one is taken.
  while (!sessions_.empty()) {
    SSL_SESSION* session = sessions_.back();
    sessions_.pop_back();
    bool usable = SSL_SESSION_is_resumable(session) == 1;
    if (usable) {
      SSL_set_session(ssl, session);  // takes its own reference
    }
    SSL_SESSION_free(session);
    if (usable) {
      return;
    }
  }
}

void ClientSessionSlot::keep(SSL_SESSION* session) {
  sessions_.push_back(session);
  if (sessions_.size() > kMaxSessions) {
    SSL_SESSION_free(sessions_.front());
    sessions_.pop_front();
  }
}

ClientContext::ClientContext(SSL_CTX* ctx, const config::UpstreamConfig& upstream)
    : ctx_(ctx),
      verify_(upstream.tls->verify),
      server_name_(!upstream.tls->server_name.empty()
                       ? upstream.tls->server_name
                       : hostWithoutPort(upstream.host_header.value_or(""))) {}

ClientContext::~ClientContext() { SSL_CTX_free(ctx_); }

std::shared_ptr<const ClientContext> ClientContext::build(const config::UpstreamConfig& upstream,
                                                          const std::string& file,
                                                          ConfigReport& report) {
  const config::UpstreamTlsConfig& tls = *upstream.tls;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    report.error(file, tls.place, "cannot create a TLS context: " + takeOpenSslError());
    return nullptr;
  }
  std::shared_ptr<const ClientContext> context(new ClientContext(ctx, upstream));
  applyCommonSettings(ctx, tls.min_version);
  bool ok = true;
  if (tls.ca) {
    ok = trustCertificates(ctx, *tls.ca, file, report);
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
  }
  if (tls.client_cert && tls.client_key) {
    ok = useCertificate(ctx, config::CertificateFiles{*tls.client_cert, *tls.client_key}, file,
                        report) && ok;
  }
  SSL_CTX_set_verify(ctx, tls.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, onNewSession);
  return ok ? context : nullptr;
}

SSL* ClientContext::newConnection(const config::HostPort& server) const {
  SSL* ssl = SSL_new(ctx_);
  const std::string& name = server_name_.empty() ? server.host : server_name_;
  if (isIpAddress(name)) {
    if (verify_) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    }
  } else {
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));  // SSL_set_tlsext_host_name, without its cast
    if (verify_) {
      SSL_set1_host(ssl, name.c_str());
    }
  }
  return ssl;
}

}  // namespace edge::tls
