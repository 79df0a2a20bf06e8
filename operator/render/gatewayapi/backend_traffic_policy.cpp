#include "operator/render/gatewayapi/backend_traffic_policy.h"

#include <algorithm>
#include <array>

#include "operator/render/object_meta.h"
#include "operator/render/resilience.h"

namespace sluice::render::gatewayapi {
namespace {

using nlohmann::json;

// The schemas' defaults for fields written only so the cached spec equals the applied one.
constexpr std::int64_t kDefaultMaxParallelRetries = 1024;
constexpr const char* kPassiveInterval = "3s";
// circuitBreaker fields are uint32 in Envoy (the schemas' maximum), and so is a rate limit's
// requests per unit in Envoy's rate limit service.
constexpr std::int64_t kMaxThreshold = 4'294'967'295;
// v1.2.8's bounds (v1.6.7 allows 128 rules).
constexpr std::size_t kMaxRateLimitRules = 64;
constexpr std::size_t kMaxSelectorHeaders = 16;
// Every client address of each family, counted apart (Envoy Gateway matches one family per
// selector).
constexpr std::array<const char*, 2> kEveryAddress = {"0.0.0.0/0", "::/0"};

// A header match with every field the schemas default written (type, invert).
json headerMatch(const std::string& name, const char* type, const std::string& value, bool invert) {
  json match = {{"name", name}, {"type", type}, {"invert", invert}};
  if (std::string_view(type) != "Distinct") {
    match["value"] = value;
  }
  return match;
}

// The headers that put a request in `tier`: its name in the tier header, or for the default
// tier anything but another tier's name (the header missing included).
json tierMatch(const engine::RateLimits& limits, const engine::TierRateLimit& tier) {
  json headers = json::array();
  if (tier.name != limits.defaultTier) {
    headers.push_back(headerMatch(limits.tierHeader, "Exact", tier.name, false));
    return headers;
  }
  for (const auto& other : limits.tiers) {
    if (other.name != tier.name) {
      headers.push_back(headerMatch(limits.tierHeader, "Exact", other.name, true));
    }
  }
  return headers;
}

// The client selectors of one tier, one per way a customer is told apart: by the identity
// header, or (without one, or on a request that lacks it) by client address, per family.
std::vector<json> customerSelectors(const engine::RateLimits& limits, const json& tierHeaders) {
  std::vector<json> selectors;
  json byAddress = tierHeaders;
  if (!limits.identityHeader.empty()) {
    json byIdentity = tierHeaders;
    byIdentity.push_back(headerMatch(limits.identityHeader, "Distinct", "", false));
    selectors.push_back({{"headers", std::move(byIdentity)}});
    // A value-match on an absent header fails, so inverted ".*" holds only without the header.
    byAddress.push_back(headerMatch(limits.identityHeader, "RegularExpression", ".*", true));
  }
  for (const char* cidr : kEveryAddress) {
    json selector = {{"sourceCIDR", {{"type", "Distinct"}, {"value", cidr}}}};
    if (!byAddress.empty()) {
      selector["headers"] = byAddress;
    }
    selectors.push_back(std::move(selector));
  }
  return selectors;
}

// spec.rateLimit for the route's rate limits; nullopt without them.
Expected<std::optional<json>, std::string> globalRateLimit(const engine::Route& route) {
  if (!route.rateLimits || route.rateLimits->tiers.empty()) {
    return std::optional<json>();
  }
  const auto& limits = *route.rateLimits;
  const std::string where = "route " + route.name + " rate limits";
  json rules = json::array();
  for (const auto& tier : limits.tiers) {
    std::vector<std::pair<std::int64_t, const char*>> windows = {
        {tier.requestsPerSecond, "Second"}};
    if (tier.dailyQuota) {
      windows.emplace_back(*tier.dailyQuota, "Day");
    }
    const json headers = tierMatch(limits, tier);
    for (const auto& selector : customerSelectors(limits, headers)) {
      if (selector.contains("headers") && selector["headers"].size() > kMaxSelectorHeaders) {
        return Unexpected(
            where + ": tier " + tier.name + " needs " + std::to_string(selector["headers"].size()) +
            " header matches, Envoy Gateway takes at most " + std::to_string(kMaxSelectorHeaders));
      }
      for (const auto& [requests, unit] : windows) {
        rules.push_back(
            {{"clientSelectors", json::array({selector})},
             {"limit", {{"requests", std::min(requests, kMaxThreshold)}, {"unit", unit}}}});
      }
    }
  }
  if (rules.size() > kMaxRateLimitRules) {
    return Unexpected(where + ": " + std::to_string(rules.size()) +
                      " Envoy Gateway rules needed, v1.2.8 takes at most " +
                      std::to_string(kMaxRateLimitRules));
  }
  return std::optional<json>(json{{"type", "Global"}, {"global", {{"rules", std::move(rules)}}}});
}

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
  auto rateLimit = globalRateLimit(route);
  if (!rateLimit) {
    return Unexpected(rateLimit.error());
  }
  json spec = json::object();
  if (*rateLimit) {
    spec["rateLimit"] = std::move(**rateLimit);
  }
  const engine::Resilience r = route.resilience.value_or(engine::Resilience{});
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
