#include "proxy/tls/context_files.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace edge::tls {
namespace {

// Readable, or a report of why not: OpenSSL's own error for a missing file is vague.
bool readable(const config::FileSetting& setting, const std::string& file, ConfigReport& report) {
  std::FILE* f = std::fopen(setting.path.c_str(), "rb");
  if (f == nullptr) {
    report.error(file, setting.place,
                 "cannot read " + setting.path + ": " + std::strerror(errno));
    return false;
  }
  std::fclose(f);
  return true;
}

std::string asn1Time(const ASN1_TIME* time) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASN1_TIME_print(bio, time);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string text(data, len > 0 ? static_cast<size_t>(len) : 0);
  BIO_free(bio);
  return text;
}

void warnAboutValidity(SSL_CTX* ctx, const config::FileSetting& cert, const std::string& file,
                       ConfigReport& report) {
  X509* x509 = SSL_CTX_get0_certificate(ctx);
  if (x509 == nullptr) {
    return;
  }
  if (X509_cmp_current_time(X509_get0_notAfter(x509)) < 0) {
    report.warning(file, cert.place,
                   "certificate " + cert.path + " expired on " +
                       asn1Time(X509_get0_notAfter(x509)) + "; clients will refuse it");
  } else if (X509_cmp_current_time(X509_get0_notBefore(x509)) > 0) {
    report.warning(file, cert.place,
                   "certificate " + cert.path + " is not valid before " +
                       asn1Time(X509_get0_notBefore(x509)));
  }
}

}  // namespace

std::string takeOpenSslError() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown error";
  }
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "error " + std::to_string(code);
}

bool useCertificate(SSL_CTX* ctx, const config::CertificateFiles& files, const std::string& file,
                    ConfigReport& report) {
  bool cert_ok = readable(files.cert, file, report);
  bool key_ok = readable(files.key, file, report);
  if (!cert_ok || !key_ok) {
    return false;
  }
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.path.c_str()) != 1) {
    report.error(file, files.cert.place,
                 files.cert.path + " is not a PEM certificate chain: " + takeOpenSslError());
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.path.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string why = takeOpenSslError();
    // OpenSSL reports a key that does not belong to the certificate while loading it.
    bool mismatch = why.find("values mismatch") != std::string::npos;
    report.error(file, files.key.place,
                 mismatch ? files.key.path + " is not the key of the certificate " +
                                files.cert.path
                          : files.key.path + " is not a PEM private key: " + why);
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    report.error(file, files.key.place,
                 files.key.path + " is not the key of the certificate " + files.cert.path);
    ERR_clear_error();
    return false;
  }
  warnAboutValidity(ctx, files.cert, file, report);
  return true;
}

bool trustCertificates(SSL_CTX* ctx, const config::FileSetting& ca, const std::string& file,
                       ConfigReport& report) {
  if (!readable(ca, file, report)) {
    return false;
  }
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(ctx, ca.path.c_str(), nullptr) != 1) {
    report.error(file, ca.place, ca.path + " holds no PEM CA certificate: " + takeOpenSslError());
    return false;
  }
  return true;
}

void applyCommonSettings(SSL_CTX* ctx, config::TlsVersion min_version) {
  SSL_CTX_set_min_proto_version(
      ctx, min_version == config::TlsVersion::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // An idle connection (a pooled upstream, an open WebSocket) keeps no 34 KB of buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

}  // namespace edge::tls
