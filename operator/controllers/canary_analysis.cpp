#include "operator/controllers/canary_analysis.h"

namespace sluice::controllers {

Expected<prometheus::QueryClient*, prometheus::QueryError> PrometheusClients::get(
    const std::string& address) {
  std::lock_guard lock(mu_);
  if (auto it = clients_.find(address); it != clients_.end()) {
    return it->second.get();
  }
  auto client = factory_(address);
  if (!client) {
    return Unexpected(client.error());
  }
  auto* raw = client->get();
  clients_.emplace(address, std::move(*client));
  return raw;
}

namespace {

bool isConnectionProblem(prometheus::QueryErrorKind kind) {
  return kind == prometheus::QueryErrorKind::Unreachable ||
         kind == prometheus::QueryErrorKind::Timeout ||
         kind == prometheus::QueryErrorKind::InvalidAddress;
}

}  // namespace

engine::AnalysisResult runAnalysis(const api::CanaryRolloutSpec& spec,
                                   const AnalysisContext& context, PrometheusClients& clients,
                                   Clock::TimePoint now) {
  engine::AnalysisResult result;
  result.measuredAt = now;
  const std::string& address = spec.analysis.prometheus.address;

  prometheus::TemplateValues values;
  values.canary = spec.canary.name;
  values.stable = spec.stable.name;
  values.namespace_ = context.namespace_;
  values.interval = prometheus::formatDuration(spec.analysis.interval);

  auto client = clients.get(address);
  if (!client) {
    result.error = "Prometheus " + address + ": " + client.error().describe();
    for (const auto& metric : spec.analysis.metrics) {
      result.metrics.push_back({metric.name, std::nullopt, result.error});
    }
    return result;
  }

  int connectionFailures = 0;
  int queries = 0;
  auto run = [&](const std::string& what,
                 const std::string& queryTemplate) -> Expected<double, std::string> {
    auto query = prometheus::renderQuery(queryTemplate, values);
    if (!query) {
      return Unexpected(what + ": invalid query template: " + query.error().describe());
    }
    ++queries;
    auto value = (*client)->query(*query);
    if (!value) {
      if (isConnectionProblem(value.error().kind)) {
        ++connectionFailures;
      }
      return Unexpected(what + ": Prometheus " + address + ": " + value.error().describe());
    }
    return *value;
  };

  const std::string& countQuery = spec.analysis.requestCountQuery.empty()
                                      ? context.defaultRequestCountQuery
                                      : spec.analysis.requestCountQuery;
  if (!countQuery.empty()) {
    auto count = run("request count query", countQuery);
    if (count) {
      result.requestCount = *count;
    } else {
      result.requestCountError = count.error();
    }
  } else if (spec.analysis.minRequests > 0) {
    result.requestCountError =
        "request count unknown: set spec.analysis.requestCountQuery (or minRequests: 0)";
  }

  for (const auto& metric : spec.analysis.metrics) {
    auto value = run("metric " + metric.name, metric.query);
    if (value) {
      result.metrics.push_back({metric.name, *value, ""});
    } else {
      result.metrics.push_back({metric.name, std::nullopt, value.error()});
    }
  }
  if (queries > 0 && connectionFailures == queries) {
    result.error = "Prometheus " + address + " unreachable";
    for (const auto& m : result.metrics) {
      if (!m.error.empty()) {
        result.error = m.error;
        break;
      }
    }
  }
  return result;
}

}  // namespace sluice::controllers
