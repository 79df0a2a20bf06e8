#pragma once

// JSON (as served by the API server, or converted from YAML) to typed objects. Parsing
// applies the CRD schema defaults and then the same validation the CRD's CEL rules do, since
// the operator may see objects that never passed admission. Every problem is reported at
// once with its field path; unknown fields are ignored, as the API server prunes them.

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "operator/api/canary_rollout.h"
#include "operator/api/field_error.h"
#include "operator/api/tier_limit.h"
#include "operator/api/traffic_policy.h"
#include "operator/common/expected.h"

namespace sluice::api {

inline constexpr const char* kKindCanaryRollout = "CanaryRollout";
inline constexpr const char* kKindTrafficPolicy = "TrafficPolicy";
inline constexpr const char* kKindTierLimit = "TierLimit";

// `metadata` is the object's metadata value; paths are reported under "metadata".
Expected<ObjectMeta, ValidationErrors> parseObjectMeta(const nlohmann::json& metadata);

// `object` is the whole object (apiVersion, kind, metadata, spec, status). apiVersion and
// kind are checked when present. A missing status is the zero status.
Expected<CanaryRollout, ValidationErrors> parseCanaryRollout(const nlohmann::json& object);
Expected<TrafficPolicy, ValidationErrors> parseTrafficPolicy(const nlohmann::json& object);
Expected<TierLimit, ValidationErrors> parseTierLimit(const nlohmann::json& object);

// `status` is the object's status value (what toJson() wrote); paths are under "status".
// A restarted operator resumes from these.
Expected<CanaryRolloutStatus, ValidationErrors> parseCanaryRolloutStatus(
    const nlohmann::json& status);
Expected<TrafficPolicyStatus, ValidationErrors> parseTrafficPolicyStatus(
    const nlohmann::json& status);
Expected<TierLimitStatus, ValidationErrors> parseTierLimitStatus(const nlohmann::json& status);

std::optional<CanaryPhase> parseCanaryPhase(std::string_view text);
std::optional<MetricResult> parseMetricResult(std::string_view text);

}  // namespace sluice::api
