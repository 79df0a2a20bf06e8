#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>

#include "operator/engine/canary.h"

namespace sluice::engine {
namespace {

using api::MetricResult;

api::Decimal dec(std::int64_t micros) {
  return {micros, ""};
}

api::ThresholdRange maxOf(std::int64_t micros) {
  return {std::nullopt, dec(micros)};
}
api::ThresholdRange minOf(std::int64_t micros) {
  return {dec(micros), std::nullopt};
}

struct VerdictCase {
  const char* name;
  std::optional<double> value;
  api::ThresholdRange range;
  MetricResult verdict;
  bool spike;
};

// Names the case in test output and CTest names (the default prints raw bytes).
void PrintTo(const VerdictCase& c, std::ostream* os) {
  *os << c.name;
}

class Verdicts : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(Verdicts, Table) {
  const auto& c = GetParam();
  EXPECT_EQ(verdict(c.value, c.range), c.verdict) << c.name;
  EXPECT_EQ(isErrorSpike(c.value, c.range), c.spike) << c.name;
}

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

INSTANTIATE_TEST_SUITE_P(
    Table, Verdicts,
    ::testing::Values(
        // max 0.01 (error rate)
        VerdictCase{"below max", 0.005, maxOf(10'000), MetricResult::Pass, false},
        VerdictCase{"at max is inclusive", 0.01, maxOf(10'000), MetricResult::Pass, false},
        VerdictCase{"above max", 0.015, maxOf(10'000), MetricResult::Fail, false},
        VerdictCase{"just below 2x max", 0.0199, maxOf(10'000), MetricResult::Fail, false},
        VerdictCase{"2x max is a spike", 0.02, maxOf(10'000), MetricResult::Fail, true},
        VerdictCase{"far above max", 0.5, maxOf(10'000), MetricResult::Fail, true},
        // max 0: any error fails, but no spike rule (2 x 0 would make 0 a spike)
        VerdictCase{"max zero, zero", 0.0, maxOf(0), MetricResult::Pass, false},
        VerdictCase{"max zero, positive", 1.0, maxOf(0), MetricResult::Fail, false},
        // min 0.99 (success rate)
        VerdictCase{"above min", 0.995, minOf(990'000), MetricResult::Pass, false},
        VerdictCase{"at min", 0.99, minOf(990'000), MetricResult::Pass, false},
        VerdictCase{"below min", 0.9, minOf(990'000), MetricResult::Fail, false},
        VerdictCase{"half of min is a spike", 0.495, minOf(990'000), MetricResult::Fail, true},
        // both bounds
        VerdictCase{
            "inside both", 5.0, {dec(1'000'000), dec(10'000'000)}, MetricResult::Pass, false},
        VerdictCase{"under both", 0.5, {dec(1'000'000), dec(10'000'000)}, MetricResult::Fail, true},
        VerdictCase{"no bounds", 123.0, {}, MetricResult::Pass, false},
        // not a number
        VerdictCase{"absent", std::nullopt, maxOf(10'000), MetricResult::Inconclusive, false},
        VerdictCase{"NaN", kNan, maxOf(10'000), MetricResult::Inconclusive, false},
        VerdictCase{"+Inf", kInf, maxOf(10'000), MetricResult::Inconclusive, false},
        VerdictCase{"-Inf", -kInf, minOf(990'000), MetricResult::Inconclusive, false}));

}  // namespace
}  // namespace sluice::engine
