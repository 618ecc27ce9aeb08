#include "config/loader_tls.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace edge::config::yaml {
namespace {

// ALPN protocol ids the proxy speaks; h2 joins when HTTP/2 does.
const std::vector<std::string> kAlpnProtocols = {"http/1.1"};

ConfigPlace placeOf(const Field& field) {
  const YAML::Mark mark = field.mark();
  return ConfigPlace{oneBased(mark.line), oneBased(mark.column), field.path};
}

std::optional<FileSetting> readFile(Diagnostics& diag, const Field& field) {
  auto path = readString(diag, field);
  if (!path) {
    return std::nullopt;
  }
  return FileSetting{std::move(*path), placeOf(field)};
}

std::optional<TlsVersion> readVersion(Diagnostics& diag, const Field& field) {
  if (field.node.IsScalar()) {
    const std::string& text = field.node.Scalar();
    if (text == "1.2") {
      return TlsVersion::Tls12;
    }
    if (text == "1.3") {
      return TlsVersion::Tls13;
    }
  }
  diag.expected(field, "\"1.2\" or \"1.3\" (older TLS versions are not offered)");
  return std::nullopt;
}

void readCertificates(Diagnostics& diag, const Field& field, TlsListenerConfig& tls) {
  const auto items = listItems(diag, field, "a list of {cert: FILE, key: FILE}");
  if (!items) {
    return;
  }
  if (items->empty()) {
    diag.expected(field, "at least one {cert: FILE, key: FILE}");
  }
  for (const Field& item : *items) {
    const MapFields map(diag, item, {"cert", "key"});
    if (!map.isMap()) {
      continue;
    }
    const auto cert_field = map.require("cert");
    const auto key_field = map.require("key");
    auto cert = cert_field ? readFile(diag, *cert_field) : std::nullopt;
    auto key = key_field ? readFile(diag, *key_field) : std::nullopt;
    if (cert && key) {
      tls.certificates.push_back(CertificateFiles{std::move(*cert), std::move(*key)});
    }
  }
}

void readAlpn(Diagnostics& diag, const Field& field, TlsListenerConfig& tls) {
  const auto items = listItems(diag, field, "a list of protocols like [http/1.1]");
  if (!items) {
    return;
  }
  tls.alpn.clear();
  for (const Field& item : *items) {
    const auto name = readString(diag, item);
    if (!name) {
      continue;
    }
    if (std::find(kAlpnProtocols.begin(), kAlpnProtocols.end(), *name) == kAlpnProtocols.end()) {
      diag.add(item, "unsupported ALPN protocol " + quote(*name) + " (supported: http/1.1)");
      continue;
    }
    tls.alpn.push_back(*name);
  }
}

void readClientVerify(Diagnostics& diag, const Field& field, TlsListenerConfig& tls) {
  if (field.node.IsScalar() && field.node.Scalar() == "required") {
    tls.client_cert_required = true;
  } else if (field.node.IsScalar() && field.node.Scalar() == "optional") {
    tls.client_cert_required = false;
  } else {
    diag.expected(field, "required or optional");
  }
}

void readTlsListener(Diagnostics& diag, const Field& field, TlsListenerConfig& tls) {
  const MapFields map(diag, field,
                      {"certificates", "min_version", "ciphers", "alpn", "client_ca",
                       "client_verify", "client_subject_header", "strict_sni",
                       "handshake_timeout", "session_tickets"});
  tls.place = placeOf(field);
  if (!map.isMap()) {
    return;
  }
  if (const auto value = map.require("certificates")) {
    readCertificates(diag, *value, tls);
  }
  if (const auto value = map.get("min_version")) {
    tls.min_version = readVersion(diag, *value).value_or(tls.min_version);
  }
  if (const auto value = map.get("ciphers")) {
    tls.ciphers = readString(diag, *value).value_or("");
    tls.ciphers_place = placeOf(*value);
  }
  if (const auto value = map.get("alpn")) {
    readAlpn(diag, *value, tls);
  }
  if (const auto value = map.get("client_ca")) {
    tls.client_ca = readFile(diag, *value);
  }
  if (const auto value = map.get("client_verify")) {
    readClientVerify(diag, *value, tls);
    if (!tls.client_ca) {
      diag.add(*value, "client_verify needs client_ca (the CA that signs client certificates)");
    }
  }
  if (const auto value = map.get("client_subject_header")) {
    tls.client_subject_header = readHeaderName(diag, *value).value_or(tls.client_subject_header);
  }
  if (const auto value = map.get("strict_sni")) {
    tls.strict_sni = readBool(diag, *value).value_or(tls.strict_sni);
  }
  if (const auto value = map.get("handshake_timeout")) {
    tls.handshake_timeout = readDuration(diag, *value, false).value_or(tls.handshake_timeout);
  }
  if (const auto value = map.get("session_tickets")) {
    tls.session_tickets = readBool(diag, *value).value_or(tls.session_tickets);
  }
}

std::optional<ListenConfig> readListenItem(Diagnostics& diag, const Field& item) {
  if (item.node.IsScalar()) {
    const auto address = readHostPort(diag, item);
    return address ? std::optional<ListenConfig>(ListenConfig{*address, std::nullopt})
                   : std::nullopt;
  }
  const MapFields map(diag, item, {"address", "tls"});
  if (!map.isMap()) {
    return std::nullopt;
  }
  ListenConfig listen;
  const auto address_field = map.require("address");
  const auto address = address_field ? readHostPort(diag, *address_field) : std::nullopt;
  if (const auto value = map.get("tls")) {
    readTlsListener(diag, *value, listen.tls.emplace());
  }
  if (!address) {
    return std::nullopt;
  }
  listen.address = *address;
  return listen;
}

}  // namespace

