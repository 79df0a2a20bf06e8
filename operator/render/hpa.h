#pragma once

// HorizontalPodAutoscalers Sluice generates: a copy of another HPA retargeted at a different
// workload (a CanaryRollout's spec.autoscaling.mirrorStableHPA), and a TierLimit's own HPA,
// owned by whichever owner asks.

#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/tier_limit.h"
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

// The External metric a TierLimit's HPA scales on: the request rate of the TierLimit's
// traffic, served to the HPA controller by a metrics adapter (prometheus-adapter) from
// Prometheus, selected by the labels `namespace` and `tierlimit`. External, not Pods: the
// rate is the gateway's, not any pod's, and an AverageValue target divides it by the replica
// count the way "requests per second per replica" says.
inline constexpr const char* kRequestRateMetric = "sluice_tierlimit_requests_per_second";

// A TierLimit's autoscaling/v2 HPA `name` for spec.autoscaling, with minReplicas `floor`
// (the spec's, or a schedule's while one is open: engine::scheduleFloor). Every field the API
// server would default is written explicitly (behavior policies, selectPolicy, the scale-down
// stabilization window), so the object read back equals the one applied and a GitOps tool
// diffing it sees no drift. Errors name the field (a floor above maxReplicas is capped, not an
// error: the schedule cannot push past the ceiling).
Expected<nlohmann::json, std::string> renderTierLimitHpa(const engine::Owner& owner,
                                                         const std::string& name,
                                                         const api::TierAutoscaling& autoscaling,
                                                         std::int32_t floor);

}  // namespace sluice::render
