#pragma once

// Envoy Gateway BackendTrafficPolicy from a route's resilience settings (engine::Resilience):
// one per generated HTTPRoute that has them, named after it, in the owner's namespace, owned
// by and labelled for the owner, attached through spec.targetRefs.
//
//   loadBalancer.type          the plan's loadBalancer (RoundRobin | LeastRequest | Random);
//                              omitted when empty (Envoy Gateway's default, LeastRequest)
//   healthCheck.active         type HTTP, http.path, interval, timeout (healthCheckTimeout()),
//                              healthyThreshold, unhealthyThreshold
//   healthCheck.passive        outlier detection after consecutiveErrors 5xx answers in a row:
//                              consecutive5XxErrors, consecutiveGatewayErrors and
//                              consecutiveLocalOriginFailures all that count, baseEjectionTime
//                              kEjectionTime, maxEjectionPercent 100, interval 3s
//   circuitBreaker             maxConnections, maxParallelRequests and maxPendingRequests from
//                              maxConcurrentRequests (see below), maxParallelRetries 1024
//
// Every field is in the schema of both Envoy Gateway releases the tests keep (v1.2.8 and
// v1.6.7, shared/crds), and every field those schemas default inside an object written here
// is written explicitly: kube::applyIfChanged compares the cached spec (defaults filled in by
// the API server) with this one, so a field left to its default would rewrite the policy on
// every reconcile. Durations are written as Go durations of at most four h/m/s/ms parts of at
// most five digits ("10s", "1s500ms"): v1.2.8's format: duration and v1.6.7's pattern both
// accept them.
//
// Envoy's limits are not per destination as the plan's are: Envoy Gateway builds one cluster
// per HTTPRoute rule, its destinations together, and each gateway replica counts on its own.
// maxConcurrentRequests is therefore multiplied by the most destinations any rule of the
// route has, so the rule's destinations together may carry what the plan allows each.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "operator/common/expected.h"
#include "operator/engine/route_plan.h"

namespace sluice::render::gatewayapi {

inline constexpr const char* kBackendTrafficPolicyApiVersion = "gateway.envoyproxy.io/v1alpha1";

// nullopt when the route has no resilience settings or they ask for nothing. Errors: invalid
// settings (validateResilience), naming the route.
Expected<std::optional<nlohmann::json>, std::string> renderBackendTrafficPolicy(
    const engine::Owner& owner, const engine::Route& route, const std::string& httpRouteName);

// "10s", "1m30s", "1s500ms": a duration both BackendTrafficPolicy schemas accept.
std::string envoyDuration(std::chrono::milliseconds duration);

}  // namespace sluice::render::gatewayapi
