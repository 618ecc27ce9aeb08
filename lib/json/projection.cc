#include "lib/json/projection.h"

#include "lib/json/raw_json.h"

#include <simdjson.h>


#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

namespace edge::filters::json {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

static_assert(kJsonPadding == simdjson::SIMDJSON_PADDING);

// Above this size a document's buffers are released after use, so that one huge response does
// not pin its memory in every worker thread.
constexpr size_t kKeepBytes = 1 << 20;

const FieldNode& wholeNode() {
  static const FieldNode node{true, false, {}};
  return node;
}

// A kept scalar token (trimmed) is checked by its text: simdjson's scan has already checked
// strings except for their escapes, which are copied unread.
error_code checkScalar(std::string_view token, od::json_type type) {
  bool valid = true;
  if (type == od::json_type::number) {
    valid = isJsonNumber(token);
  } else if (type == od::json_type::boolean) {
    valid = token == "true" || token == "false";
  } else if (type == od::json_type::null) {
    valid = token == "null";
  }
  return valid ? SUCCESS : simdjson::TAPE_ERROR;
}

// simdjson 3.0's own skip (json_iterator::skip_child) takes a switch per structural token, which
// mispredicts on mixed content; skipping the rest of an object after its last selected member
// counts brackets through a table instead. It needs the object's iterator, which simdjson keeps
// protected: reached through a derived class, as the standard allows.
static_assert(simdjson::SIMDJSON_VERSION_MAJOR == 3,
              "skipRest() uses simdjson 3 On-Demand internals: recheck it");

struct ObjectIterator : od::object {
  static od::value_iterator& of(od::object& obj) { return obj.*(&ObjectIterator::iter); }
};
struct TokenIterator : od::json_iterator {
  static od::token_iterator& of(od::json_iterator& iter) {
    return iter.*(&TokenIterator::token);
  }
  static od::token_position end(const od::json_iterator& iter) {
    return (iter.*(&TokenIterator::end_position))();
  }
};

constexpr auto kBracketDelta = [] {
  std::array<int8_t, 256> delta{};
  delta['{'] = delta['['] = 1;
  delta['}'] = delta[']'] = -1;
  return delta;
}();

// Skips the rest of `obj`, its closing brace included. `obj` must be past its first key.
error_code skipRest(od::object& obj) {
  od::value_iterator& members = ObjectIterator::of(obj);
  od::json_iterator& iter = members.json_iter();
  const auto depth = members.depth();
  SIMDJSON_TRY(iter.skip_child(depth));  // the rest of the current member's value
  od::token_position position = iter.position();
  const od::token_position end = TokenIterator::end(iter);
  if (position < end) {
    const uint8_t* const buf = iter.peek() - *position;
    int level = 0;
    for (; position < end; ++position) {
      level += kBracketDelta[buf[*position]];
      if (level < 0) {
        TokenIterator::of(iter).set_position(position + 1);
        iter.ascend_to(depth - 1);
        return SUCCESS;
      }
    }
    TokenIterator::of(iter).set_position(end);
  }
  return iter.report_error(simdjson::TAPE_ERROR, "not enough close braces");
}

// Walks one document, appending to `out`; any simdjson error aborts the walk.
class Projector {
 public:
  explicit Projector(std::string& out) : out_(out) {}

  // `json` is the whole input; `scalar` tells whether the document was a lone scalar.
  error_code document(od::document& doc, std::string_view json, const FieldSelection& selection,
                      const ProjectionOptions& options, bool& scalar);

 private:
  error_code value(od::value v, const FieldNode& node, size_t depth);
  error_code object(od::object obj, const FieldNode& node, size_t depth);
  error_code array(od::array arr, const FieldNode& node, size_t depth);
  error_code copy(od::value v);
  template <typename Transform>
  error_code topLevel(od::document& doc, Transform&& transform);
  error_code resources(od::value v, const FieldSelection& selection);
  error_code resource(od::object obj, const FieldSelection& selection);

  // Reads the key of `field`; `name` gets its unescaped text (which may live in the parser).
  error_code key(od::field& field, std::string_view& raw, std::string_view& name);
  void appendKey(std::string_view raw) {
    out_ += '"';
    out_ += raw;
    out_ += "\":";
  }
  void separate(bool& first) {
    if (!first) {
      out_ += ',';
    }
    first = false;
  }

