#include "proxy/upstream/address_book.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <set>
#include <string>
#include <vector>

namespace edge::upstream {
namespace {

sockaddr_storage v4(const char* ip, uint16_t port) {
  sockaddr_storage out{};
  auto& in = reinterpret_cast<sockaddr_in&>(out);
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  inet_pton(AF_INET, ip, &in.sin_addr);
  return out;
}

std::string ipOf(const sockaddr_storage& address) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof text);
  return text;
}

TEST(AddressBook, EveryAddressTakesItsTurn) {
  ServerAddresses server(makeAddressSet({v4("127.0.0.1", 80), v4("127.0.0.2", 80)}, nullptr));
  std::multiset<std::string> picks;
  for (int i = 0; i < 4; ++i) {
    picks.insert(ipOf(server.pick()));
  }
  EXPECT_EQ(picks.count("127.0.0.1"), 2u);
  EXPECT_EQ(picks.count("127.0.0.2"), 2u);
}

TEST(AddressBook, UnhealthyAddressesAreSkippedUntilNoneIsHealthy) {
  ServerAddresses server(makeAddressSet({v4("127.0.0.1", 80), v4("127.0.0.2", 80)}, nullptr));
  const AddressSetPtr set = server.current();
  (*set)[0].health->healthy.store(false);
  server.refreshHealth();
  EXPECT_TRUE(server.healthy());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(ipOf(server.pick()), "127.0.0.2");
  }
  (*set)[1].health->healthy.store(false);
  server.refreshHealth();
  EXPECT_FALSE(server.healthy());
  std::set<std::string> picks;
  for (int i = 0; i < 4; ++i) {
    picks.insert(ipOf(server.pick()));
  }
  EXPECT_EQ(picks.size(), 2u);  // fails open over all of them
}

TEST(AddressBook, ANewSetKeepsTheHealthOfAddressesItKeeps) {
  ServerAddresses server(makeAddressSet({v4("127.0.0.1", 80), v4("127.0.0.2", 80)}, nullptr));
  const AddressSetPtr old = server.current();
  (*old)[1].health->healthy.store(false);
  server.publish(makeAddressSet({v4("127.0.0.2", 80), v4("127.0.0.3", 80)}, old.get()));
  const AddressSetPtr now = server.current();
  ASSERT_EQ(now->size(), 2u);
  EXPECT_EQ((*now)[0].health, (*old)[1].health);
  EXPECT_FALSE((*now)[0].health->healthy.load());
  EXPECT_TRUE((*now)[1].health->healthy.load());
  EXPECT_TRUE(server.healthy());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ipOf(server.pick()), "127.0.0.3");
  }
}

TEST(AddressBook, AddressesDifferByPort) {
  EXPECT_TRUE(sameAddress(v4("127.0.0.1", 80), v4("127.0.0.1", 80)));
  EXPECT_FALSE(sameAddress(v4("127.0.0.1", 80), v4("127.0.0.1", 81)));
  EXPECT_FALSE(sameAddress(v4("127.0.0.1", 80), v4("127.0.0.2", 80)));
}

}  // namespace
}  // namespace edge::upstream
