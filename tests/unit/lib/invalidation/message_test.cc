#include "lib/invalidation/message.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::invalidation {
namespace {

constexpr size_t kLimit = 64 * 1024;

PurgeCommand valid(std::string_view text) {
  ParsedMessage parsed = parseMessage(text, kLimit);
  EXPECT_TRUE(parsed.command.has_value()) << text << ": " << parsed.error;
  return parsed.command.value_or(PurgeCommand{});
}

std::string rejected(std::string_view text, size_t limit = kLimit) {
  ParsedMessage parsed = parseMessage(text, limit);
  EXPECT_FALSE(parsed.command.has_value()) << text;
  return parsed.error;
}

TEST(InvalidationMessage, PlainTextIsOnePatternOverTagsAndKeys) {
  EXPECT_EQ(valid("org:42:*:list:*"), (PurgeCommand{{}, {}, {"org:42:*:list:*"}, false}));
}

TEST(InvalidationMessage, APlainKeyOrTagIsAPatternThatMatchesOnlyItself) {
  EXPECT_EQ(valid("org:42:wo:7").patterns, std::vector<std::string>{"org:42:wo:7"});
  EXPECT_EQ(valid("api.example.com|/v1/sites?a=1|api_list|").patterns,
            std::vector<std::string>{"api.example.com|/v1/sites?a=1|api_list|"});
}

TEST(InvalidationMessage, SurroundingWhitespaceIsIgnored) {
  EXPECT_EQ(valid("  sites \r\n").patterns, std::vector<std::string>{"sites"});
}

TEST(InvalidationMessage, JsonCarriesKeysTagsPatternsAndSoft) {
  EXPECT_EQ(valid(R"({"keys":["k1","k2"],"tags":["t"],"patterns":["p*"],"soft":true})"),
            (PurgeCommand{{"k1", "k2"}, {"t"}, {"p*"}, true}));
  EXPECT_EQ(valid(R"({"keys":["k"]})"), (PurgeCommand{{"k"}, {}, {}, false}));
  EXPECT_EQ(valid(R"( {"tags":["t"],"soft":false} )"), (PurgeCommand{{}, {"t"}, {}, false}));
  EXPECT_EQ(valid(R"({"patterns":["org:\u0034\u0032:*"]})").patterns,
            std::vector<std::string>{"org:42:*"});
}

TEST(InvalidationMessage, TextNotStartingWithABraceIsAGlobEvenIfItLooksLikeJson) {
  EXPECT_EQ(valid(R"(["k"])").patterns, std::vector<std::string>{R"(["k"])"});
}

TEST(InvalidationMessage, EmptyMessagesAreMalformed) {
  EXPECT_EQ(rejected(""), "empty message");
  EXPECT_EQ(rejected(" \n "), "empty message");
  EXPECT_EQ(rejected("{}"), "nothing to purge: no keys, tags or patterns");
  EXPECT_EQ(rejected(R"({"keys":[],"soft":true})"), "nothing to purge: no keys, tags or patterns");
}

TEST(InvalidationMessage, BrokenJsonIsMalformed) {
  EXPECT_NE(rejected(R"({"keys":["a")").find("invalid JSON"), std::string::npos);
  EXPECT_NE(rejected("{keys: [a]}").find("invalid JSON"), std::string::npos);
}

TEST(InvalidationMessage, WrongTypesAreMalformed) {
  EXPECT_EQ(rejected(R"({"tags":"t"})"), "\"tags\" must be an array of strings");
  EXPECT_EQ(rejected(R"({"keys":[1]})"), "\"keys\" must be an array of strings");
  EXPECT_EQ(rejected(R"({"patterns":[""]})"),
            "\"patterns\" holds an empty name or a control character");
  EXPECT_EQ(rejected(R"({"tags":["t"],"soft":"yes"})"), "\"soft\" must be true or false");
  EXPECT_EQ(rejected(R"({"keys":{"k":1}})"), "\"keys\" must be an array of strings");
}

TEST(InvalidationMessage, UnknownAndRepeatedFieldsAreMalformed) {
  EXPECT_EQ(rejected(R"({"tag":["t"]})"),
            "unknown field \"tag\" (expected keys, tags, patterns, soft)");
  EXPECT_EQ(rejected(R"({"tags":["a"],"tags":["b"]})"), "duplicate field \"tags\"");
}

TEST(InvalidationMessage, ControlCharactersInPlainTextAreMalformed) {
  EXPECT_EQ(rejected("a\nb"), "control character in a plain-text message");
  EXPECT_EQ(rejected(std::string("a\0b", 3)), "control character in a plain-text message");
}

TEST(InvalidationMessage, OversizedMessagesAreMalformed) {
  EXPECT_EQ(rejected(std::string(100, 'a'), 64),
            "message of 100 bytes is larger than the limit of 64");
  std::string many = R"({"tags":[)";
  for (size_t i = 0; i <= kMaxNamesPerMessage; ++i) {
    many += (i == 0 ? "\"t" : ",\"t") + std::to_string(i) + "\"";
  }
  many += "]}";
  EXPECT_EQ(rejected(many, 1 << 20), "more than 10000 names in one message");
}

}  // namespace
}  // namespace edge::invalidation
