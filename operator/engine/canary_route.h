#pragma once

// A CanaryRollout's route plan: its spec.route carried at the weights in its status.
//
//   route <rollout name>: spec.route.hostnames and parentRefs, rules in this order:
//     tenants-stable  spec.tenants.stable (stickiness header, exact): stable, always
//     tenants-canary  spec.tenants.canary: everything to the canary while it has weight
//                     anywhere (status.canaryWeight or any region's), stable otherwise
//                     (both through destinations of their own, override-stable and
//                     override-canary, so the overrides are counted apart from the split)
//     match-<i>       one per spec.match entry with headers: as tenants-canary
//     region-<name>   one per spec.regions (regionHeader equal to one of its values):
//                     stable-<name> (100 - p) %, canary-<name> p % (the region's weight),
//                     sticky by spec.stickiness.header
//     default:        stable (100 - p) %, canary p % (status.canaryWeight: with regions the
//                     lowest region's), sticky by spec.stickiness.header
//
// Destinations are named "stable" and "canary" (and per region as above, so a data plane's
// per-destination metrics split by region as well as by version); the canary is last in its
// rule, so it holds the lowest buckets and a tenant on the canary stays there while the
// weight grows. Every destination carries the version headers (versionHeaders()). The weight
// rules never change when weights do: only the numbers move.

#include <cstdint>
#include <string>
#include <vector>

#include "operator/api/canary_rollout.h"
#include "operator/engine/route_plan.h"

namespace sluice::engine {

inline constexpr const char* kStableDestination = "stable";
inline constexpr const char* kCanaryDestination = "canary";
inline constexpr const char* kDefaultRule = "default";
inline constexpr const char* kOverrideStableDestination = "override-stable";
inline constexpr const char* kOverrideCanaryDestination = "override-canary";

Owner ownerOf(const api::CanaryRollout& rollout);

// The destination of a region's canary ("canary-<region>") and stable side.
std::string regionCanaryDestination(const std::string& region);
std::string regionStableDestination(const std::string& region);

// The response headers of one side under spec.versionHeader: {name: "true"|"false"} and, on
// the canary side, {revisionName: revision}. Empty when disabled (or no revision yet for the
// revision header).
std::vector<HeaderValue> versionHeaders(const api::CanaryRolloutSpec& spec, bool canarySide,
                                        const std::string& revision);

// spec.route must be set; weights are taken from `status` (canaryWeight, regions[].canaryWeight,
// clamped to 0..100; a region missing from status is at 0) and the revision header from
// status.canaryRevision.
RoutePlan canaryRoutePlan(const api::CanaryRollout& rollout, const api::CanaryRolloutStatus& status,
                          ServiceTarget stable, ServiceTarget canary);

// The same at one weight everywhere (the rollout's own status supplies the revision).
RoutePlan canaryRoutePlan(const api::CanaryRollout& rollout, std::int32_t canaryPercent,
                          ServiceTarget stable, ServiceTarget canary);

// What a rollout with spec.trafficPolicyRef asks of its policy: per split backend the canary
// Service, the percent and the version headers of both sides. One entry without regions
// (trafficPolicyRef.backend at status.canaryWeight), one per region with them.
struct PolicyCanarySplit {
  std::string backend;
  api::ServiceRef canary;
  std::int32_t percent = 0;
  std::vector<HeaderValue> stableHeaders;
  std::vector<HeaderValue> canaryHeaders;
};
std::vector<PolicyCanarySplit> policyCanarySplits(const api::CanaryRollout& rollout);

// The weight of a region in `status` (0 when absent).
std::int32_t regionWeight(const api::CanaryRolloutStatus& status, const std::string& region);

}  // namespace sluice::engine
