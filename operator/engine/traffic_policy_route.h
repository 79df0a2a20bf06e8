#pragma once

// A TrafficPolicy's route plan: its decided weights carried by one route.
//
//   route <policy name>: spec.hostnames and parentRefs, resilience from the spec
//     rule tier-<name> (one per spec.tiers entry, in order): the tier's header matches; the
//                     tier's weights; queue class = the tier's priority
//     rule default:   every other request; spec.strategy's weights; queue class after every
//                     tier
//
// Every backend is a destination of every rule (named as in spec.backends), including ones at
// weight 0, so a shift or a drain changes weights only, never the topology.

#include <cstdint>
#include <vector>

#include "operator/api/traffic_policy.h"
#include "operator/engine/route_plan.h"
#include "operator/engine/traffic_policy.h"

namespace sluice::engine {

inline constexpr const char* kTierRulePrefix = "tier-";
inline constexpr const char* kDefaultTrafficRule = "default";

Owner ownerOf(const api::TrafficPolicy& policy);

// The rule a RuleWeights entry becomes ("tier-premium", "default").
std::string ruleNameOf(const std::string& tier);

// Passive checks eject an endpoint after this many 5xx answers in a row (Envoy's default).
inline constexpr std::int32_t kConsecutiveErrors = 5;

// What the gateway does beyond weights: the load balancer within a backend for `strategy`,
// spec.healthCheck, passive checks, and a concurrency limit per backend by Little's law: the
// largest capacity.maxRequestsPerSecond × the slowest tier latency target × the largest burst
// allowance (none without capacities or latency targets).
Resilience resilienceOf(const api::TrafficPolicySpec& spec);

// A CanaryRollout with spec.trafficPolicyRef splits one backend's share: the backend's own
// Service keeps (100 - percent) % of it and the canary Service, a destination named
// "<backend>-canary" right after it, takes percent %. The policy stays the route's only owner;
// the rollout only decides the percent (its status.canaryWeight).
struct CanarySplit {
  std::size_t backend = 0;  // index in spec.backends
  ServiceTarget canary;
  std::int32_t percent = 0;  // 0..100
  // The rollout's version headers (engine::versionHeaders) for the backend and its canary.
  std::vector<HeaderValue> stableHeaders;
  std::vector<HeaderValue> canaryHeaders;
};

std::string canaryDestinationOf(const std::string& backend);

// `rules`: decideTraffic()'s, aligned with spec.backends; `targets`: one per backend.
RoutePlan trafficPolicyRoutePlan(const api::TrafficPolicy& policy,
                                 const std::vector<RuleWeights>& rules,
                                 const std::vector<ServiceTarget>& targets,
                                 const std::vector<CanarySplit>& splits = {});

// The weights a plan carries, in decideTraffic()'s shape (spec.tiers in order, then default;
// a split backend's canary share counted back into it), or nullopt when the plan is not this
// spec's (another tier set, another backend set).
std::optional<std::vector<RuleWeights>> ruleWeightsOf(const api::TrafficPolicySpec& spec,
                                                      const RoutePlan& plan,
                                                      const std::vector<CanarySplit>& splits = {});

}  // namespace sluice::engine
