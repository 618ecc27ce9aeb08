#include "lib/metrics/exposition.h"

#include <charconv>
#include <cstdio>

namespace edge::metrics {
namespace {

std::string_view typeName(Type type) {
  switch (type) {
    case Type::Counter:
      return "counter";
    case Type::Gauge:
      return "gauge";
    case Type::Histogram:
      break;
  }
  return "histogram";
}

std::string integer(uint64_t value) { return std::to_string(value); }

// Shortest text that reads back as the same double ("0.25", "1e-05").
std::string decimal(double value) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

// Bounds in ms as seconds: 1 -> "0.001", 2500 -> "2.5".
std::string seconds(uint64_t ms) { return decimal(static_cast<double>(ms) / 1000.0); }

// Backslash and newline always; double quotes in label values only (HELP keeps them).
std::string escaped(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string escapeLabelValue(std::string_view value) { return escaped(value, true); }

std::string escapeHelp(std::string_view text) { return escaped(text, false); }

TextWriter& TextWriter::family(std::string_view name, Type type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(escapeHelp(help)).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(typeName(type)).append("\n");
  return *this;
}

TextWriter& TextWriter::sample(std::string_view name, Labels labels, uint64_t value) {
  line(name, "", labels, {}, integer(value));
  return *this;
}

TextWriter& TextWriter::sample(std::string_view name, Labels labels, double value) {
  line(name, "", labels, {}, decimal(value));
  return *this;
}

TextWriter& TextWriter::histogram(std::string_view name, Labels labels,
                                  const HistogramTotals& totals) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBoundsMs.size(); ++i) {
    cumulative += totals.buckets[i];
    line(name, "_bucket", labels, {"le", seconds(kLatencyBoundsMs[i])}, integer(cumulative));
  }
  cumulative += totals.buckets.back();
  line(name, "_bucket", labels, {"le", "+Inf"}, integer(cumulative));
  line(name, "_sum", labels, {}, seconds(totals.sum_ms));
  line(name, "_count", labels, {}, integer(cumulative));
  return *this;
}

void TextWriter::line(std::string_view name, std::string_view suffix, Labels labels, Label extra,
                      std::string_view value) {
  out_.append(name).append(suffix);
  bool first = true;
  auto label = [&](const Label& l) {
    out_.append(first ? "{" : ",").append(l.name).append("=\"");
    out_.append(escapeLabelValue(l.value)).append("\"");
    first = false;
  };
  for (const Label& l : labels) {
    label(l);
  }
  if (!extra.name.empty()) {
    label(extra);
  }
  if (!first) {
    out_.append("}");
  }
  out_.append(" ").append(value).append("\n");
}

}  // namespace edge::metrics
