#include "operator/engine/canary_route.h"

#include <algorithm>

namespace sluice::engine {

Owner ownerOf(const api::CanaryRollout& rollout) {
  return {api::kApiVersion, "CanaryRollout", rollout.metadata.namespace_, rollout.metadata.name,
          rollout.metadata.uid};
}

RoutePlan canaryRoutePlan(const api::CanaryRollout& rollout, std::int32_t canaryPercent,
                          ServiceTarget stable, ServiceTarget canary) {
  const std::int32_t weight = weightFromPercent(std::clamp(canaryPercent, 0, 100));
  RoutePlan plan;
  plan.owner = ownerOf(rollout);
  Route route;
  route.name = rollout.metadata.name;
  if (rollout.spec.route) {
    route.hostnames = rollout.spec.route->hostnames;
    route.parents = rollout.spec.route->parentRefs;
  }
  auto split = [&](std::int32_t canaryWeight) {
    return std::vector<Destination>{{kStableDestination, stable, kWeightScale - canaryWeight},
                                    {kCanaryDestination, canary, canaryWeight}};
  };
  const auto& matches = rollout.spec.match;
  for (std::size_t i = 0; i < matches.size(); ++i) {
    if (matches[i].headers.empty()) {
      continue;
    }
    Rule rule;
    rule.name = "match-" + std::to_string(i);
    rule.matches = {matches[i]};
    rule.destinations = split(weight > 0 ? kWeightScale : 0);
    route.rules.push_back(std::move(rule));
  }
  Rule rule;
  rule.name = kDefaultRule;
  if (rollout.spec.stickiness) {
    rule.stickinessHeader = rollout.spec.stickiness->header;
  }
  rule.destinations = split(weight);
  route.rules.push_back(std::move(rule));
  plan.routes.push_back(std::move(route));
  return plan;
}

}  // namespace sluice::engine
