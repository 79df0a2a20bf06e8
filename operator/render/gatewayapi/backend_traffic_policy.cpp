#include "operator/render/gatewayapi/backend_traffic_policy.h"

#include <algorithm>

#include "operator/render/object_meta.h"
#include "operator/render/resilience.h"

namespace sluice::render::gatewayapi {
namespace {

using nlohmann::json;

// The schemas' defaults for fields written only so the cached spec equals the applied one.
constexpr std::int64_t kDefaultMaxParallelRetries = 1024;
constexpr const char* kPassiveInterval = "3s";
// circuitBreaker fields are uint32 in Envoy (the schemas' maximum).
constexpr std::int64_t kMaxThreshold = 4'294'967'295;

}  // namespace

std::string envoyDuration(std::chrono::milliseconds duration) {
  using namespace std::chrono;
  const std::pair<milliseconds, const char*> units[] = {
      {hours(1), "h"}, {minutes(1), "m"}, {seconds(1), "s"}, {milliseconds(1), "ms"}};
  std::string out;
  auto rest = duration;
  for (const auto& [unit, suffix] : units) {
    if (rest >= unit) {
      out += std::to_string(rest / unit) + suffix;
      rest %= unit;
    }
  }
  return out.empty() ? "0s" : out;
}

Expected<std::optional<json>, std::string> renderBackendTrafficPolicy(
    const engine::Owner& owner, const engine::Route& route, const std::string& httpRouteName) {
  if (auto valid = validateResilience(route); !valid) {
    return Unexpected(valid.error());
  }
  if (!route.resilience) {
    return std::optional<json>();
  }
  const auto& r = *route.resilience;
  json spec = json::object();
  if (!r.loadBalancer.empty()) {
    spec["loadBalancer"] = {{"type", r.loadBalancer}};
  }
  json healthCheck = json::object();
  if (r.activeHealthCheck) {
    const auto& check = *r.activeHealthCheck;
    healthCheck["active"] = {{"type", "HTTP"},
                             {"http", {{"path", check.path}}},
                             {"interval", envoyDuration(check.interval)},
                             {"timeout", envoyDuration(healthCheckTimeout(check))},
                             {"healthyThreshold", check.healthyThreshold},
                             {"unhealthyThreshold", check.unhealthyThreshold}};
  }
  if (r.consecutiveErrors > 0) {
    // maxEjectionPercent 100: Envoy Gateway's default (10) ejects at most a tenth of a rule's
    // endpoints, so a destination of a few Pods answering 5xx would keep most of its traffic.
    // Gateway errors (502/503/504) are 5xx, and local-origin failures (connect errors,
    // timeouts) count as 5xx while splitExternalLocalOriginErrors is false: the same count
    // for all three keeps one meaning, consecutiveErrors failures in a row.
    healthCheck["passive"] = {{"consecutive5XxErrors", r.consecutiveErrors},
                              {"consecutiveGatewayErrors", r.consecutiveErrors},
                              {"consecutiveLocalOriginFailures", r.consecutiveErrors},
                              {"splitExternalLocalOriginErrors", false},
                              {"interval", kPassiveInterval},
                              {"baseEjectionTime", envoyDuration(kEjectionTime)},
                              {"maxEjectionPercent", 100}};
  }
  if (!healthCheck.empty()) {
    spec["healthCheck"] = std::move(healthCheck);
  }
  if (r.maxConcurrentRequests) {
    std::size_t destinations = 1;
    for (const auto& rule : route.rules) {
      destinations = std::max(destinations, rule.destinations.size());
    }
    const std::int64_t limit =
        std::min<std::int64_t>(kMaxThreshold, std::int64_t{*r.maxConcurrentRequests} *
                                                  static_cast<std::int64_t>(destinations));
    // HTTP/1.1 carries one request a connection (maxConnections), HTTP/2 many
    // (maxParallelRequests); maxPendingRequests bounds those waiting for a connection, which
    // every request does while its connection opens, so 0 would refuse nearly everything.
    spec["circuitBreaker"] = {{"maxConnections", limit},
                              {"maxParallelRequests", limit},
                              {"maxPendingRequests", limit},
                              {"maxParallelRetries", kDefaultMaxParallelRetries}};
  }
  if (spec.empty()) {
    return std::optional<json>();
  }
  // targetRefs, not the deprecated targetRef: both releases accept it (and refuse both at once).
  spec["targetRefs"] = json::array(
      {{{"group", "gateway.networking.k8s.io"}, {"kind", "HTTPRoute"}, {"name", httpRouteName}}});
  return std::optional<json>(json{{"apiVersion", kBackendTrafficPolicyApiVersion},
                                  {"kind", "BackendTrafficPolicy"},
                                  {"metadata", generatedMetadata(owner, httpRouteName)},
                                  {"spec", std::move(spec)}});
}

}  // namespace sluice::render::gatewayapi
