// Test support: keys and certificates made in memory with OpenSSL at test time (an EC P-256
// CA, leaves it signs with subjectAltName DNS names, validity windows that may lie in the
// past), written as PEM files into a temporary directory that is removed afterwards, because
// the TLS contexts load files. No key material lives in the repository.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/tls_config.h"

namespace edge::tls::testing {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

// A fresh EC P-256 key.
inline Pkey newKey() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    throw std::runtime_error("EC key generation failed");
  }
  return key;
}

inline std::string bioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string text(data, len > 0 ? static_cast<size_t>(len) : 0);
  BIO_free(bio);
  return text;
}

inline std::string pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  return bioText(bio);
}

inline std::string pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioText(bio);
}

// The common name of a certificate's subject, or empty.
inline std::string commonName(const X509* cert) {
  if (cert == nullptr) {
    return {};
  }
  char text[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, text, sizeof text);
  return text;
}

// Seconds relative to now (when the certificate is made).
struct Validity {
  long not_before = -3600;
  long not_after = 30L * 24 * 3600;
};

namespace detail {

inline void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    throw std::runtime_error("bad certificate extension " + value);
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

inline Cert newCertificate(EVP_PKEY* key, const std::string& common_name, Validity validity) {
  static long serial = 1;
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), validity.not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity.not_after);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("edge-proxy tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

}  // namespace detail

// A certificate authority: a self-signed CA certificate and its key.
class Authority {
 public:
  explicit Authority(const std::string& common_name) : key_(newKey()) {
    cert_ = detail::newCertificate(key_.get(), common_name, Validity{-3600, 365L * 24 * 3600});
    X509_set_issuer_name(cert_.get(), X509_get_subject_name(cert_.get()));
    detail::addExtension(cert_.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
    detail::addExtension(cert_.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    detail::addExtension(cert_.get(), cert_.get(), NID_subject_key_identifier, "hash");
    if (X509_sign(cert_.get(), key_.get(), EVP_sha256()) == 0) {
      throw std::runtime_error("signing the CA certificate failed");
    }
  }

  // A leaf certificate for `key`, valid for server and client authentication; `dns_names`
  // become its subjectAltName.
  Cert issue(EVP_PKEY* key, const std::string& common_name,
             const std::vector<std::string>& dns_names, Validity validity = {}) const {
    Cert cert = detail::newCertificate(key, common_name, validity);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get()));
    detail::addExtension(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE");
    detail::addExtension(cert.get(), cert_.get(), NID_ext_key_usage, "serverAuth,clientAuth");
    detail::addExtension(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always");
    if (!dns_names.empty()) {
      std::string names;
      for (const std::string& dns : dns_names) {
        // "IP:127.0.0.1" goes in as an address; anything else is a DNS name.
        bool typed = dns.rfind("IP:", 0) == 0;
        names += (names.empty() ? "" : ",") + (typed ? dns : "DNS:" + dns);
      }
      detail::addExtension(cert.get(), cert_.get(), NID_subject_alt_name, names);
    }
    if (X509_sign(cert.get(), key_.get(), EVP_sha256()) == 0) {
      throw std::runtime_error("signing a certificate failed");
    }
    return cert;
  }

  X509* cert() const { return cert_.get(); }

 private:
  Pkey key_;
  Cert cert_;
};

// A directory of its own under TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                        "/edge-tls-test-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + templ);
    }
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to `name` in the directory; returns the file's path.
  std::string write(const std::string& name, const std::string& content) const {
    std::string file = path_ + "/" + name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) {
      throw std::runtime_error("cannot write " + file);
    }
    return file;
  }

 private:
  std::string path_;
};

// A CA (written to ca.pem) and the certificates tests issue with it, as files with config
// places that name them.
class TestPki {
 public:
  TestPki() : ca_("edge test CA") { ca_file_ = dir_.write("ca.pem", pem(ca_.cert())); }

  const Authority& ca() const { return ca_; }
  const TempDir& dir() const { return dir_; }
  const std::string& caFile() const { return ca_file_; }

  // A key and a certificate for `dns_names` signed by `by` (the CA by default), written to
  // <name>.crt and <name>.key; their places are line `line`, columns 7 and 9.
  config::CertificateFiles issue(const std::string& name,
                                 const std::vector<std::string>& dns_names, Validity validity = {},
                                 const Authority* by = nullptr, int line = 10) const {
    Pkey key = newKey();
    Cert cert = (by != nullptr ? *by : ca_).issue(key.get(), name, dns_names, validity);
    config::CertificateFiles files;
    files.cert.path = dir_.write(name + ".crt", pem(cert.get()));
    files.cert.place = {line, 7, "listen[0].tls.certificates[0].cert"};
    files.key.path = dir_.write(name + ".key", pem(key.get()));
    files.key.place = {line + 1, 9, "listen[0].tls.certificates[0].key"};
    return files;
  }

 private:
  TempDir dir_;
  Authority ca_;
  std::string ca_file_;
};

}  // namespace edge::tls::testing
