#pragma once

// Envoy Gateway BackendTrafficPolicy from a route's resilience settings (engine::Resilience)
// and rate limits (engine::RateLimits): one per generated HTTPRoute that has either, named
// after it, in the owner's namespace, owned by and labelled for the owner, attached through
// spec.targetRefs.
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
// rateLimit (a TierLimit's limits) is type Global with global.rules; for each tier, most
// important first, and each way of telling its customers apart, one rule per window:
//   limit                      {requests: requestsPerSecond, unit: Second}, and with a
//                              dailyQuota {requests: dailyQuota, unit: Day}; requests at most
//                              4294967295 (uint32 in the rate limit service)
//   clientSelectors[0].headers the tier: {tierHeader, Exact, <tier>}; for the default tier one
//                              {tierHeader, Exact, <other tier>, invert: true} per other tier,
//                              so a missing header or an unknown value counts there too
//   ... the customer           {identityHeader, Distinct} (a counter per value); a request
//                              without that header (identityHeader, RegularExpression ".*",
//                              invert: true) or a route without one: sourceCIDR {Distinct,
//                              0.0.0.0/0}, and again with ::/0, a counter per client address
//                              (one address family per selector in Envoy Gateway)
// Header matches write their defaulted type and invert (false for Distinct too: Envoy Gateway
// refuses only invert: true there). invert exists in both releases; v1.2.8 bounds a policy to
// 64 rules and a selector to 16 headers, and exceeding either is an error naming the route.
//
// What Envoy Gateway cannot express of engine::RateLimits:
//   - burst: Envoy's global limiter counts in fixed windows of one unit, so a tier gets
//     requestsPerSecond in each calendar second, not a window of burst requests; up to twice
//     requestsPerSecond can pass around a second's edge, and burst is ignored.
//   - the quota's day: the Day window is the rate limit service's, Unix time divided by 86400,
//     so a daily quota resets at midnight UTC whatever dayOffsetSeconds (quotaTimeZone) says.
//   - Retry-After: Envoy Gateway sends none with a 429. The X-RateLimit-Limit/-Remaining/-Reset
//     headers (IETF draft 03) come from Envoy's rate limit filter, which Envoy Gateway turns on
//     unless a ClientTrafficPolicy sets headers.disableRateLimitHeaders; their reset is the end
//     of the fixed window.
//   - concurrent: Envoy has no per-customer limit on requests in flight (its circuit breaker
//     counts a cluster's, every customer together), so it is not rendered rather than faked.
//   - queue: Envoy does not queue refused or waiting requests by tier; a request over a limit
//     is refused at once.
//   - only accepted requests counting: the rate limit service adds every request to the
//     counter of each rule it matches, refused ones included, so requests the per-second limit
//     refuses still use up the daily quota.
// Global rate limits need Envoy Gateway's rate limit service with Redis, which it deploys only
// when the EnvoyGateway configuration sets rateLimit.backend (type Redis, redis.url). Without
// it Envoy Gateway marks the whole policy Accepted=False ("enable Ratelimit in the
// EnvoyGateway config to configure global rateLimit"), losing the resilience settings too,
// and may answer the route's requests with 500 while the policy is invalid. While the service
// is unreachable requests pass (unless rateLimit.failClosed). Counters are per route (no
// rule sets shared).
// rateLimit.type is deprecated in v1.6.7 but required in v1.2.8, so it is written.
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

// nullopt when the route has neither resilience settings nor rate limits, or they ask for
// nothing. Errors: invalid settings (validateResilience), rate limits beyond v1.2.8's bounds,
// naming the route.
Expected<std::optional<nlohmann::json>, std::string> renderBackendTrafficPolicy(
    const engine::Owner& owner, const engine::Route& route, const std::string& httpRouteName);

// "10s", "1m30s", "1s500ms": a duration both BackendTrafficPolicy schemas accept.
std::string envoyDuration(std::chrono::milliseconds duration);

}  // namespace sluice::render::gatewayapi
