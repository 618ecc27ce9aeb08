#include "filters/batch/batch_request.h"

#include <simdjson.h>

#include <algorithm>
#include <map>

#include "lib/http/headers.h"

namespace edge::filters::batch {
namespace {

namespace dom = simdjson::dom;
namespace od = simdjson::ondemand;

constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                         "OPTIONS"};

// Deeper than this the DOM parser refuses a document (simdjson's default maximum depth), and
// nothing here ever walks deeper.
constexpr size_t kMaxDepth = simdjson::DEFAULT_MAX_DEPTH;

// Walks every value so the on-demand parser reports the first error where it is. A scalar
// that does not parse (a bad escape, a misspelt literal) is only read after the parser has
// moved past it, so its start is kept in `scalar_at`. Recursive, so bounded by `depth`.
simdjson::error_code walk(od::value value, const char*& scalar_at, size_t depth) {
  if (depth >= kMaxDepth) {
    return simdjson::DEPTH_ERROR;
  }
  od::json_type type;
  if (auto error = value.type().get(type)) {
    return error;
  }
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (auto error = value.get_object().get(object)) {
        return error;
      }
      for (auto field : object) {
        od::value member;
        if (auto error = field.value().get(member)) {
          return error;
        }
        if (auto error = walk(member, scalar_at, depth + 1)) {
          return error;
        }
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array array;
      if (auto error = value.get_array().get(array)) {
        return error;
      }
      for (auto element : array) {
        od::value item;
        if (auto error = element.get(item)) {
          return error;
        }
        if (auto error = walk(item, scalar_at, depth + 1)) {
          return error;
        }
      }
      return simdjson::SUCCESS;
    }
    default:
      break;
  }
  const char* start = value.raw_json_token().data();
  simdjson::error_code error = simdjson::SUCCESS;
  switch (type) {
    case od::json_type::string:
      error = value.get_string().error();
      break;
    case od::json_type::number:
      error = value.get_number().error();
      break;
    case od::json_type::boolean:
      error = value.get_bool().error();
      break;
    case od::json_type::null:
      error = value.is_null().error();
      break;
    default:
      break;
  }
  if (error) {
    scalar_at = start;
  }
  return error;
}

