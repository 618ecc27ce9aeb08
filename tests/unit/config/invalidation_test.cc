// The `invalidation` and `admin` sections.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/config_test_support.h"

namespace edge::config {
namespace {

using test_support::formatted;
using test_support::kExamplePath;
using test_support::load;

// The one error a config with `extra` produces.
std::string errorOf(const std::string& extra) {
  const LoadResult result = load(extra);
  EXPECT_FALSE(result.ok());
  const std::vector<std::string> errors = formatted(result);
  EXPECT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  return errors.empty() ? std::string() : errors.front();
}

TEST(InvalidationSectionTest, OmittedSectionsMeanNoSubscriberAndNoAdminListener) {
  const LoadResult result = load("");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result.config->invalidation.has_value());
  EXPECT_FALSE(result.config->admin.has_value());
}

TEST(InvalidationSectionTest, AnEmptySectionTakesTheDefaults) {
  const LoadResult result = load("invalidation: {}\nadmin: {}\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const InvalidationConfig& inv = *result.config->invalidation;
  EXPECT_EQ(inv.redis.str(), "127.0.0.1:6379");
  EXPECT_EQ(inv.mode, InvalidationMode::PubSub);
  EXPECT_EQ(inv.channels, std::vector<std::string>{"cache_invalidation"});
  EXPECT_TRUE(inv.channel_patterns.empty());
  EXPECT_EQ(inv.gap_policy, GapPolicy::RevalidateAll);
  EXPECT_EQ(inv.reconnect_min.count(), 100);
  EXPECT_EQ(inv.reconnect_max.count(), 10000);
  const AdminConfig& admin = *result.config->admin;
  EXPECT_EQ(admin.host, "127.0.0.1");
  EXPECT_EQ(admin.port, 9091);
  EXPECT_EQ(admin.token_env, "EDGE_ADMIN_TOKEN");
}

TEST(InvalidationSectionTest, ReadsEveryPubSubKey) {
  const LoadResult result = load(
      "invalidation:\n"
      "  redis: {address: \"unix:/run/redis.sock\", username: edge, password_env: REDIS_PW,\n"
      "          database: 3, connect_timeout: 2s}\n"
      "  channels: [a, b]\n"
      "  channel_patterns: \"inv:*\"\n"
      "  gap_policy: purge_all\n"
      "  reconnect: {min_delay: 50ms, max_delay: 2s}\n"
      "  max_message_size: 1m\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const InvalidationConfig& inv = *result.config->invalidation;
  EXPECT_EQ(inv.redis.unix_path, "/run/redis.sock");
  EXPECT_EQ(inv.redis.str(), "unix:/run/redis.sock");
  EXPECT_EQ(inv.redis.username, "edge");
  EXPECT_EQ(inv.redis.password_env, "REDIS_PW");
  EXPECT_EQ(inv.redis.database, 3u);
  EXPECT_EQ(inv.redis.connect_timeout.count(), 2000);
  EXPECT_EQ(inv.channels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(inv.channel_patterns, std::vector<std::string>{"inv:*"});
  EXPECT_EQ(inv.gap_policy, GapPolicy::PurgeAll);
  EXPECT_EQ(inv.reconnect_min.count(), 50);
  EXPECT_EQ(inv.reconnect_max.count(), 2000);
  EXPECT_EQ(inv.max_message_size, 1u << 20);
}

TEST(InvalidationSectionTest, ReadsStreamMode) {
  const LoadResult result = load(
      "invalidation:\n"
      "  redis: {address: 10.0.0.5:6380, password: secret}\n"
      "  mode: stream\n"
      "  stream: {key: inv, field: m, block: 2s, count: 10}\n"
      "  gap_policy: ignore\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const InvalidationConfig& inv = *result.config->invalidation;
  EXPECT_EQ(inv.redis.str(), "10.0.0.5:6380");
  EXPECT_EQ(inv.redis.password, "secret");
  EXPECT_EQ(inv.mode, InvalidationMode::Stream);
  EXPECT_EQ(inv.stream_key, "inv");
  EXPECT_EQ(inv.stream_field, "m");
  EXPECT_EQ(inv.stream_block.count(), 2000);
  EXPECT_EQ(inv.stream_count, 10u);
  EXPECT_EQ(inv.gap_policy, GapPolicy::Ignore);
}

TEST(InvalidationSectionTest, AMisspelledGapPolicyGetsASuggestion) {
  EXPECT_EQ(errorOf("invalidation:\n  gap_policy: revalidate-all\n"),
            "test.yaml:6:15: invalidation.gap_policy: expected revalidate_all, purge_all or "
            "ignore, got \"revalidate-all\" (did you mean \"revalidate_all\"?)");
}

TEST(InvalidationSectionTest, AnUnknownModeIsAnError) {
  EXPECT_EQ(errorOf("invalidation:\n  mode: streams\n"),
            "test.yaml:6:9: invalidation.mode: expected pubsub or stream, got \"streams\" "
            "(did you mean \"stream\"?)");
}

TEST(InvalidationSectionTest, BadRedisAddressesAreErrors) {
  EXPECT_EQ(errorOf("invalidation:\n  redis: {address: \"unix:run/redis.sock\"}\n"),
            "test.yaml:6:20: invalidation.redis.address: expected an absolute socket path "
            "after \"unix:\", got \"unix:run/redis.sock\"");
  EXPECT_EQ(errorOf("invalidation:\n  redis: {address: 127.0.0.1:0}\n"),
            "test.yaml:6:20: invalidation.redis.address: the Redis address needs a real port, "
            "not 0");
  EXPECT_NE(errorOf("invalidation:\n  redis: {address: redis}\n").find("the port is required"),
            std::string::npos);
}

TEST(InvalidationSectionTest, PasswordAndPasswordEnvExcludeEachOther) {
  EXPECT_EQ(errorOf("invalidation:\n  redis: {password: a, password_env: B}\n"),
            "test.yaml:6:38: invalidation.redis.password_env: give password or password_env, "
            "not both");
}

TEST(InvalidationSectionTest, KeysOfTheOtherModeAreReported) {
  EXPECT_EQ(errorOf("invalidation:\n  mode: stream\n  channels: [a]\n"),
            "test.yaml:7:13: invalidation.channels: channels apply to mode pubsub; mode stream "
            "reads stream.key");
  EXPECT_EQ(errorOf("invalidation:\n  stream: {key: a}\n"),
            "test.yaml:6:11: invalidation.stream: stream applies to mode stream, not pubsub");
}

TEST(InvalidationSectionTest, PubSubNeedsAChannel) {
  EXPECT_EQ(errorOf("invalidation:\n  channels: []\n"),
            "test.yaml:6:13: invalidation.channels: at least one channel or channel pattern");
  EXPECT_EQ(errorOf("invalidation:\n  channels: [\"\"]\n"),
            "test.yaml:6:14: invalidation.channels[0]: expected a non-empty string, got \"\"");
}

TEST(InvalidationSectionTest, ReconnectDelaysMustBeOrdered) {
  EXPECT_EQ(errorOf("invalidation:\n  reconnect: {min_delay: 5s, max_delay: 1s}\n"),
            "test.yaml:6:41: invalidation.reconnect.max_delay: max_delay must not be shorter "
            "than min_delay");
  EXPECT_NE(errorOf("invalidation:\n  reconnect: {min_delay: 0s}\n").find("min_delay"),
            std::string::npos);
}

TEST(InvalidationSectionTest, UnknownKeysGetSuggestions) {
  EXPECT_EQ(errorOf("invalidation:\n  chanels: [a]\n"),
            "test.yaml:6:3: invalidation.chanels: unknown key \"chanels\" (did you mean "
            "\"channels\"?)");
}

TEST(InvalidationSectionTest, TheExampleConfigHasBothSections) {
  const LoadResult result = loadConfigFile(kExamplePath);
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  ASSERT_TRUE(result.config->invalidation.has_value());
  EXPECT_EQ(result.config->invalidation->redis.str(), "127.0.0.1:6379");
  ASSERT_TRUE(result.config->admin.has_value());
  EXPECT_EQ(result.config->admin->port, 9091);
}

TEST(AdminSectionTest, ReadsEveryKey) {
  const LoadResult result = load(
      "admin: {listen: \"[::1]:9000\", token_env: TOKEN, max_body: 4k}\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const AdminConfig& admin = *result.config->admin;
  EXPECT_EQ(admin.host, "::1");
  EXPECT_EQ(admin.port, 9000);
  EXPECT_EQ(admin.token_env, "TOKEN");
  EXPECT_EQ(admin.max_body, 4096u);
}

TEST(AdminSectionTest, ANonLoopbackAddressNeedsAllowRemote) {
  EXPECT_EQ(errorOf("admin: {listen: 0.0.0.0:9000}\n"),
            "test.yaml:5:17: admin.listen: the admin listener binds loopback addresses only; "
            "set allow_remote: true to listen on \"0.0.0.0:9000\"");
  const LoadResult result = load("admin: {listen: 0.0.0.0:9000, allow_remote: true}\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  EXPECT_TRUE(result.config->admin->allow_remote);
  EXPECT_TRUE(load("admin: {listen: localhost:0}\n").ok());
  EXPECT_TRUE(load("admin: {listen: 127.0.0.2:0}\n").ok());
}

TEST(AdminSectionTest, AnEmptyTokenVariableNameIsAnError) {
  EXPECT_NE(errorOf("admin: {token_env: \"\"}\n").find("admin.token_env"), std::string::npos);
}

}  // namespace
}  // namespace edge::config
