// Sparse fieldset selections: the `fields=` query parameter (dotted paths, parenthesised groups,
// `*` wildcards) and JSON:API's `fields[TYPE]=` parameters, parsed into an immutable tree that
// the projector walks. Pure: no I/O, no event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace edge::filters::json {

struct SelectionError {
  size_t position = 0;  // 0-based offset in the parameter value given
  std::string message;
};

struct FieldChild;

// One level of a selection. `whole` keeps the value as written (a leaf such as `id`, or `a.*`
// once folded); otherwise the value is an object whose members are chosen by `children` and, with
// `wildcard`, every other member is kept whole too.
struct FieldNode {
  bool whole = false;
  bool wildcard = false;
  std::vector<FieldChild> children;  // sorted by name (bytewise), names unique
};

struct FieldChild {
  std::string name;
  FieldNode node;
  uint64_t prefix = 0;  // the name's first 8 bytes, zero-padded (little-endian): a quick filter
};

// JSON:API sparse fieldset for one resource type: the member names kept inside `attributes` and
// `relationships` (as a flat node whose children are all whole).
struct TypedFields {
  std::string type;
  FieldNode members;
};

// A parsed selection; immutable after parsing. Either a path tree (`fields=`) or a set of
// JSON:API typed fieldsets (`fields[TYPE]=`), never both.
class FieldSelection {
 public:
  FieldSelection() = default;  // empty: selects nothing in particular, the projector keeps all

  bool empty() const {
    return !typed_ && !root_.whole && !root_.wildcard && root_.children.empty();
  }
  bool typed() const { return typed_; }

  // Canonical text: paths sorted bytewise and deduplicated, redundant ones folded (`a.b` is
  // covered by `a`, `a.*` equals `a`, `*,a` equals `*`), so equal selections written differently
  // give the same string: "id,site.name,status". The JSON:API form reads
  // "fields[articles]=body,title&fields[people]=name" (types sorted, values not encoded).
  // Used for ETags and memo keys; "" for the empty selection.
  const std::string& canonical() const { return canonical_; }

  // The path tree (plain selections; an empty node for typed ones).
  const FieldNode& root() const { return root_; }
  // The fieldset of `type`, or nullptr when the request named none for it.
  const TypedFields* fieldsFor(std::string_view type) const;

 private:
  friend class SelectionBuilder;

  bool typed_ = false;
  FieldNode root_;
  std::vector<TypedFields> types_;
  std::string canonical_;
};

// Selections nested deeper than this are rejected: the projector recurses once per level.
inline constexpr size_t kMaxSelectionDepth = 64;

// One `fields=` value, already percent-decoded (decoding is the caller's job; `+` is not a
// space here): "id,title,site.name", "items(id,title),next", "*", "site.*", "a(b,c(d))".
// Spaces and tabs around names are ignored. A name is any run of bytes other than `,` `(` `)`
// `.` `*` and control characters (so "first name" and UTF-8 names are fine); `*` stands alone as
// a whole name and ends its path. `a.b(c,d)` selects `a.b.c` and `a.b.d`.
// Errors give the offset of the offending byte: an empty name ("id,,x" -> 3, the second comma;
// "" -> 0), a trailing comma or dot, unbalanced parentheses (an unclosed `(` is reported where it
// opens), `*` inside a name or followed by more path, a control character, anything but `,` or
// `)` after a group, or nesting deeper than kMaxSelectionDepth.
std::variant<FieldSelection, SelectionError> parseFields(std::string_view value);

// JSON:API: all `fields[TYPE]=a,b` parameters of a request as (TYPE, decoded value) pairs. A
// value is a list of member names (no dots or groups); an empty value keeps no attributes or
// relationships; `*` keeps them all (as if the type were not named). Repeated types merge.
// Errors: a type that is empty or holds a control character, `[`, `]`, `&` or `=` (position 0),
// and syntax errors in a value, positioned in that value.
std::variant<FieldSelection, SelectionError> parseTypedFields(
    const std::vector<std::pair<std::string, std::string>>& by_type);

// The selection of a request, from its raw query string (after '?', still percent-encoded).
// Parameters are split on '&'; a name and value are percent-decoded (%XX only: '+' stays '+').
// `fields` and `fields[TYPE]` (brackets possibly encoded) are read; repeated `fields` parameters
// merge like one comma-separated list. `present` is false when the query has none of them.
// On error, `error` is set and `param` names the (decoded) parameter at fault; the position is
// an offset in that parameter's value as it stands in the query, still encoded. Mixing
// `fields` with `fields[TYPE]` is an error reported on the first parameter of the other kind.
struct QuerySelection {
  bool present = false;
  FieldSelection selection;
  std::optional<SelectionError> error;
  std::string param;
};
QuerySelection selectionFromQuery(std::string_view query);

}  // namespace edge::filters::json
