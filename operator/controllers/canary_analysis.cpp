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

// The address as status and Events show it: without any user:password@.
std::string naming(const std::string& address, const std::string& message) {
  const std::string shown = prometheus::redactAddress(address);
  if (message.empty() || message.find(shown) != std::string::npos) {
    return message;
  }
  return "Prometheus " + shown + ": " + message;
}

}  // namespace

engine::AnalysisResult runAnalysis(const api::CanaryRolloutSpec& spec, const std::string& ns,
                                   const std::string& fallbackRequestCountQuery,
                                   PrometheusClients& clients, Clock::TimePoint now,
                                   const api::Region* region) {
  const std::string& address = spec.analysis.prometheus.address;
  auto client = clients.get(address);
  if (!client) {
    engine::AnalysisResult result;
    result.measuredAt = now;
    result.error = naming(address, client.error().describe());
    for (const auto& metric : spec.analysis.metrics) {
      result.metrics.push_back({metric.name, std::nullopt, result.error});
    }
    return result;
  }
  prometheus::TemplateValues values;
  values.canary = spec.canary.name;
  values.stable = spec.stable.name;
  values.namespace_ = ns;
  values.interval = prometheus::formatDuration(spec.analysis.interval);
  if (region != nullptr) {
    values.region = region->name;
    if (region->canary) {
      values.canary = region->canary->name;
    }
  }
  auto result = runAnalysis(**client, spec.analysis, values, now, fallbackRequestCountQuery);
  result.error = naming(address, result.error);
  result.requestCountError = naming(address, result.requestCountError);
  for (auto& metric : result.metrics) {
    metric.error = naming(address, metric.error);
  }
  return result;
}

}  // namespace sluice::controllers
