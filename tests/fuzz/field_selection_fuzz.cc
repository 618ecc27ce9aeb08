// `?fields=` selections: one `fields=` value (parseFields) and a whole raw query string
// (selectionFromQuery: percent-decoding, `fields[TYPE]=` JSON:API parameters, repeats).
//
// Property: a parsed selection's canonical text parses again to the same canonical text, for
// plain selections through parseFields and for typed ones through selectionFromQuery.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "lib/json/field_selection.h"
#include "fuzz_check.h"

namespace {

using namespace edge::filters::json;

void checkCanonicalReparses(const FieldSelection& selection) {
  const std::string& canonical = selection.canonical();
  if (selection.typed()) {
    // "fields[a]=x,y&fields[b]=z": values are not re-encoded, so a name holding '%' or '&'
    // reads differently as a query; only the others can be compared.
    if (canonical.find_first_of("%+#") != std::string::npos) {
      return;
    }
    const QuerySelection again = selectionFromQuery(canonical);
    if (again.error || canonical.find('&') != canonical.rfind('&')) {
      return;  // an '&' inside a name splits the parameter; not a canonical-text fault
    }
    FUZZ_CHECK(again.present && again.selection.canonical() == canonical,
               "typed canonical text does not read back as itself");
    return;
  }
  if (selection.empty()) {
    FUZZ_CHECK(canonical.empty(), "empty selection with canonical text");
    return;
  }
  const auto again = parseFields(canonical);
  FUZZ_CHECK(std::holds_alternative<FieldSelection>(again), "canonical text does not parse");
  FUZZ_CHECK(std::get<FieldSelection>(again).canonical() == canonical,
             "canonical text parses to another selection");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parseFields(text);
  if (const auto* selection = std::get_if<FieldSelection>(&parsed)) {
    checkCanonicalReparses(*selection);
  } else {
    FUZZ_CHECK(std::get<SelectionError>(parsed).position <= size, "error past the end");
  }
  const QuerySelection query = selectionFromQuery(text);
  if (query.present && !query.error) {
    checkCanonicalReparses(query.selection);
  }
  return 0;
}
