// Loading what a TLS context reads from files (certificate chains, keys, trusted CAs), with
// errors that name the file and the config key, shared by server and client contexts.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "config/tls_config.h"
#include "proxy/tls/config_report.h"

namespace edge::tls {

// The text of OpenSSL's last queued error ("no certificate or crl found"), then clears the queue.
std::string takeOpenSslError();

// A certificate chain and its private key; checks that they match and warns when the
// certificate has expired or is not yet valid.
bool useCertificate(SSL_CTX* ctx, const config::CertificateFiles& files, const std::string& file,
                    ConfigReport& report);
// CA certificates that verify the peer.
bool trustCertificates(SSL_CTX* ctx, const config::FileSetting& ca, const std::string& file,
                       ConfigReport& report);

// The settings every context of ours shares: TLS 1.2 at least (or 1.3), no renegotiation, no
// compression, read buffers released while idle.
void applyCommonSettings(SSL_CTX* ctx, config::TlsVersion min_version);

}  // namespace edge::tls
