#pragma once

// Status to JSON for the status subresource. The output parses back with the matching
// parse*Status() to an equal value, which is how a restarted operator resumes.

#include <nlohmann/json.hpp>

#include "operator/api/canary_rollout.h"
#include "operator/api/tier_limit.h"
#include "operator/api/traffic_policy.h"

namespace sluice::api {

nlohmann::json toJson(const Condition& condition);
nlohmann::json toJson(const std::vector<Condition>& conditions);
nlohmann::json toJson(const CanaryRolloutStatus& status);
nlohmann::json toJson(const TrafficPolicyStatus& status);
nlohmann::json toJson(const TierLimitStatus& status);

}  // namespace sluice::api