void readListen(Diagnostics& diag, const Field& field, Config& config) {
  std::vector<Field> items{field};
  if (!field.node.IsScalar()) {
    auto list = listItems(diag, field, "host:port or a list of them");
    if (!list) {
      return;
    }
    items = std::move(*list);
  }
  if (items.empty()) {
    diag.expected(field, "at least one host:port");
  }
  for (const auto& item : items) {
    auto listen = readListenItem(diag, item);
    if (!listen) {
      continue;
    }
    // Port 0 picks a free port each time, so it may well appear twice.
    const bool repeated =
        std::any_of(config.listen.begin(), config.listen.end(),
                    [&](const ListenConfig& other) { return other.address == listen->address; });
    if (listen->address.port != 0 && repeated) {
      diag.add(item, "address " + listen->address.str() + " is listed twice");
      continue;
    }
    config.listen.push_back(std::move(*listen));
  }
}

std::optional<UpstreamTlsConfig> readUpstreamTls(Diagnostics& diag, const Field& field) {
  const MapFields map(diag, field,
                      {"enabled", "ca", "verify", "server_name", "client_cert", "client_key",
                       "min_version"});
  UpstreamTlsConfig tls;
  tls.place = placeOf(field);
  if (!map.isMap()) {
    return std::nullopt;
  }
  if (const auto value = map.get("ca")) {
    tls.ca = readFile(diag, *value);
  }
  if (const auto value = map.get("verify")) {
    tls.verify = readBool(diag, *value).value_or(tls.verify);
  }
  if (const auto value = map.get("server_name")) {
    tls.server_name = readString(diag, *value).value_or("");
  }
  const auto cert = map.get("client_cert");
  const auto key = map.get("client_key");
  if (cert) {
    tls.client_cert = readFile(diag, *cert);
  }
  if (key) {
    tls.client_key = readFile(diag, *key);
  }
  if (cert.has_value() != key.has_value()) {
    diag.add(cert ? *cert : *key, "client_cert and client_key go together");
  }
  if (const auto value = map.get("min_version")) {
    tls.min_version = readVersion(diag, *value).value_or(tls.min_version);
  }
  // The section says TLS unless it says `enabled: false`.
  if (const auto value = map.get("enabled"); value && !readBool(diag, *value).value_or(true)) {
    return std::nullopt;
  }
  return tls;
}

}  // namespace edge::config::yaml
