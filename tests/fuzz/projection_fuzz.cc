// Projection of a JSON body by a selection. Input: the `fields=` value up to the first
// newline, then the body. Byte values of the selection line decide nothing else.
//
// Properties, when the body is valid JSON (simdjson DOM accepts it): the projection succeeds,
// is valid JSON, and is a subset of the body: every member path of the output exists in the
// input with an equal value (arrays keep their length, elements compared in order).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "lib/json/field_selection.h"
#include "lib/json/projection.h"
#include "fuzz_check.h"

namespace {

using namespace edge::filters::json;
using simdjson::dom::element;
using simdjson::dom::element_type;

// True when `out` is `in` with members left out (at any depth), nothing added or changed.
bool isSubset(element out, element in) {
  if (out.type() != in.type()) {
    return false;
  }
  switch (out.type()) {
    case element_type::OBJECT: {
      // Named copies: a range-for over value_unsafe() of a temporary result dangles.
      const simdjson::dom::object out_object = out.get_object().value_unsafe();
      const simdjson::dom::object in_object = in.get_object().value_unsafe();
      for (auto [key, value] : out_object) {
        bool found = false;  // duplicate keys: any occurrence in the input may be the source
        for (auto [in_key, in_value] : in_object) {
          if (in_key == key && isSubset(value, in_value)) {
            found = true;
            break;
          }
        }
        if (!found) {
          return false;
        }
      }
      return true;
    }
    case element_type::ARRAY: {
      const simdjson::dom::array out_array = out.get_array().value_unsafe();
      const simdjson::dom::array in_array = in.get_array().value_unsafe();
      if (out_array.size() != in_array.size()) {
        return false;
      }
      auto in_it = in_array.begin();
      for (element item : out_array) {
        if (!isSubset(item, *in_it)) {
          return false;
        }
        ++in_it;
      }
      return true;
    }
    case element_type::STRING:
      return out.get_string().value_unsafe() == in.get_string().value_unsafe();
    case element_type::INT64:
      return out.get_int64().value_unsafe() == in.get_int64().value_unsafe();
    case element_type::UINT64:
      return out.get_uint64().value_unsafe() == in.get_uint64().value_unsafe();
    case element_type::DOUBLE:
      return out.get_double().value_unsafe() == in.get_double().value_unsafe();
    case element_type::BOOL:
      return out.get_bool().value_unsafe() == in.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    return 0;
  }
  const auto parsed = parseFields(input.substr(0, newline));
  if (!std::holds_alternative<FieldSelection>(parsed)) {
    return 0;
  }
  const FieldSelection& selection = std::get<FieldSelection>(parsed);
  const std::string body(input.substr(newline + 1));
  std::string out = "prefix";  // project() appends; an InvalidJson leaves this as it was
  const ProjectStatus status = project(body, selection, ProjectionOptions{}, out);
  if (status == ProjectStatus::InvalidJson) {
    FUZZ_CHECK(out == "prefix", "InvalidJson changed the output");
  }
  simdjson::dom::parser in_parser;
  element in_root;
  if (in_parser.parse(body).get(in_root) != simdjson::SUCCESS) {
    return 0;  // invalid input may give invalid output (projection.h says where)
  }
  if (status == ProjectStatus::InvalidJson) {
    // Deep documents are refused by design (kMaxProjectionDepth), valid or not.
    return 0;
  }
  const std::string projected = out.substr(6);
  simdjson::dom::parser out_parser;
  element out_root;
  FUZZ_CHECK(out_parser.parse(projected).get(out_root) == simdjson::SUCCESS,
             "projection of valid JSON is not valid JSON");
  FUZZ_CHECK(isSubset(out_root, in_root), "projection is not a subset of its input");
  return 0;
}
