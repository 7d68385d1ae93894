// The Prometheus text exposition format (version 0.0.4), written by hand:
// metric families with their # HELP and # TYPE lines, samples with
// labels, and histograms as cumulative _bucket{le=...}, _sum and _count.
// https://prometheus.io/docs/instrumenting/exposition_formats/
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mirrorfs::cli {

struct Label {
  std::string_view name;   // [a-zA-Z_][a-zA-Z0-9_]*, as the caller knows
  std::string_view value;  // any text: escaped when written
};
using Labels = std::vector<Label>;

// The label value as it goes between the quotes: \ " and newline escaped.
std::string escape_label_value(std::string_view v);
// A sample value: integers as such, others in the shortest form that
// reads back the same; +Inf, -Inf, NaN as Prometheus spells them.
std::string format_value(double v);

// Builds one exposition. Families must not repeat; the samples of a family
// follow its header (counter, gauge and histogram write both).
class Exposition {
 public:
  // # HELP and # TYPE of a family; `type` is counter, gauge or histogram.
  void family(std::string_view name, std::string_view type,
              std::string_view help);
  // One sample line of the family last begun (name may carry a suffix).
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, uint64_t value);

  // A histogram's samples: `buckets` non-cumulative, one per bound plus
  // one above the last (so buckets.size() == bounds.size() + 1); written
  // cumulative with le="+Inf" last, then _sum and _count (the total).
  void histogram(std::string_view name, const Labels& labels,
                 std::span<const double> bounds,
                 std::span<const uint64_t> buckets, double sum);

  const std::string& text() const { return out_; }

 private:
  void labels(const Labels& labels, const Label* extra);
  std::string out_;
};

}  // namespace mirrorfs::cli
