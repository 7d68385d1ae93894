#include "cli/prometheus.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace mirrorfs::cli {
namespace {

TEST(PrometheusTest, CounterWithoutLabels) {
  Exposition e;
  e.family("x_total", "counter", "Things done");
  e.sample("x_total", {}, uint64_t{42});
  EXPECT_EQ(e.text(),
            "# HELP x_total Things done\n"
            "# TYPE x_total counter\n"
            "x_total 42\n");
}

TEST(PrometheusTest, LabelledGauge) {
  Exposition e;
  e.family("lag_seconds", "gauge", "Lag");
  e.sample("lag_seconds", {{"mirror", "a"}, {"site", "b"}}, 1.5);
  e.sample("lag_seconds", {{"mirror", "c"}}, 0.0);
  EXPECT_EQ(e.text(),
            "# HELP lag_seconds Lag\n"
            "# TYPE lag_seconds gauge\n"
            "lag_seconds{mirror=\"a\",site=\"b\"} 1.5\n"
            "lag_seconds{mirror=\"c\"} 0\n");
}

TEST(PrometheusTest, LabelValuesAndHelpAreEscaped) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  Exposition e;
  e.family("g", "gauge", "line one\nback\\slash");
  e.sample("g", {{"mirror", "we\"ird\n"}}, uint64_t{1});
  EXPECT_EQ(e.text(),
            "# HELP g line one\\nback\\\\slash\n"
            "# TYPE g gauge\n"
            "g{mirror=\"we\\\"ird\\n\"} 1\n");
}

TEST(PrometheusTest, HistogramIsCumulativeWithSumAndCount) {
  Exposition e;
  e.family("d_seconds", "histogram", "Durations");
  const std::vector<double> bounds = {0.001, 0.5, 10};
  const std::vector<uint64_t> buckets = {2, 0, 3, 1};  // the last above 10
  e.histogram("d_seconds", {{"op", "read"}}, bounds, buckets, 12.25);
  EXPECT_EQ(e.text(),
            "# HELP d_seconds Durations\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{op=\"read\",le=\"0.001\"} 2\n"
            "d_seconds_bucket{op=\"read\",le=\"0.5\"} 2\n"
            "d_seconds_bucket{op=\"read\",le=\"10\"} 5\n"
            "d_seconds_bucket{op=\"read\",le=\"+Inf\"} 6\n"
            "d_seconds_sum{op=\"read\"} 12.25\n"
            "d_seconds_count{op=\"read\"} 6\n");
}

TEST(PrometheusTest, SpecialValues) {
  EXPECT_EQ(format_value(1e-05), "1e-05");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
}

}  // namespace
}  // namespace mirrorfs::cli
