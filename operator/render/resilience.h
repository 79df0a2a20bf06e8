#pragma once

// What every provider checks before carrying a route's resilience settings
// (engine::Resilience): the plan validator leaves their ranges to the providers, and a value a
// data plane cannot take must fail the apply naming the route, not reach the data plane.

#include <chrono>
#include <string>

#include "operator/common/expected.h"
#include "operator/engine/route_plan.h"

namespace sluice::render {

// How long a destination endpoint ejected by passive checks stays out: Envoy's
// baseEjectionTime, and the interval at which HAProxy re-checks a server its passive checks
// marked down (without active checks, nothing else would bring it back).
inline constexpr std::chrono::milliseconds kEjectionTime{30'000};

// The longest a health check waits for its answer: Envoy Gateway's default (1s), or the
// interval when that is shorter (a check must not outlive the next one).
std::chrono::milliseconds healthCheckTimeout(const engine::HealthCheck& check);

// Errors name the route and the field: an unknown loadBalancer, a health check path that is
// not an absolute path of URI characters ([A-Za-z0-9-._~/%:@?=&+,;!*()], at most 1024), an
// interval outside 1ms..24h, thresholds below 1, negative consecutiveErrors,
// maxConcurrentRequests below 1. A route without resilience is valid.
Expected<void, std::string> validateResilience(const engine::Route& route);

}  // namespace sluice::render
