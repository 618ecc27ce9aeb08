// A minimal JSON writer for the admin API's answers: objects, arrays, strings (escaped),
// integers and booleans, with the commas placed for the caller. Pure logic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/json/json_string.h"

namespace edge::admin {

class JsonWriter {
 public:
  JsonWriter& beginObject() { return open('{'); }
  JsonWriter& endObject() { return close('}'); }
  JsonWriter& beginArray() { return open('['); }
  JsonWriter& endArray() { return close(']'); }

  // The next value belongs to `name` (inside an object).
  JsonWriter& key(std::string_view name) {
    separate();
    appendString(name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }

  JsonWriter& value(std::string_view text) {
    separate();
    appendString(text);
    return *this;
  }
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag) { return raw(flag ? "true" : "false"); }
  JsonWriter& value(int64_t number) { return raw(std::to_string(number)); }
  JsonWriter& value(uint64_t number) { return raw(std::to_string(number)); }
  JsonWriter& value(int number) { return value(static_cast<int64_t>(number)); }

  template <class T>
  JsonWriter& field(std::string_view name, const T& v) {
    return key(name).value(v);
  }

  std::string take() { return std::move(out_); }

 private:
  JsonWriter& open(char bracket) {
    separate();
    out_ += bracket;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& close(char bracket) {
    out_ += bracket;
    first_.pop_back();
    return *this;
  }
  JsonWriter& raw(std::string_view text) {
    separate();
    out_ += text;
    return *this;
  }
  // A comma before every element but the first of its container; none right after a key.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) {
        out_ += ',';
      }
      first_.back() = false;
    }
  }
  // The admin API's answers as they have always been: every control character as "\u00XX",
  // other bytes copied unchecked.
  void appendString(std::string_view text) {
    filters::json::appendJsonString(out_, text,
                                    {.short_forms = false, .latin1_unless_utf8 = false});
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace edge::admin
