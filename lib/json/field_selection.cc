#include "lib/json/field_selection.h"

#include <algorithm>
#include <cstring>

namespace edge::filters::json {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t'; }

// A tab is white space like a space (trimmed around names, kept inside), not a control byte.
bool isControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && c != '\t') || byte == 0x7F;
}

bool endsName(char c) {
  return c == ',' || c == '(' || c == ')' || c == '.' || c == '*' || isControl(c);
}

FieldNode& childOf(FieldNode& node, std::string_view name) {
  auto& children = node.children;
  auto it = std::lower_bound(children.begin(), children.end(), name,
                             [](const FieldChild& c, std::string_view n) { return c.name < n; });
  if (it == children.end() || it->name != name) {
    it = children.insert(it, FieldChild{std::string(name), FieldNode{}});
  }
  return it->node;
}

uint64_t prefixOf(std::string_view name) {
  uint64_t prefix = 0;
  std::memcpy(&prefix, name.data(), std::min<size_t>(name.size(), sizeof prefix));
  return prefix;
}

// Folds redundant paths so that equal selections have equal trees: a whole node has no children,
// whole children under a wildcard add nothing, and a wildcard with nothing else is whole.
void normalize(FieldNode& node) {
  if (node.whole) {
    node.wildcard = false;
    node.children.clear();
    return;
  }
  for (FieldChild& child : node.children) {
    child.prefix = prefixOf(child.name);
    normalize(child.node);
  }
  if (node.wildcard) {
    std::erase_if(node.children, [](const FieldChild& c) { return c.node.whole; });
    if (node.children.empty()) {
      node.whole = true;
      node.wildcard = false;
    }
  }
}

void appendItem(std::string& out, std::string_view item) {
  if (!out.empty()) {
    out += ',';
  }
  out += item;
}

void appendPaths(const FieldNode& node, std::string& prefix, std::string& out) {
  if (node.whole) {
    appendItem(out, prefix.empty() ? std::string("*") : prefix);
    return;
  }
  if (node.wildcard) {
    appendItem(out, prefix.empty() ? std::string("*") : prefix + ".*");
  }
  for (const FieldChild& child : node.children) {
    const size_t length = prefix.size();
    if (!prefix.empty()) {
      prefix += '.';
    }
    prefix += child.name;
    appendPaths(child.node, prefix, out);
    prefix.resize(length);
  }
}

// Recursive descent over one parameter value. `flat` accepts member names only (JSON:API).
class Parser {
 public:
  Parser(std::string_view text, bool flat) : text_(text), flat_(flat) {}

  std::optional<SelectionError> parse(FieldNode& root) {
    skipSpaces();
    if (atEnd()) {
      return SelectionError{0, "empty field selection"};
    }
    return parseList(root, 0, std::nullopt);
  }

 private:
  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void skipSpaces() {
    while (!atEnd() && isSpace(peek())) {
      ++pos_;
    }
  }
  static std::optional<SelectionError> fail(size_t position, std::string message) {
    return SelectionError{position, std::move(message)};
  }

  // Items separated by commas, up to the end or (inside a group opened at `open`) up to the
  // closing parenthesis, which is left for the caller.
  std::optional<SelectionError> parseList(FieldNode& node, size_t depth,
                                          std::optional<size_t> open) {
    while (true) {
      if (auto error = parseItem(node, depth)) {
        return error;
      }
      skipSpaces();
      if (atEnd()) {
        return open ? fail(*open, "unclosed '('") : std::nullopt;
      }
      if (peek() == ')') {
        return open ? std::nullopt : fail(pos_, "unbalanced ')'");
      }
      if (peek() != ',') {
        return fail(pos_, "expected ',' between fields");
      }
      const size_t comma = pos_++;
      skipSpaces();
      if (atEnd()) {
        return fail(comma, "trailing ','");
      }
    }
  }

  // One path, optionally followed by a group: `a.b.c`, `a.*`, `a(b,c)`, `*`.
  std::optional<SelectionError> parseItem(FieldNode& node, size_t depth) {
    FieldNode* current = &node;
    while (true) {
      skipSpaces();
      if (atEnd() || peek() == ',' || peek() == ')' || peek() == '(' || peek() == '.') {
        return fail(pos_, "empty field name");
      }
      if (peek() == '*') {
        return parseWildcard(*current);
      }
      const size_t start = pos_;
      while (!atEnd() && !endsName(peek())) {
        ++pos_;
      }
      if (!atEnd() && peek() == '*') {
        return fail(pos_, "'*' must stand alone as a name");
      }
      if (!atEnd() && isControl(peek())) {
        return fail(pos_, "control character in field name");
      }
      std::string_view name = text_.substr(start, pos_ - start);
      while (isSpace(name.back())) {
        name.remove_suffix(1);
      }
      if (++depth > kMaxSelectionDepth) {
        return fail(start, "selection nested deeper than " + std::to_string(kMaxSelectionDepth) +
                               " levels");
      }
      current = &childOf(*current, name);
      if (atEnd() || peek() == ',' || peek() == ')') {
        current->whole = true;
        return std::nullopt;
      }
      if (flat_) {
        return fail(pos_, "JSON:API fields are member names, without '.' or '('");
      }
      if (peek() == '(') {
        return parseGroup(*current, depth);
      }
      const size_t dot = pos_++;  // a '.'
      if (atEnd()) {
        return fail(dot, "trailing '.'");
      }
    }
  }

