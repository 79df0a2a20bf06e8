#pragma once

// The operator's own kinds as REST collections (kube/ knows only Kubernetes' resources).

#include "operator/api/common.h"
#include "operator/kube/client.h"

namespace sluice::controllers::resources {

inline kube::Resource canaryRollouts() {
  return {api::kGroup, api::kVersion, "canaryrollouts", "CanaryRollout", true};
}
inline kube::Resource trafficPolicies() {
  return {api::kGroup, api::kVersion, "trafficpolicies", "TrafficPolicy", true};
}
inline kube::Resource tierLimits() {
  return {api::kGroup, api::kVersion, "tierlimits", "TierLimit", true};
}

}  // namespace sluice::controllers::resources
