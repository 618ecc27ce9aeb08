// Socket plumbing that libuv does not cover: address resolution at startup and listening
// sockets with SO_REUSEPORT so every worker accepts on its own socket.
#pragma once

#include <sys/socket.h>

#include <netdb.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace edge::net {

// Resolves host:port (numeric or a name, resolved once at startup). Returns false and sets
// `error` when it cannot be resolved.
bool resolve(const config::HostPort& hp, sockaddr_storage& out, std::string& error);

// Every address host:port resolves to (TCP), in the resolver's order, without repeats.
// Returns false and sets `error` when it cannot be resolved.
bool resolveAll(const config::HostPort& hp, std::vector<sockaddr_storage>& out,
                std::string& error);
// The addresses of a getaddrinfo result, in order, without repeats.
std::vector<sockaddr_storage> addressesOf(const addrinfo* list);

// A non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT; -1 and `error` on failure.
int openListenSocket(const sockaddr_storage& addr, std::string& error);

// The port a bound socket ended up on (for port 0).
uint16_t boundPort(int fd);
void setPort(sockaddr_storage& addr, uint16_t port);

// "127.0.0.1" or "::1" for a peer address; empty when unknown.
std::string ipString(const sockaddr_storage& addr);

}  // namespace edge::net
