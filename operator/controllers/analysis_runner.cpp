#include "operator/controllers/analysis_runner.h"

#include <optional>

namespace sluice::controllers {
namespace {

bool meansUnreachable(prometheus::QueryErrorKind kind) {
  return kind == prometheus::QueryErrorKind::Unreachable ||
         kind == prometheus::QueryErrorKind::Timeout ||
         kind == prometheus::QueryErrorKind::InvalidAddress;
}

}  // namespace

engine::AnalysisResult runAnalysis(prometheus::QueryClient& client,
                                   const api::CanaryAnalysis& analysis,
                                   const prometheus::TemplateValues& values,
                                   engine::TimePoint measuredAt,
                                   const std::string& fallbackRequestCountQuery) {
  engine::AnalysisResult result;
  result.measuredAt = measuredAt;
  int queries = 0;
  int unreachable = 0;
  std::optional<prometheus::QueryError> firstUnreachable;

  auto run = [&](const std::string& queryTemplate) -> Expected<double, prometheus::QueryError> {
    auto promql = prometheus::renderQuery(queryTemplate, values);
    if (!promql) {
      return Unexpected(promql.error());
    }
    ++queries;
    if (unreachable > 0) {
      // One unreachable or timed-out answer is enough: asking the rest would hold this worker
      // for another timeout each (a slow Prometheus: 3 queries, 3 timeouts per analysis).
      ++unreachable;
      return Unexpected(*firstUnreachable);
    }
    auto value = client.query(*promql);
    if (!value && meansUnreachable(value.error().kind)) {
      if (unreachable++ == 0) {
        firstUnreachable = value.error();
      }
    }
    return value;
  };

  const std::string& countQuery =
      analysis.requestCountQuery.empty() ? fallbackRequestCountQuery : analysis.requestCountQuery;
  if (!countQuery.empty()) {
    auto count = run(countQuery);
    if (count) {
      result.requestCount = *count;
    } else if (count.error().kind == prometheus::QueryErrorKind::NoData) {
      // No series yet means no request has reached the canary.
      result.requestCount = 0.0;
    } else {
      result.requestCountError = count.error().describe();
    }
  }
  for (const auto& metric : analysis.metrics) {
    engine::MetricObservation observation{metric.name, std::nullopt, ""};
    auto value = run(metric.query);
    if (value) {
      observation.value = *value;
    } else {
      observation.error = value.error().describe();
    }
    result.metrics.push_back(std::move(observation));
  }
  if (queries > 0 && unreachable == queries) {
    result.error = "Prometheus unreachable: " + firstUnreachable->describe();
  }
  return result;
}

}  // namespace sluice::controllers
