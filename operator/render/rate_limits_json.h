#pragma once

// engine::RateLimits as JSON, for providers that keep or label what they carry: the haproxy
// provider's state file, and the annotation on an Envoy Gateway BackendTrafficPolicy that lets
// verify() read back exactly which limits it holds (Envoy's rateLimit rules cannot carry the
// burst, the queue or the quota time zone, so the rules alone would not say).

#include <nlohmann/json.hpp>
#include <optional>

#include "operator/common/expected.h"
#include "operator/engine/route_plan.h"

namespace sluice::render {

nlohmann::json rateLimitsToJson(const engine::RateLimits& limits);
// Errors name the missing or mistyped field.
Expected<engine::RateLimits, std::string> rateLimitsFromJson(const nlohmann::json& j);

}  // namespace sluice::render