  std::string& out_;
};

// The child named by `key` (unescaped text; `plain` when that is the raw key inside the padded
// input, with 8 bytes readable past it), or nullptr.
const FieldChild* findChild(const FieldNode& node, std::string_view key, bool plain) {
  if (!plain) {
    for (const FieldChild& child : node.children) {
      if (child.name == key) {
        return &child;
      }
    }
    return nullptr;
  }
  uint64_t prefix = 0;
  std::memcpy(&prefix, key.data(), sizeof prefix);
  if (key.size() < sizeof prefix) {
    prefix &= (uint64_t{1} << (8 * key.size())) - 1;
  }
  for (const FieldChild& child : node.children) {
    if (child.prefix == prefix && child.name.size() == key.size() &&
        (key.size() <= sizeof prefix ||
         std::memcmp(child.name.data() + 8, key.data() + 8, key.size() - 8) == 0)) {
      return &child;
    }
  }
  return nullptr;
}

// Which of a node's children an object has shown so far.
class SeenChildren {
 public:
  explicit SeenChildren(size_t count) {
    if (count > 64) {
      large_.resize(count);
    }
  }
  // False when `index` was seen before.
  bool insert(size_t index) {
    if (large_.empty()) {
      const uint64_t bit = uint64_t{1} << index;
      const bool fresh = (small_ & bit) == 0;
      small_ |= bit;
      return fresh;
    }
    const bool fresh = !large_[index];
    large_[index] = true;
    return fresh;
  }

