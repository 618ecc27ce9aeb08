// Prometheus text exposition format 0.0.4, written without an event loop: metric families
// (HELP and TYPE lines, then their samples), label values escaped, histograms as cumulative
// `_bucket` lines up to le="+Inf" plus `_sum` and `_count`.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "lib/metrics/latency_histogram.h"

namespace edge::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class Type { Counter, Gauge, Histogram };

struct Label {
  std::string_view name;
  std::string_view value;
};
using Labels = std::initializer_list<Label>;

// a"b\c<newline> -> a\"b\\c\n (the three escapes the format defines for label values).
std::string escapeLabelValue(std::string_view value);
// HELP text escapes only backslash and newline.
std::string escapeHelp(std::string_view text);

class TextWriter {
 public:
  // Starts a family; every sample written after it until the next family must carry `name`
  // (plus _bucket/_sum/_count for histograms). Names are the caller's constants.
  TextWriter& family(std::string_view name, Type type, std::string_view help);
  TextWriter& sample(std::string_view name, Labels labels, uint64_t value);
  TextWriter& sample(std::string_view name, Labels labels, double value);
  // `extra` labels come before `le` on the bucket lines.
  TextWriter& histogram(std::string_view name, Labels labels, const HistogramTotals& totals);

  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view name, std::string_view suffix, Labels labels, Label extra,
            std::string_view value);

  std::string out_;
};

}  // namespace edge::metrics
