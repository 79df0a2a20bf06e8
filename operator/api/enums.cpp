#include <array>
#include <utility>

#include "operator/api/canary_rollout.h"
#include "operator/api/parse.h"
#include "operator/api/tier_limit.h"
#include "operator/api/traffic_policy.h"

namespace sluice::api {
namespace {

constexpr std::array<std::pair<CanaryPhase, const char*>, 7> kPhaseNames{{
    {CanaryPhase::Pending, "Pending"},
    {CanaryPhase::Progressing, "Progressing"},
    {CanaryPhase::Paused, "Paused"},
    {CanaryPhase::Promoting, "Promoting"},
    {CanaryPhase::Succeeded, "Succeeded"},
    {CanaryPhase::RolledBack, "RolledBack"},
    {CanaryPhase::Failed, "Failed"},
}};

constexpr std::array<std::pair<MetricResult, const char*>, 3> kResultNames{{
    {MetricResult::Pass, "Pass"},
    {MetricResult::Fail, "Fail"},
    {MetricResult::Inconclusive, "Inconclusive"},
}};

constexpr std::array<std::pair<LoadBalancingStrategy, const char*>, 7> kStrategyNames{{
    {LoadBalancingStrategy::RoundRobin, "RoundRobin"},
    {LoadBalancingStrategy::LeastRequest, "LeastRequest"},
    {LoadBalancingStrategy::WeightedResponseTime, "WeightedResponseTime"},
    {LoadBalancingStrategy::Geographic, "Geographic"},
    {LoadBalancingStrategy::CostOptimized, "CostOptimized"},
    {LoadBalancingStrategy::HealthBased, "HealthBased"},
    {LoadBalancingStrategy::Hybrid, "Hybrid"},
}};

template <class Enum, std::size_t N>
const char* nameOf(const std::array<std::pair<Enum, const char*>, N>& table, Enum value) {
  for (const auto& [e, name] : table) {
    if (e == value) {
      return name;
    }
  }
  return "Unknown";  // only reachable through a cast of an out-of-range integer
}

// Case-sensitive, as the API server's enum validation is.
template <class Enum, std::size_t N>
std::optional<Enum> valueOf(const std::array<std::pair<Enum, const char*>, N>& table,
                            std::string_view text) {
  for (const auto& [e, name] : table) {
    if (text == name) {
      return e;
    }
  }
  return std::nullopt;
}

}  // namespace

const char* toString(CanaryPhase phase) {
  return nameOf(kPhaseNames, phase);
}
const char* toString(MetricResult result) {
  return nameOf(kResultNames, result);
}
const char* toString(RegionRollback rollback) {
  return rollback == RegionRollback::All ? "All" : "Region";
}
const char* toString(LoadBalancingStrategy strategy) {
  return nameOf(kStrategyNames, strategy);
}

std::optional<CanaryPhase> parseCanaryPhase(std::string_view text) {
  return valueOf(kPhaseNames, text);
}
std::optional<MetricResult> parseMetricResult(std::string_view text) {
  return valueOf(kResultNames, text);
}
std::optional<LoadBalancingStrategy> parseLoadBalancingStrategy(std::string_view text) {
  return valueOf(kStrategyNames, text);
}

std::string TierLimitSpec::effectiveDefaultTier() const {
  if (!defaultTier.empty() || tiers.empty()) {
    return defaultTier;
  }
  const RateLimitTier* least = &tiers.front();
  for (const auto& tier : tiers) {
    if (tier.priority >= least->priority) {
      least = &tier;
    }
  }
  return least->name;
}

}  // namespace sluice::api
