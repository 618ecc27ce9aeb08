// TLS settings: on a listener (termination) and on an upstream (origination). Typed config
// only; the files they name are read, checked and turned into OpenSSL contexts by the runtime
// (proxy/tls), which reports problems at the place in the file recorded here.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace edge::config {

// Where a value was written, for errors found after loading (an unreadable certificate file).
struct ConfigPlace {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string key_path;  // "listen[1].tls.certificates[0].cert"

  bool operator==(const ConfigPlace&) const = default;
};

struct FileSetting {
  std::string path;
  ConfigPlace place;

  bool operator==(const FileSetting&) const = default;
};

enum class TlsVersion { Tls12, Tls13 };

struct CertificateFiles {
  FileSetting cert;  // PEM: the certificate, then its chain
  FileSetting key;   // PEM private key

  bool operator==(const CertificateFiles&) const = default;
};

// A TLS listener. The certificate is chosen by SNI (names from each certificate's
// subjectAltName, wildcards included); the first one is the default.
struct TlsListenerConfig {
  std::vector<CertificateFiles> certificates;
  TlsVersion min_version = TlsVersion::Tls12;
  std::string ciphers;  // TLS 1.2 cipher list (OpenSSL syntax); empty: secure defaults
  ConfigPlace ciphers_place;
  std::vector<std::string> alpn = {"http/1.1"};
  std::optional<FileSetting> client_ca;  // set: clients present certificates (mutual TLS)
  bool client_cert_required = true;      // client_verify: required | optional
  // The verified client subject (RFC 2253) goes upstream in this header; the header is always
  // removed from what clients send, on every listener.
  std::string client_subject_header = "x-client-cert-subject";
  bool strict_sni = false;  // true: a name no certificate covers is refused
  std::chrono::milliseconds handshake_timeout{10'000};
  bool session_tickets = true;  // keys shared by every worker, rotated
  ConfigPlace place;  // the tls key itself

  bool operator==(const TlsListenerConfig&) const = default;
};

// TLS to an upstream's servers. Verification (chain and host name) is on by default.
struct UpstreamTlsConfig {
  std::optional<FileSetting> ca;  // unset: the system's trust store
  bool verify = true;
  std::string server_name;        // SNI and the name verified; empty: host_header or the host
  std::optional<FileSetting> client_cert;
  std::optional<FileSetting> client_key;
  TlsVersion min_version = TlsVersion::Tls12;
  ConfigPlace place;  // the tls key itself

  bool operator==(const UpstreamTlsConfig&) const = default;
};

}  // namespace edge::config
