// The server side of TLS for one listener: one SSL_CTX per certificate, configured alike, and
// the SNI choice between them (names from each certificate, wildcards included; the first is
// the default). Built from the listener's config in one call, so a reload that changes
// certificates builds a new one and new connections use it.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "config/tls_config.h"
#include "proxy/tls/config_report.h"

namespace edge::tls {

class ServerContext {
 public:
  // Problems go to `report` with their place in the config file; null when there were errors.
  static std::shared_ptr<const ServerContext> build(const config::TlsListenerConfig& tls,
                                                    const std::string& file,
                                                    ConfigReport& report);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // A server SSL for a new connection, on the default certificate until SNI picks another.
  SSL* newConnection() const;
  const config::TlsListenerConfig& settings() const { return settings_; }

 private:
  explicit ServerContext(const config::TlsListenerConfig& tls) : settings_(tls) {}
  bool addCertificate(const config::CertificateFiles& files, const std::string& file,
                      ConfigReport& report);
  static int onServerName(SSL* ssl, int* alert, void* arg);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* arg);

  const config::TlsListenerConfig settings_;
  std::vector<SSL_CTX*> contexts_;  // per certificate; [0] is the default
  std::string alpn_wire_;           // the ALPN list in wire format
};

}  // namespace edge::tls
