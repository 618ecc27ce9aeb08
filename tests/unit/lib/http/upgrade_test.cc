#include "lib/http/upgrade.h"

#include <gtest/gtest.h>

namespace edge::http {
namespace {

Headers headers(std::initializer_list<std::pair<const char*, const char*>> list) {
  Headers h;
  for (const auto& [name, value] : list) {
    h.add(name, value);
  }
  return h;
}

const std::vector<std::string> kWebsocket = {"websocket"};

TEST(AllowedUpgrade, AWebSocketHandshakeIsOfferedAsSent) {
  EXPECT_EQ(allowedUpgrade(headers({{"Connection", "Upgrade"}, {"Upgrade", "websocket"}}),
                           kWebsocket),
            "websocket");
  EXPECT_EQ(allowedUpgrade(headers({{"connection", "keep-alive, upgrade"},
                                    {"upgrade", "WebSocket"}}),
                           kWebsocket),
            "WebSocket")
      << "tokens and protocol names are case-insensitive";
}

TEST(AllowedUpgrade, NeedsUpgradeInConnection) {
  EXPECT_EQ(allowedUpgrade(headers({{"Upgrade", "websocket"}}), kWebsocket), "");
  EXPECT_EQ(allowedUpgrade(headers({{"Connection", "keep-alive"}, {"Upgrade", "websocket"}}),
                           kWebsocket),
            "");
  EXPECT_EQ(allowedUpgrade(headers({{"Connection", "upgrade"}}), kWebsocket), "");
}

TEST(AllowedUpgrade, KeepsOnlyAllowedProtocolsInTheClientsOrder) {
  const Headers offer = headers({{"Connection", "upgrade"}, {"Upgrade", "h2c, websocket/13, foo"}});
  EXPECT_EQ(allowedUpgrade(offer, kWebsocket), "websocket/13");
  EXPECT_EQ(allowedUpgrade(offer, {"foo", "h2c"}), "h2c, foo");
  EXPECT_EQ(allowedUpgrade(offer, {}), "") << "a route that allows nothing";
}

TEST(SwitchProblem, TheAnswerMustNameOneOfferedProtocol) {
  EXPECT_EQ(switchProblem(headers({{"Upgrade", "websocket"}}), "websocket"), "");
  EXPECT_EQ(switchProblem(headers({{"Upgrade", "WebSocket"}}), "h2c, websocket"), "");
  EXPECT_NE(switchProblem(headers({}), "websocket").find("without an Upgrade"),
            std::string::npos);
  EXPECT_NE(switchProblem(headers({{"Upgrade", "h2c"}}), "websocket").find("not offered"),
            std::string::npos);
  EXPECT_NE(switchProblem(headers({{"Upgrade", "websocket, h2c"}}), "websocket, h2c")
                .find("several"),
            std::string::npos);
}

}  // namespace
}  // namespace edge::http