  std::optional<SelectionError> parseWildcard(FieldNode& node) {
    ++pos_;
    skipSpaces();
    if (!atEnd() && (peek() == '.' || peek() == '(')) {
      return fail(pos_, "'*' must end a path");
    }
    if (!atEnd() && peek() != ',' && peek() != ')') {
      return fail(pos_, "'*' must stand alone as a name");
    }
    node.wildcard = true;
    return std::nullopt;
  }

  std::optional<SelectionError> parseGroup(FieldNode& node, size_t depth) {
    const size_t open = pos_++;
    if (auto error = parseList(node, depth, open)) {
      return error;
    }
    ++pos_;  // the ')'
    skipSpaces();
    if (!atEnd() && peek() != ',' && peek() != ')') {
      return fail(pos_, "expected ',' after ')'");
    }
    return std::nullopt;
  }

  std::string_view text_;
  bool flat_;
  size_t pos_ = 0;
};

bool validType(std::string_view type) {
  return !type.empty() && std::none_of(type.begin(), type.end(), [](char c) {
    return isControl(c) || c == '[' || c == ']' || c == '&' || c == '=';
  });
}

// Typed canonical text separates types with '&' and names with ','; names may hold '&' and '%'.
void appendEscapedName(std::string& out, std::string_view name) {
  for (char c : name) {
    if (c == '%' || c == '&') {
      out += c == '%' ? "%25" : "%26";
    } else {
      out += c;
    }
  }
}

}  // namespace

const TypedFields* FieldSelection::fieldsFor(std::string_view type) const {
  for (const TypedFields& fields : types_) {
    if (fields.type == type) {
      return &fields;
    }
  }
  return nullptr;
}

class SelectionBuilder {
 public:
  static FieldSelection fromTree(FieldNode root) {
    FieldSelection selection;
    normalize(root);
    selection.root_ = std::move(root);
    std::string prefix;
    appendPaths(selection.root_, prefix, selection.canonical_);
    return selection;
  }

  // `by_type` holds one node per distinct type, sorted; whole nodes came from `*`.
  static FieldSelection fromTypes(std::vector<TypedFields> by_type) {
    FieldSelection selection;
    std::erase_if(by_type, [](const TypedFields& t) { return t.members.whole; });
    for (const TypedFields& fields : by_type) {
      selection.canonical_ += selection.canonical_.empty() ? "fields[" : "&fields[";
      selection.canonical_ += fields.type + "]=";
      for (size_t i = 0; i < fields.members.children.size(); ++i) {
        selection.canonical_ += i == 0 ? "" : ",";
        appendEscapedName(selection.canonical_, fields.members.children[i].name);
      }
    }
    selection.typed_ = !by_type.empty();
    selection.types_ = std::move(by_type);
    return selection;
  }
};

std::variant<FieldSelection, SelectionError> parseFields(std::string_view value) {
  FieldNode root;
  if (auto error = Parser(value, false).parse(root)) {
    return *std::move(error);
  }
  return SelectionBuilder::fromTree(std::move(root));
}

std::variant<FieldSelection, SelectionError> parseTypedFields(
    const std::vector<std::pair<std::string, std::string>>& by_type) {
  std::vector<TypedFields> types;
  for (const auto& [type, value] : by_type) {
    if (!validType(type)) {
      return SelectionError{0, "invalid resource type in fields[" + type + "]"};
    }
    const auto before = [](const TypedFields& t, const std::string& n) { return t.type < n; };
    auto it = std::lower_bound(types.begin(), types.end(), type, before);
    if (it == types.end() || it->type != type) {
      it = types.insert(it, TypedFields{type, FieldNode{}});
    }
    const bool blank = std::all_of(value.begin(), value.end(), isSpace);
    if (blank) {
      continue;  // no attributes or relationships
    }
    if (auto error = Parser(value, true).parse(it->members)) {
      return *std::move(error);
    }
    normalize(it->members);
  }
  return SelectionBuilder::fromTypes(std::move(types));
}

}  // namespace edge::filters::json
