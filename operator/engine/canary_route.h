#pragma once

// A CanaryRollout's route plan: its spec.route carried at one canary weight.
//
//   route <rollout name>: spec.route.hostnames and parentRefs
//     rule match-<i>  (one per spec.match entry with headers): everything to the canary while
//                     it has any weight, everything to stable at weight 0 (a rolled-back canary
//                     gets nothing, and a weight change never changes the rules)
//     rule default:   stable (100 - p) %, canary p %, sticky by spec.stickiness.header
//
// Destinations are named "stable" and "canary"; canary is last, so it holds the lowest buckets
// and a tenant on the canary stays there while the weight grows.

#include <cstdint>

#include "operator/api/canary_rollout.h"
#include "operator/engine/route_plan.h"

namespace sluice::engine {

inline constexpr const char* kStableDestination = "stable";
inline constexpr const char* kCanaryDestination = "canary";
inline constexpr const char* kDefaultRule = "default";

Owner ownerOf(const api::CanaryRollout& rollout);

// spec.route must be set; `canaryPercent` is clamped to 0..100.
RoutePlan canaryRoutePlan(const api::CanaryRollout& rollout, std::int32_t canaryPercent,
                          ServiceTarget stable, ServiceTarget canary);

}  // namespace sluice::engine
