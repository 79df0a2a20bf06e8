#pragma once

// Semantic validation of parsed specs: the rules the CRD expresses with min/max, enums and
// CEL, re-checked because the operator may see objects that never passed admission. Paths
// start at "spec". parse*() calls these; the engine may call them on specs it builds itself.

#include "operator/api/canary_rollout.h"
#include "operator/api/field_error.h"
#include "operator/api/tier_limit.h"
#include "operator/api/traffic_policy.h"

namespace sluice::api {

ValidationErrors validateCanaryRolloutSpec(const CanaryRolloutSpec& spec);
ValidationErrors validateTrafficPolicySpec(const TrafficPolicySpec& spec);
ValidationErrors validateTierLimitSpec(const TierLimitSpec& spec);

}  // namespace sluice::api
