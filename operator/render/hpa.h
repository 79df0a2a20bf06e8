#pragma once

// HorizontalPodAutoscalers Sluice generates: a copy of another HPA retargeted at a different
// workload (a CanaryRollout's spec.autoscaling.mirrorStableHPA), owned by whichever owner asks.

#include <nlohmann/json.hpp>
#include <string>

#include "operator/common/expected.h"
#include "operator/engine/route_plan.h"

namespace sluice::render {

// The workload the canary HPA scales (autoscaling/v2 CrossVersionObjectReference).
struct ScaleTarget {
  std::string apiVersion = "apps/v1";
  std::string kind = "Deployment";
  std::string name;
};

// autoscaling/v2 HPA `name` in the owner's namespace, targeting `target`, with the source
// HPA's minReplicas, maxReplicas, metrics and behavior, the owner's reference and labels.
// Accepts an autoscaling/v2 source HPA; anything else (wrong apiVersion/kind, no
// spec.maxReplicas) is an error naming the problem.
Expected<nlohmann::json, std::string> renderMirroredHpa(const engine::Owner& owner,
                                                        const std::string& name,
                                                        const nlohmann::json& sourceHpa,
                                                        const ScaleTarget& target);

}  // namespace sluice::render
