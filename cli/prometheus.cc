#include "cli/prometheus.h"

#include <cassert>
#include <charconv>
#include <cmath>

namespace mirrorfs::cli {

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  assert(r.ec == std::errc());
  return std::string(buf, r.ptr);
}

void Exposition::family(std::string_view name, std::string_view type,
                        std::string_view help) {
  // HELP text escapes only \ and newline.
  std::string h;
  for (char c : help) {
    if (c == '\\') {
      h += "\\\\";
    } else if (c == '\n') {
      h += "\\n";
    } else {
      h += c;
    }
  }
  out_.append("# HELP ").append(name).append(" ").append(h).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void Exposition::labels(const Labels& labels, const Label* extra) {
  if (labels.empty() && extra == nullptr) return;
  out_ += '{';
  bool first = true;
  auto one = [&](const Label& l) {
    if (!first) out_ += ',';
    first = false;
    out_.append(l.name)
        .append("=\"")
        .append(escape_label_value(l.value))
        .append("\"");
  };
  for (const Label& l : labels) one(l);
  if (extra != nullptr) one(*extra);
  out_ += '}';
}

void Exposition::sample(std::string_view name, const Labels& l, double value) {
  out_.append(name);
  labels(l, nullptr);
  out_.append(" ").append(format_value(value)).append("\n");
}

void Exposition::sample(std::string_view name, const Labels& l,
                        uint64_t value) {
  out_.append(name);
  labels(l, nullptr);
  out_.append(" ").append(std::to_string(value)).append("\n");
}

void Exposition::histogram(std::string_view name, const Labels& l,
                           std::span<const double> bounds,
                           std::span<const uint64_t> buckets, double sum) {
  assert(buckets.size() == bounds.size() + 1);
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    cumulative += buckets[i];
    const std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
    const Label extra{"le", le};
    out_.append(bucket);
    labels(l, &extra);
    out_.append(" ").append(std::to_string(cumulative)).append("\n");
  }
  sample(std::string(name) + "_sum", l, sum);
  sample(std::string(name) + "_count", l, cumulative);
}

}  // namespace mirrorfs::cli
