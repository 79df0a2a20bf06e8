#include "operator/engine/canary_route.h"

#include <algorithm>

namespace sluice::engine {

Owner ownerOf(const api::CanaryRollout& rollout) {
  return {api::kApiVersion, "CanaryRollout", rollout.metadata.namespace_, rollout.metadata.name,
          rollout.metadata.uid};
}

std::string regionCanaryDestination(const std::string& region) {
  return "canary-" + region;
}

std::string regionStableDestination(const std::string& region) {
  return "stable-" + region;
}

std::vector<HeaderValue> versionHeaders(const api::CanaryRolloutSpec& spec, bool canarySide,
                                        const std::string& revision) {
  const auto& v = spec.versionHeader;
  if (!v.enabled || v.name.empty()) {
    return {};
  }
  std::vector<HeaderValue> out{{v.name, canarySide ? "true" : "false"}};
  if (canarySide && !v.revisionName.empty() && !revision.empty()) {
    out.push_back({v.revisionName, revision});
  }
  return out;
}

std::int32_t regionWeight(const api::CanaryRolloutStatus& status, const std::string& region) {
  for (const auto& g : status.regions) {
    if (g.name == region) {
      return std::clamp(g.canaryWeight, 0, 100);
    }
  }
  return 0;
}

RoutePlan canaryRoutePlan(const api::CanaryRollout& rollout, const api::CanaryRolloutStatus& status,
                          ServiceTarget stable, ServiceTarget canary) {
  const auto& spec = rollout.spec;
  const std::int32_t percent = std::clamp(status.canaryWeight, 0, 100);
  std::int32_t anywhere = percent;
  for (const auto& g : spec.regions) {
    anywhere = std::max(anywhere, regionWeight(status, g.name));
  }
  const auto stableHeaders = versionHeaders(spec, false, status.canaryRevision);
  const auto canaryHeaders = versionHeaders(spec, true, status.canaryRevision);
  const std::string sticky = spec.stickiness ? spec.stickiness->header : std::string();

  RoutePlan plan;
  plan.owner = ownerOf(rollout);
  Route route;
  route.name = rollout.metadata.name;
  if (spec.route) {
    route.hostnames = spec.route->hostnames;
    route.parents = spec.route->parentRefs;
  }
  auto split = [&](const std::string& stableName, const std::string& canaryName,
                   std::int32_t canaryPercent) {
    const std::int32_t weight = weightFromPercent(canaryPercent);
    return std::vector<Destination>{{stableName, stable, kWeightScale - weight, stableHeaders},
                                    {canaryName, canary, weight, canaryHeaders}};
  };
  auto exact = [](const std::string& header, const std::vector<std::string>& values) {
    std::vector<api::RequestMatch> out;
    for (const auto& v : values) {
      out.push_back({{{header, v, "Exact"}}});
    }
    return out;
  };
  auto add = [&](std::string name, std::vector<api::RequestMatch> matches,
                 std::vector<Destination> destinations, std::string stickiness) {
    Rule rule;
    rule.name = std::move(name);
    rule.matches = std::move(matches);
    rule.destinations = std::move(destinations);
    rule.stickinessHeader = std::move(stickiness);
    route.rules.push_back(std::move(rule));
  };

  if (spec.tenants && spec.stickiness) {
    if (!spec.tenants->stable.empty()) {
      add("tenants-stable", exact(sticky, spec.tenants->stable),
          split(kOverrideStableDestination, kOverrideCanaryDestination, 0), "");
    }
    if (!spec.tenants->canary.empty()) {
      add("tenants-canary", exact(sticky, spec.tenants->canary),
          split(kOverrideStableDestination, kOverrideCanaryDestination, anywhere > 0 ? 100 : 0),
          "");
    }
  }
  for (std::size_t i = 0; i < spec.match.size(); ++i) {
    if (spec.match[i].headers.empty()) {
      continue;
    }
    add("match-" + std::to_string(i), {spec.match[i]},
        split(kStableDestination, kCanaryDestination, anywhere > 0 ? 100 : 0), "");
  }
  if (!spec.regionHeader.empty()) {
    for (const auto& g : spec.regions) {
      add("region-" + g.name, exact(spec.regionHeader, g.headerValues()),
          split(regionStableDestination(g.name), regionCanaryDestination(g.name),
                regionWeight(status, g.name)),
          sticky);
    }
  }
  add(kDefaultRule, {}, split(kStableDestination, kCanaryDestination, percent), sticky);
  plan.routes.push_back(std::move(route));
  return plan;
}

RoutePlan canaryRoutePlan(const api::CanaryRollout& rollout, std::int32_t canaryPercent,
                          ServiceTarget stable, ServiceTarget canary) {
  api::CanaryRolloutStatus status;
  status.canaryWeight = canaryPercent;
  status.canaryRevision = rollout.status.canaryRevision;
  for (const auto& g : rollout.spec.regions) {
    status.regions.push_back({g.name, api::CanaryPhase::Progressing, 0, canaryPercent, "", "", {}});
  }
  return canaryRoutePlan(rollout, status, std::move(stable), std::move(canary));
}

std::vector<PolicyCanarySplit> policyCanarySplits(const api::CanaryRollout& rollout) {
  const auto& spec = rollout.spec;
  const auto& status = rollout.status;
  std::vector<PolicyCanarySplit> out;
  if (!spec.trafficPolicyRef) {
    return out;
  }
  const auto stableHeaders = versionHeaders(spec, false, status.canaryRevision);
  const auto canaryHeaders = versionHeaders(spec, true, status.canaryRevision);
  if (spec.regions.empty()) {
    out.push_back({spec.trafficPolicyRef->backend, spec.canary,
                   std::clamp(status.canaryWeight, 0, 100), stableHeaders, canaryHeaders});
    return out;
  }
  for (const auto& g : spec.regions) {
    out.push_back({g.policyBackend(), g.canary.value_or(spec.canary), regionWeight(status, g.name),
                   stableHeaders, canaryHeaders});
  }
  return out;
}

}  // namespace sluice::engine
