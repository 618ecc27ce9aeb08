#include "lib/json/json_string.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>

namespace edge::filters::json {
namespace {

// The admin API's form: long escapes only, bytes copied unchecked.
constexpr StringEscapes kLongUnchecked{.short_forms = false, .latin1_unless_utf8 = false};

std::string jsonString(std::string_view text, StringEscapes escapes = {}) {
  std::string out;
  appendJsonString(out, text, escapes);
  return out;
}

// The string a JSON string literal decodes to.
std::string decodedString(const std::string& literal) {
  simdjson::dom::parser parser;
  std::string_view value;
  EXPECT_EQ(parser.parse(simdjson::padded_string(literal)).get_string().get(value),
            simdjson::SUCCESS)
      << literal;
  return std::string(value);
}

TEST(AppendJsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(jsonString(""), R"("")");
  EXPECT_EQ(jsonString(R"(say "hi" \o/)"), R"("say \"hi\" \\o/")");
  EXPECT_EQ(jsonString("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(jsonString(std::string("\x01\x1f\0", 3)), R"("\u0001\u001f\u0000")");
  EXPECT_EQ(jsonString("\x08\x0c"), R"("\u0008\u000c")");
}

TEST(AppendJsonString, KeepsUtf8AsIs) {
  const std::string text = "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x9a\x80";
  EXPECT_EQ(jsonString(text), "\"" + text + "\"");
  EXPECT_EQ(decodedString(jsonString(text)), text);
  EXPECT_EQ(jsonString(text, kLongUnchecked), "\"" + text + "\"");
}

TEST(AppendJsonString, EscapesBytesOfTextThatIsNotUtf8AsLatin1) {
  EXPECT_EQ(jsonString("caf\xe9"), R"("caf\u00e9")");
  EXPECT_EQ(decodedString(jsonString("caf\xe9")), "caf\xc3\xa9");
}

TEST(AppendJsonString, OneBadSequenceEscapesEveryHighByteOfTheText) {
  // A truncated sequence, an overlong '/', a surrogate: each makes the whole text Latin-1.
  EXPECT_EQ(jsonString("\xc3\xa9\xc3"), R"("\u00c3\u00a9\u00c3")");
  EXPECT_EQ(jsonString("\xc0\xaf"), R"("\u00c0\u00af")");
  EXPECT_EQ(jsonString("\xed\xa0\x80"), R"("\u00ed\u00a0\u0080")");
  EXPECT_EQ(jsonString("\xff"), R"("\u00ff")");
}

TEST(AppendJsonString, EveryByteRoundTrips) {
  std::string text;
  for (int c = 0; c < 0x80; ++c) {
    text.push_back(static_cast<char>(c));
  }
  EXPECT_EQ(decodedString(jsonString(text)), text);
  EXPECT_EQ(decodedString(jsonString(text, kLongUnchecked)), text);
}

TEST(AppendJsonString, AppendsToWhatIsThere) {
  std::string out = "{\"a\":";
  appendJsonString(out, "b");
  EXPECT_EQ(out, R"({"a":"b")");
}

TEST(AppendJsonString, LongFormsWriteEveryControlCharacterAsUnicodeEscape) {
  EXPECT_EQ(jsonString("x\"\n", kLongUnchecked), R"("x\"\u000a")");
  EXPECT_EQ(jsonString("a\nb\rc\td\\", kLongUnchecked), R"("a\u000ab\u000dc\u0009d\\")");
  EXPECT_EQ(jsonString("\x7f", kLongUnchecked), "\"\x7f\"");
}

TEST(AppendJsonString, UncheckedCopiesBytesOfTextThatIsNotUtf8) {
  EXPECT_EQ(jsonString("caf\xe9", kLongUnchecked), "\"caf\xe9\"");
  EXPECT_EQ(jsonString("caf\xe9", {.short_forms = true, .latin1_unless_utf8 = false}),
            "\"caf\xe9\"");
  EXPECT_EQ(jsonString("caf\xe9\n", {.short_forms = false, .latin1_unless_utf8 = true}),
            R"("caf\u00e9\u000a")");
}

}  // namespace
}  // namespace edge::filters::json
