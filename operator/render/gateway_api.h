#pragma once

// Gateway API objects for a CanaryRollout that has its own `route`.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/canary_rollout.h"
#include "operator/common/expected.h"

namespace sluice::render {

inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "sluice";
inline constexpr const char* kOwnerLabel = "sluice.dev/owner";

// ownerReferences[0] for an object generated from a CanaryRollout (controller and
// blockOwnerDeletion true) and the two labels every generated object carries.
nlohmann::json canaryOwnerReference(const api::ObjectMeta& rollout);
nlohmann::json canaryLabels(const api::ObjectMeta& rollout);

// The HTTPRoute is named after the rollout.
std::string canaryHttpRouteName(const api::ObjectMeta& rollout);

// gateway.networking.k8s.io/v1 HTTPRoute: parentRefs and hostnames from spec.route; one rule
// per spec.match entry sending matching requests to the canary (only while weight > 0, so a
// rolled-back canary gets nothing); a default rule with stable (100 - weight) and canary
// (weight) backendRefs. Requires spec.route; weight is clamped to 0..100.
Expected<nlohmann::json, std::string> renderCanaryHttpRoute(const api::ObjectMeta& rollout,
                                                            const api::CanaryRolloutSpec& spec,
                                                            std::int32_t canaryWeight);

// Reads the canary weight back from a route rendered above (the canary backendRef of the last
// rule). Error if the route does not have that shape.
Expected<std::int32_t, std::string> canaryWeightOf(const nlohmann::json& httpRoute,
                                                   const api::CanaryRolloutSpec& spec);

}  // namespace sluice::render