// The offset of the first byte that does not start a well-formed UTF-8 sequence, or npos.
size_t invalidUtf8Offset(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    const size_t length = (lead >> 5) == 0x6    ? 2
                          : (lead >> 4) == 0xe  ? 3
                          : (lead >> 3) == 0x1e ? 4
                                                : 0;
    if (length == 0 || i + length > text.size() ||
        !simdjson::validate_utf8(text.data() + i, length)) {
      return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

// The offset of the bracket that opens level `max_depth + 1`, found in one pass with no
// recursion (strings skipped), or npos when the text never nests that deep.
size_t tooDeepOffset(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return i;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

// The byte offset of the first error in `text`, which the DOM parser refused with `error`.
// Best effort: the on-demand parser walks to the error and says where it stopped.
size_t errorOffset(const simdjson::padded_string& text, simdjson::error_code error) {
  if (error == simdjson::UTF8_ERROR) {
    const size_t bad = invalidUtf8Offset(text);
    return bad == std::string_view::npos ? 0 : bad;
  }
  if (error == simdjson::DEPTH_ERROR) {
    const size_t deep = tooDeepOffset(text, kMaxDepth);
    return deep == std::string_view::npos ? 0 : deep;
  }
  od::parser parser;
  od::document doc;
  if (error == simdjson::EMPTY || parser.iterate(text).get(doc) != simdjson::SUCCESS) {
    return text.size();  // nothing but whitespace: the value is missing at the end
  }
  const char* begin = text.data();
  const char* scalar_at = nullptr;
  od::value root;
  if (doc.get_value().get(root) == simdjson::SUCCESS) {
    (void)walk(root, scalar_at, 1);  // stops at the first error; the document then knows where
  }
  if (scalar_at != nullptr) {
    return static_cast<size_t>(scalar_at - begin);
  }
  const char* where = nullptr;
  if (doc.current_location().get(where) != simdjson::SUCCESS || where == nullptr) {
    return text.size();
  }
  return static_cast<size_t>(where - begin);
}

std::string inQuotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool isHeaderToken(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool isHeaderValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](unsigned char c) {
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

struct ItemReader {
  std::string where;  // "requests[3]"
  std::string error;

  bool fail(std::string_view field, const std::string& message) {
    error = where + (field.empty() ? "" : ".") + std::string(field) + ": " + message;
    return false;
  }

  bool readHeaders(dom::element value, ItemRequest& item) {
    dom::object object;
    if (value.get_object().get(object)) {
      return fail("headers", "expected an object of header names to string values");
    }
    for (auto [key, header] : object) {
      std::string_view text;
      if (!isHeaderToken(key)) {
        return fail("headers", "invalid header name " + inQuotes(key));
      }
      if (header.get_string().get(text) || !isHeaderValue(text)) {
        return fail("headers." + std::string(key), "expected a string without control characters");
      }
      item.headers.emplace_back(http::lowerAscii(key), std::string(text));
    }
    return true;
  }

  bool readBody(dom::element value, ItemRequest& item) {
    if (value.is_null()) {
      return true;  // how serialisers often write an absent body
    }
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) {
      item.body = std::string(text);
      return true;
    }
    item.body = simdjson::minify(value);
    item.body_is_json = true;
    return true;
  }

  bool read(dom::element element, ItemRequest& item, std::vector<std::string>& depends_on) {
    dom::object object;
    if (element.get_object().get(object)) {
      return fail("", "expected an object with id, method, path");
    }
    bool has_path = false;
    bool has_id = false;
    for (auto [key, value] : object) {
      std::string_view text;
      if (key == "id") {
        if (value.get_string().get(text) || text.empty()) {
          return fail("id", "expected a non-empty string");
        }
        item.id = std::string(text);
        has_id = true;
      } else if (key == "method") {
        if (value.get_string().get(text)) {
          return fail("method", "expected a string like \"GET\"");
        }
        item.method = std::string(text);
        const auto* known = std::find(std::begin(kMethods), std::end(kMethods), item.method);
        if (known == std::end(kMethods)) {
          return fail("method", "unsupported method " + inQuotes(text) +
                                    " (GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS)");
        }
      } else if (key == "path") {
        if (value.get_string().get(text)) {
          return fail("path", "expected a string like \"/api/v1/sites/1\"");
        }
        item.path = std::string(text);
        has_path = true;
      } else if (key == "headers") {
        if (!readHeaders(value, item)) {
          return false;
        }
      } else if (key == "body") {
        readBody(value, item);
      } else if (key == "dependsOn") {
        dom::array ids;
        if (value.get_array().get(ids)) {
          return fail("dependsOn", "expected an array of item ids");
        }
        for (dom::element id : ids) {
          if (id.get_string().get(text)) {
            return fail("dependsOn", "expected an array of item ids (strings)");
          }
          depends_on.emplace_back(text);
        }
      } else {
        return fail(key, "unknown member (id, method, path, headers, body, dependsOn)");
      }
    }
    if (!has_id) {
      return fail("id", "missing: every item needs an id to match its response");
    }
    if (!has_path) {
      return fail("path", "missing");
    }
    return true;
  }
};

// Items that depend on each other in a circle would never run: name one such circle.
std::string findCycle(const std::vector<ItemRequest>& items) {
  enum class Mark { None, Active, Done };
  std::vector<Mark> marks(items.size(), Mark::None);
  std::vector<size_t> path;
  std::string found;
  auto visit = [&](auto& self, size_t i) -> bool {
    marks[i] = Mark::Active;
    path.push_back(i);
    for (size_t dep : items[i].depends_on) {
      if (marks[dep] == Mark::Active) {
        auto start = std::find(path.begin(), path.end(), dep);
        for (auto it = start; it != path.end(); ++it) {
          found += inQuotes(items[*it].id) + " -> ";
        }
        found += inQuotes(items[dep].id);
        return true;
      }
      if (marks[dep] == Mark::None && self(self, dep)) {
        return true;
      }
    }
    path.pop_back();
    marks[i] = Mark::Done;
    return false;
  };
  for (size_t i = 0; i < items.size(); ++i) {
    if (marks[i] == Mark::None && visit(visit, i)) {
      return found;
    }
  }
  return "";
}

}  // namespace

std::variant<std::vector<ItemRequest>, BatchError> parseBatch(std::string_view body,
                                                               const BatchLimits& limits) {
  simdjson::padded_string text(body);
  thread_local dom::parser parser;
  dom::element root;
  if (auto error = parser.parse(text).get(root)) {
    const std::string why = error == simdjson::DEPTH_ERROR
                                ? "nested too deep (more than " + std::to_string(kMaxDepth) +
                                      " levels of arrays and objects)"
                                : simdjson::error_message(error);
    return BatchError{400, "invalid JSON at byte " + std::to_string(errorOffset(text, error)) +
                               ": " + why};
  }
  dom::object object;
  dom::array requests;
  if (root.get_object().get(object) || object["requests"].get_array().get(requests)) {
    return BatchError{400, "expected an object with a \"requests\" array"};
  }
  for (auto [key, value] : object) {
    if (key != "requests") {
      return BatchError{400, "unknown member " + inQuotes(key) + " (only \"requests\")"};
    }
  }
  if (requests.size() == 0) {
    return BatchError{400, "requests: the batch has no items"};
  }
  if (requests.size() > limits.max_items) {
    return BatchError{400, "requests: " + std::to_string(requests.size()) +
                               " items, more than the limit of " +
                               std::to_string(limits.max_items)};
  }
  std::vector<ItemRequest> items;
  std::vector<std::vector<std::string>> depends_on;
  std::map<std::string, size_t, std::less<>> index_of;
  for (dom::element element : requests) {
    ItemReader reader{"requests[" + std::to_string(items.size()) + "]", {}};
    ItemRequest item;
    depends_on.emplace_back();
    if (!reader.read(element, item, depends_on.back())) {
      return BatchError{400, reader.error};
    }
    if (!index_of.emplace(item.id, items.size()).second) {
      return BatchError{400, reader.where + ".id: " + inQuotes(item.id) + " is used twice"};
    }
    items.push_back(std::move(item));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    for (const std::string& id : depends_on[i]) {
      auto found = index_of.find(id);
      if (found == index_of.end() || found->second == i) {
        return BatchError{400, "requests[" + std::to_string(i) + "].dependsOn: " + inQuotes(id) +
                                   (found == index_of.end() ? " is not an id of this batch"
                                                            : " is the item itself")};
      }
      items[i].depends_on.push_back(found->second);
    }
  }
  if (std::string cycle = findCycle(items); !cycle.empty()) {
    return BatchError{400, "dependsOn forms a cycle: " + cycle};
  }
  return items;
}

std::string targetProblem(std::string_view target, std::string_view batch_path) {
  if (target.empty() || target.front() != '/') {
    return "must be a path starting with \"/\" (no scheme or host)";
  }
  if (target.starts_with("//")) {
    return "must not start with \"//\" (that names a host)";
  }
  if (std::any_of(target.begin(), target.end(), [](unsigned char c) {
        return c <= 0x20 || c == 0x7f;
      })) {
    return "must not contain spaces or control characters";
  }
  // A request line is ASCII (RFC 9112 3.2): other characters go percent-encoded, as URLs do.
  if (std::any_of(target.begin(), target.end(), [](unsigned char c) { return c >= 0x80; })) {
    return "must be ASCII: percent-encode other characters (their UTF-8 bytes as %XX)";
  }
  const std::string_view path = target.substr(0, target.find_first_of("?#"));
  if (target.find('#') != std::string_view::npos) {
    return "must not contain a fragment";
  }
  // Some servers read a backslash as "/": there "/a/..\b" climbs and "/\host" names a host.
  if (path.find('\\') != std::string_view::npos) {
    return "must not contain backslashes";
  }
  std::string decoded = http::lowerAscii(path);
  for (const char* dot : {"%2e", "%2f", "%5c"}) {
    if (decoded.find(dot) != std::string::npos) {
      return "must not contain encoded dots or slashes";
    }
  }
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    std::string_view segment = path.substr(start, end == std::string_view::npos ? path.npos
                                                                                : end - start);
    // Servlet containers drop ";params" from a segment: "..;x" is ".." to them.
    segment = segment.substr(0, segment.find(';'));
    if (segment == "." || segment == "..") {
      return "must not contain \".\" or \"..\" segments";
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  if (path == batch_path) {
    return "must not be the batch endpoint (batches do not nest)";
  }
  return "";
}

}  // namespace edge::filters::batch
