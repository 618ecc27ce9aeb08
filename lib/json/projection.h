// JSON projection: cuts the members a FieldSelection names out of a response body. Kept values
// are copied as the raw bytes of the input, never re-serialised. Pure: no I/O, no event loop.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "lib/json/field_selection.h"

namespace edge::filters::json {

struct ProjectionOptions {
  std::string envelope = "data";  // "" = no envelope handling
};

enum class ProjectStatus { Projected, InvalidJson };

// Spare capacity a buffer needs after its last byte for projectPadded() to read it in place.
inline constexpr size_t kJsonPadding = 64;

// Appends the projection of `json` to `out`.
//
// Where the selection applies:
// - a top-level array: to each element;
// - a top-level object with the envelope key (options.envelope, unescaped match): to the
//   envelope's value (each element if it is an array, the object itself if an object, a scalar
//   unchanged), and every other top-level member passes unchanged; each occurrence of a
//   duplicated envelope key is treated so;
// - a top-level object without it: to the object;
// - a top-level scalar: unchanged.
// Applying a selection:
// - to an object: the selected members are kept in their original order, with their key as
//   written (escapes included) and their value as raw input bytes unless the selection goes
//   deeper; a key matches by its unescaped text ("na\u006de" matches `name`); a missing member is
//   left out. Once every member the selection names at that level has been found, the rest of
//   the object is skipped unread. Duplicate keys (undefined by RFC 8259): the first occurrence
//   of a selected key wins, later ones are dropped. `*` keeps every member (each occurrence of
//   a duplicated key too), and named members with a deeper selection are still projected;
// - to an array: to each element (so `items.id` works through arrays, and arrays of arrays);
// - to a string, number, boolean or null: the value is kept as written (`site.name` on
//   {"site":null} gives {"site":null}), so a shape mismatch shows instead of hiding data.
// An empty selection or `*` keeps the whole document (without surrounding whitespace).
// JSON:API selections (FieldSelection::typed()): resource objects (a string `type` and an `id`)
// in top-level `data` (object or array of objects) and in top-level `included` keep `type`,
// `id`, `lid`, `links`, `meta`, and only the named members of `attributes` and `relationships`;
// their other members are dropped. Resources of types the selection does not name, and the rest
// of the document, pass unchanged.
// Output: the projector emits no whitespace of its own; whitespace inside kept values stays. The
// output is valid JSON whenever the input is.
//
// Validation follows simdjson On-Demand: invalid UTF-8, unclosed strings, control characters in
// strings, unbalanced or truncated containers, trailing content after the document, and
// malformed structure, keys, literals or numbers where the projector walks (a kept scalar
// member included) give InvalidJson. Inside objects and arrays that are skipped or copied whole,
// and in the rest of an object after its last selected member, only the bracket and string
// structure is checked, and string escapes are never decoded: a bad literal such as `tru` in
// there is copied as it was, so invalid input can give invalid output.
// On InvalidJson, `out` is left as it was.
//
// Nesting: values that are skipped or copied whole may nest to any depth. The projector
// descends one level per object or array it projects; past kMaxProjectionDepth such levels
// the input counts as InvalidJson (passes unchanged) rather than risking the stack.
//
// Buffers: simdjson reads up to kJsonPadding bytes past the end, so `json` is copied into a
// reusable thread_local padded buffer (released after documents above 1 MiB). Thread-safe: each
// thread has its own parser and buffer. `out` is reserved up front for json.size() more bytes
// (a projection is never longer than its input), so appending does not reallocate.
ProjectStatus project(std::string_view json, const FieldSelection& selection,
                      const ProjectionOptions& options, std::string& out);

// As project(), but reads `json` in place when json.capacity() - json.size() >= kJsonPadding
// (e.g. after json.reserve(json.size() + kJsonPadding)); otherwise copies as project() does.
ProjectStatus projectPadded(const std::string& json, const FieldSelection& selection,
                            const ProjectionOptions& options, std::string& out);

inline constexpr size_t kMaxProjectionDepth = 1024;

}  // namespace edge::filters::json