 private:
  uint64_t small_ = 0;
  std::vector<bool> large_;
};

error_code Projector::key(od::field& field, std::string_view& raw, std::string_view& name) {
  bool escaped = false;
  raw = rawKey(field.key().raw(), escaped);
  if (!escaped) {
    name = raw;
    return SUCCESS;
  }
  return field.unescaped_key().get(name);
}

error_code Projector::copy(od::value v) {
  od::json_type type;
  SIMDJSON_TRY(v.type().get(type));
  std::string_view raw;
  if (type == od::json_type::object) {
    od::object obj;
    SIMDJSON_TRY(v.get_object().get(obj));
    SIMDJSON_TRY(obj.raw_json().get(raw));
  } else if (type == od::json_type::array) {
    od::array arr;
    SIMDJSON_TRY(v.get_array().get(arr));
    SIMDJSON_TRY(arr.raw_json().get(raw));
  } else {
    raw = trimJsonSpace(v.raw_json_token());
    SIMDJSON_TRY(checkScalar(raw, type));
  }
  out_ += trimJsonSpace(raw);
  return SUCCESS;
}

error_code Projector::value(od::value v, const FieldNode& node, size_t depth) {
  if (node.whole) {
    return copy(v);
  }
  od::json_type type;
  SIMDJSON_TRY(v.type().get(type));
  if (type != od::json_type::object && type != od::json_type::array) {
    return copy(v);
  }
  if (depth >= kMaxProjectionDepth) {
    return simdjson::DEPTH_ERROR;
  }
  if (type == od::json_type::object) {
    od::object obj;
    SIMDJSON_TRY(v.get_object().get(obj));
    return object(obj, node, depth + 1);
  }
  od::array arr;
  SIMDJSON_TRY(v.get_array().get(arr));
  return array(arr, node, depth + 1);
}

error_code Projector::object(od::object obj, const FieldNode& node, size_t depth) {
  out_ += '{';
  bool first = true;
  if (node.wildcard) {  // every member is kept, each occurrence of a duplicated key too
    for (auto member : obj) {
      SIMDJSON_TRY(member.error());
      od::field& field = member.value_unsafe();
      std::string_view raw;
      std::string_view name;
      SIMDJSON_TRY(key(field, raw, name));
      const FieldChild* child = findChild(node, name, name.data() == raw.data());
      separate(first);
      appendKey(raw);
      SIMDJSON_TRY(value(field.value(), child != nullptr ? child->node : wholeNode(), depth));
    }
    out_ += '}';
    return SUCCESS;
  }
  // Named members only: the first occurrence of each is kept, and once all are found the rest
  // of the object is skipped unread.
  size_t missing = node.children.size();
  SeenChildren seen(missing);
  if (missing != 0) {
    for (auto member : obj) {
      SIMDJSON_TRY(member.error());
      od::field& field = member.value_unsafe();
      std::string_view raw;
      std::string_view name;
      SIMDJSON_TRY(key(field, raw, name));
      const FieldChild* child = findChild(node, name, name.data() == raw.data());
      if (child == nullptr || !seen.insert(static_cast<size_t>(child - node.children.data()))) {
        continue;  // the iterator skips the value
      }
      separate(first);
      appendKey(raw);
      SIMDJSON_TRY(value(field.value(), child->node, depth));
      if (--missing == 0) {
        break;
      }
    }
  }
  if (missing == 0) {
    if (node.children.empty()) {  // still at the first key, if any
      std::string_view whole;
      SIMDJSON_TRY(obj.raw_json().get(whole));
    } else {
      SIMDJSON_TRY(skipRest(obj));
    }
  }
  out_ += '}';
  return SUCCESS;
}

error_code Projector::array(od::array arr, const FieldNode& node, size_t depth) {
  out_ += '[';
  bool first = true;
  for (auto element : arr) {
    od::value v;
    SIMDJSON_TRY(element.get(v));
    separate(first);
    SIMDJSON_TRY(value(v, node, depth));
  }
  out_ += ']';
  return SUCCESS;
}

// Writes every top-level member, its value through `transform(name, value)`.
template <typename Transform>
error_code Projector::topLevel(od::document& doc, Transform&& transform) {
  od::object obj;
  SIMDJSON_TRY(doc.get_object().get(obj));
  out_ += '{';
  bool first = true;
  for (auto member : obj) {
    SIMDJSON_TRY(member.error());
    od::field& field = member.value_unsafe();
    std::string_view raw;
    std::string_view name;
    SIMDJSON_TRY(key(field, raw, name));
    separate(first);
    appendKey(raw);
    SIMDJSON_TRY(transform(name, field.value()));
  }
  out_ += '}';
  return SUCCESS;
}

// Whether the top-level object has a member `name`; the document must be rewound after.
error_code hasMember(od::document& doc, std::string_view name, bool& found) {
  od::object obj;
  SIMDJSON_TRY(doc.get_object().get(obj));
  found = false;
  for (auto member : obj) {
    od::field field;
    SIMDJSON_TRY(std::move(member).get(field));
    std::string_view key_text;
    SIMDJSON_TRY(field.unescaped_key().get(key_text));
    if (key_text == name) {
      found = true;
      return SUCCESS;
    }
  }
  return SUCCESS;
}

error_code Projector::resources(od::value v, const FieldSelection& selection) {
  od::json_type type;
  SIMDJSON_TRY(v.type().get(type));
  if (type == od::json_type::object) {
    od::object obj;
    SIMDJSON_TRY(v.get_object().get(obj));
    return resource(obj, selection);
  }
  if (type != od::json_type::array) {
    return copy(v);
  }
  od::array arr;
  SIMDJSON_TRY(v.get_array().get(arr));
  out_ += '[';
  bool first = true;
  for (auto element : arr) {
    od::value item;
    SIMDJSON_TRY(element.get(item));
    separate(first);
    SIMDJSON_TRY(resources(item, selection));
  }
  out_ += ']';
  return SUCCESS;
}

// A resource object: one pass to find its type and id, a second to write it.
error_code Projector::resource(od::object obj, const FieldSelection& selection) {
  std::string_view type_name;
  bool has_type = false;
  bool has_id = false;
  for (auto member : obj) {
    od::field field;
    SIMDJSON_TRY(std::move(member).get(field));
    std::string_view name;
    SIMDJSON_TRY(field.unescaped_key().get(name));
    if (name == "id") {
      has_id = true;
    } else if (name == "type") {
      has_type = field.value().get_string().get(type_name) == SUCCESS;  // a string or not
    }
  }
  bool rewound = false;
  SIMDJSON_TRY(obj.reset().get(rewound));
  const TypedFields* fields = has_type && has_id ? selection.fieldsFor(type_name) : nullptr;
  std::string_view raw;
  if (fields == nullptr) {
    SIMDJSON_TRY(obj.raw_json().get(raw));
    out_ += trimJsonSpace(raw);
    return SUCCESS;
  }
  out_ += '{';
  bool first = true;
  for (auto member : obj) {
    od::field field;
    SIMDJSON_TRY(std::move(member).get(field));
    std::string_view name;
    SIMDJSON_TRY(key(field, raw, name));
    const bool filtered = name == "attributes" || name == "relationships";
    if (!filtered && name != "type" && name != "id" && name != "lid" && name != "links" &&
        name != "meta") {
      continue;
    }
    separate(first);
    appendKey(raw);
    SIMDJSON_TRY(filtered ? value(field.value(), fields->members, 2) : copy(field.value()));
  }
  out_ += '}';
  return SUCCESS;
}

error_code Projector::document(od::document& doc, std::string_view json,
                               const FieldSelection& selection, const ProjectionOptions& options,
                               bool& scalar) {
  od::json_type type;
  SIMDJSON_TRY(doc.type().get(type));
  scalar = type != od::json_type::object && type != od::json_type::array;
  const FieldNode& root = selection.root();
  const bool keep_all = selection.empty() || root.whole;
  const bool typed_object = selection.typed() && type == od::json_type::object;
  std::string_view raw;
  if (scalar) {
    // Checked by hand: simdjson 3.0.1's root getters disagree on trailing whitespace.
    SIMDJSON_TRY(doc.raw_json_token().get(raw));
    raw = trimJsonSpace(raw);
    if (raw.data() + raw.size() != json.data() + trimJsonSpace(json).size()) {
      return simdjson::TRAILING_CONTENT;
    }
    out_ += raw;
    return checkScalar(raw, type);
  }
  if (keep_all || (selection.typed() && !typed_object)) {
    SIMDJSON_TRY(doc.raw_json().get(raw));
    out_ += trimJsonSpace(raw);
    return SUCCESS;
  }
  if (type == od::json_type::array) {
    od::array arr;
    SIMDJSON_TRY(doc.get_array().get(arr));
    return array(arr, root, 1);
  }
  if (typed_object) {
    return topLevel(doc, [&](std::string_view name, od::value v) {
      return name == "data" || name == "included" ? resources(v, selection) : copy(v);
    });
  }
  bool enveloped = false;
  if (!options.envelope.empty()) {
    SIMDJSON_TRY(hasMember(doc, options.envelope, enveloped));
    doc.rewind();
  }
  if (enveloped) {  // the envelope gets the selection, its siblings pass unchanged
    return topLevel(doc, [&](std::string_view name, od::value v) {
      return name == options.envelope ? value(v, root, 1) : copy(v);
    });
  }
  od::object obj;
  SIMDJSON_TRY(doc.get_object().get(obj));
  return object(obj, root, 1);
}

// simdjson's development checks (debug builds) hold On-Demand to the parser's max depth; give
// it room for every level the projector may enter.
od::parser makeParser() {
  od::parser parser;
  if (parser.allocate(64 * 1024, kMaxProjectionDepth + 8) != SUCCESS) {
    return od::parser{};  // iterate() allocates what it needs; only debug checks differ
  }
  return parser;
}

struct ThreadState {
  od::parser parser = makeParser();
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
};

ThreadState& threadState() {
  thread_local ThreadState state;
  return state;
}

// `json` has at least kJsonPadding readable bytes after its end.
ProjectStatus projectReadable(std::string_view json, const FieldSelection& selection,
                              const ProjectionOptions& options, std::string& out) {
  ThreadState& state = threadState();
  const size_t start = out.size();
  out.reserve(start + json.size());
  od::document doc;
  bool scalar = false;
  error_code error =
      state.parser.iterate(json.data(), json.size(), json.size() + kJsonPadding).get(doc);
  if (!error) {
    error = Projector(out).document(doc, json, selection, options, scalar);
  }
  if (!error && !scalar && doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    error = simdjson::TRAILING_CONTENT;
  }
  if (json.size() > kKeepBytes) {
    state.parser = makeParser();
  }
  if (error) {
    out.resize(start);
    return ProjectStatus::InvalidJson;
  }
  return ProjectStatus::Projected;
}

}  // namespace

ProjectStatus project(std::string_view json, const FieldSelection& selection,
                      const ProjectionOptions& options, std::string& out) {
  ThreadState& state = threadState();
  const size_t needed = json.size() + kJsonPadding;
  if (state.capacity < needed) {
    state.buffer = std::make_unique_for_overwrite<char[]>(needed);
    state.capacity = needed;
  }
  std::copy(json.begin(), json.end(), state.buffer.get());
  std::fill_n(state.buffer.get() + json.size(), kJsonPadding, ' ');
  const ProjectStatus status =
      projectReadable({state.buffer.get(), json.size()}, selection, options, out);
  if (state.capacity > kKeepBytes + kJsonPadding) {
    state.buffer.reset();
    state.capacity = 0;
  }
  return status;
}

ProjectStatus projectPadded(const std::string& json, const FieldSelection& selection,
                            const ProjectionOptions& options, std::string& out) {
  if (json.capacity() - json.size() < kJsonPadding) {
    return project(json, selection, options, out);
  }
  return projectReadable(json, selection, options, out);
}

}  // namespace edge::filters::json
