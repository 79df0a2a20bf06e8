#include "operator/engine/traffic_policy_route.h"

#include <algorithm>
#include <cmath>

namespace sluice::engine {

Owner ownerOf(const api::TrafficPolicy& policy) {
  return {api::kApiVersion, "TrafficPolicy", policy.metadata.namespace_, policy.metadata.name,
          policy.metadata.uid};
}

std::string ruleNameOf(const std::string& tier) {
  return tier.empty() ? std::string(kDefaultTrafficRule) : kTierRulePrefix + tier;
}

Resilience resilienceOf(const api::TrafficPolicySpec& spec) {
  Resilience r;
  switch (spec.strategy) {
    case api::LoadBalancingStrategy::LeastRequest:
      r.loadBalancer = "LeastRequest";
      break;
    default:
      r.loadBalancer = "RoundRobin";
      break;
  }
  HealthCheck check;
  check.path = spec.healthCheck.path;
  check.interval = spec.healthCheck.interval;
  check.healthyThreshold = spec.healthCheck.healthyThreshold;
  check.unhealthyThreshold = spec.healthCheck.unhealthyThreshold;
  r.activeHealthCheck = check;
  r.consecutiveErrors = kConsecutiveErrors;
  std::int64_t maxRps = 0;
  for (const auto& b : spec.backends) {
    maxRps = std::max<std::int64_t>(maxRps, b.capacity.maxRequestsPerSecond.value_or(0));
  }
  std::int64_t slowestMs = 0;
  std::int64_t burstMicros = 1'000'000;
  for (const auto& t : spec.tiers) {
    slowestMs = std::max<std::int64_t>(slowestMs, t.latencyTargetMilliseconds.value_or(0));
    burstMicros = std::max<std::int64_t>(burstMicros, t.burstAllowance.micros);
  }
  if (maxRps > 0 && slowestMs > 0) {
    // requests in flight = rate × time in the system (Little's law), with room for bursts.
    const double inFlight = static_cast<double>(maxRps) * static_cast<double>(slowestMs) / 1000.0 *
                            static_cast<double>(burstMicros) / 1e6;
    r.maxConcurrentRequests =
        static_cast<std::int32_t>(std::clamp(std::ceil(inFlight), 1.0, 1'000'000.0));
  }
  return r;
}

std::string canaryDestinationOf(const std::string& backend) {
  return backend + "-canary";
}

RoutePlan trafficPolicyRoutePlan(const api::TrafficPolicy& policy,
                                 const std::vector<RuleWeights>& rules,
                                 const std::vector<ServiceTarget>& targets,
                                 const std::vector<CanarySplit>& splits) {
  const auto& spec = policy.spec;
  RoutePlan plan;
  plan.owner = ownerOf(policy);
  Route route;
  route.name = policy.metadata.name;
  route.hostnames = spec.hostnames;
  route.parents = spec.parentRefs;
  route.resilience = resilienceOf(spec);
  std::int32_t lastClass = 0;
  for (const auto& tier : spec.tiers) {
    lastClass = std::max(lastClass, tier.priority);
  }
  for (const auto& weights : rules) {
    Rule rule;
    rule.name = ruleNameOf(weights.tier);
    if (!weights.tier.empty()) {
      auto tier = std::find_if(spec.tiers.begin(), spec.tiers.end(),
                               [&](const api::TrafficTier& t) { return t.name == weights.tier; });
      if (tier != spec.tiers.end()) {
        rule.matches = {tier->match};
        rule.priority = 1;  // every tier before the default rule
        rule.queueClass = tier->priority;
      }
    } else if (!spec.tiers.empty()) {
      rule.queueClass = lastClass + 1;
    }
    for (std::size_t i = 0; i < spec.backends.size() && i < targets.size(); ++i) {
      const std::int32_t weight = i < weights.weights.size() ? weights.weights[i] : 0;
      auto split = std::find_if(splits.begin(), splits.end(),
                                [&](const CanarySplit& c) { return c.backend == i; });
      if (split == splits.end()) {
        rule.destinations.push_back({spec.backends[i].name, targets[i], weight, {}});
        continue;
      }
      const std::int64_t canary =
          static_cast<std::int64_t>(weight) * std::clamp(split->percent, 0, 100) / 100;
      rule.destinations.push_back({spec.backends[i].name, targets[i],
                                   weight - static_cast<std::int32_t>(canary),
                                   split->stableHeaders});
      rule.destinations.push_back({canaryDestinationOf(spec.backends[i].name), split->canary,
                                   static_cast<std::int32_t>(canary), split->canaryHeaders});
    }
    route.rules.push_back(std::move(rule));
  }
  plan.routes.push_back(std::move(route));
  return plan;
}

std::optional<std::vector<RuleWeights>> ruleWeightsOf(const api::TrafficPolicySpec& spec,
                                                      const RoutePlan& plan,
                                                      const std::vector<CanarySplit>& splits) {
  if (plan.routes.size() != 1 || plan.routes[0].rules.size() != spec.tiers.size() + 1) {
    return std::nullopt;
  }
  std::vector<RuleWeights> out;
  const auto& rules = plan.routes[0].rules;
  for (std::size_t r = 0; r < rules.size(); ++r) {
    RuleWeights w;
    w.tier = r < spec.tiers.size() ? spec.tiers[r].name : "";
    w.strategy =
        r < spec.tiers.size() ? spec.tiers[r].strategy.value_or(spec.strategy) : spec.strategy;
    // Data planes that cannot keep rule and destination names (Gateway API reads back as
    // rule-<i> and Service names) are matched by Service as well as by name.
    if (rules[r].destinations.size() != spec.backends.size() + splits.size()) {
      return std::nullopt;
    }
    w.weights.assign(spec.backends.size(), 0);
    std::int64_t sum = 0;
    for (const auto& d : rules[r].destinations) {
      // By name first (two backends may share a Service), then by Service.
      std::optional<std::size_t> at;
      for (int byService = 0; byService < 2 && !at; ++byService) {
        for (std::size_t i = 0; i < spec.backends.size() && !at; ++i) {
          if (byService ? d.service.name == spec.backends[i].serviceRef.name
                        : d.name == spec.backends[i].name) {
            at = i;
          }
        }
        for (const auto& split : splits) {
          if (!at &&
              (byService ? d.service.name == split.canary.name
                         : d.name == canaryDestinationOf(spec.backends[split.backend].name))) {
            at = split.backend;
          }
        }
      }
      if (!at) {
        return std::nullopt;
      }
      w.weights[*at] += d.weight;
      sum += d.weight;
    }
    if (sum != kWeightScale) {
      // Read back from a data plane with relative weights (Gateway API: divided by their
      // gcd): back onto the plan scale, exact for the weights this plan wrote.
      auto scaled = rescale(w.weights, kWeightScale);
      if (!scaled || sum == 0) {
        return std::nullopt;
      }
      w.weights = std::move(*scaled);
    }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace sluice::engine
