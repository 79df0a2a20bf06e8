#pragma once

// Mirrors the stable workload's HorizontalPodAutoscaler for the canary
// (spec.autoscaling.mirrorStableHPA).

#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/canary_rollout.h"
#include "operator/common/expected.h"

namespace sluice::render {

// The workload the canary HPA scales (autoscaling/v2 CrossVersionObjectReference).
struct ScaleTarget {
  std::string apiVersion = "apps/v1";
  std::string kind = "Deployment";
  std::string name;
};

std::string canaryHpaName(const api::ObjectMeta& rollout);

// autoscaling/v2 HPA named canaryHpaName(), in the rollout's namespace, targeting
// canaryTarget, with the stable HPA's minReplicas, maxReplicas, metrics and behavior, the
// rollout's owner reference and labels. Accepts an autoscaling/v2 stable HPA; anything else
// (wrong apiVersion/kind, no spec.maxReplicas) is an error naming the problem.
Expected<nlohmann::json, std::string> renderCanaryHpa(const api::ObjectMeta& rollout,
                                                      const nlohmann::json& stableHpa,
                                                      const ScaleTarget& canaryTarget);

}  // namespace sluice::render
