#include "operator/render/hpa.h"

#include <algorithm>
#include <chrono>

#include "operator/render/object_meta.h"

namespace sluice::render {

using nlohmann::json;

Expected<json, std::string> renderMirroredHpa(const engine::Owner& owner, const std::string& name,
                                              const json& stableHpa,
                                              const ScaleTarget& canaryTarget) {
  if (!stableHpa.is_object() || stableHpa.value("apiVersion", std::string()) != "autoscaling/v2" ||
      stableHpa.value("kind", std::string()) != "HorizontalPodAutoscaler") {
    return Unexpected(std::string("stable HPA is not an autoscaling/v2 HorizontalPodAutoscaler"));
  }
  if (!stableHpa.contains("spec") || !stableHpa["spec"].is_object()) {
    return Unexpected(std::string("stable HPA has no spec"));
  }
  const json& stable = stableHpa["spec"];
  if (!stable.contains("maxReplicas") || !stable["maxReplicas"].is_number_integer()) {
    return Unexpected(std::string("stable HPA has no integer spec.maxReplicas"));
  }
  if (canaryTarget.name.empty()) {
    return Unexpected(std::string("scale target has no name"));
  }
  json spec{{"scaleTargetRef",
             {{"apiVersion", canaryTarget.apiVersion},
              {"kind", canaryTarget.kind},
              {"name", canaryTarget.name}}},
            {"maxReplicas", stable["maxReplicas"]}};
  for (const char* field : {"minReplicas", "metrics", "behavior"}) {
    if (stable.contains(field)) {
      spec[field] = stable[field];
    }
  }
  return json{{"apiVersion", "autoscaling/v2"},
              {"kind", "HorizontalPodAutoscaler"},
              {"metadata", generatedMetadata(owner, name)},
              {"spec", spec}};
}

namespace {

json scalingRules(const api::ScalingRules& rules, bool up) {
  // The autoscaling/v2 defaults (SetDefaults_HorizontalPodAutoscalerBehavior): up by 4 pods or
  // 100 % every 15 s, whichever is more; down by 100 % every 15 s.
  json policies = up ? json::array({{{"type", "Pods"}, {"value", 4}, {"periodSeconds", 15}},
                                    {{"type", "Percent"}, {"value", 100}, {"periodSeconds", 15}}})
                     : json::array({{{"type", "Percent"}, {"value", 100}, {"periodSeconds", 15}}});
  return {{"stabilizationWindowSeconds",
           std::chrono::duration_cast<std::chrono::seconds>(rules.stabilizationWindow).count()},
          {"selectPolicy", "Max"},
          {"policies", std::move(policies)}};
}

json utilization(const char* resource, std::int32_t percent) {
  return {{"type", "Resource"},
          {"resource",
           {{"name", resource},
            {"target", {{"type", "Utilization"}, {"averageUtilization", percent}}}}}};
}

}  // namespace

Expected<json, std::string> renderTierLimitHpa(const engine::Owner& owner, const std::string& name,
                                               const api::TierAutoscaling& a, std::int32_t floor) {
  if (a.targetRef.name.empty()) {
    return Unexpected(std::string("spec.autoscaling.targetRef.name: must be set"));
  }
  if (a.maxReplicas < 1 || a.minReplicas < 1 || a.minReplicas > a.maxReplicas) {
    return Unexpected("spec.autoscaling: minReplicas " + std::to_string(a.minReplicas) +
                      " and maxReplicas " + std::to_string(a.maxReplicas) +
                      " must satisfy 1 <= minReplicas <= maxReplicas");
  }
  json metrics = json::array();
  if (a.cpuUtilization) {
    metrics.push_back(utilization("cpu", *a.cpuUtilization));
  }
  if (a.memoryUtilization) {
    metrics.push_back(utilization("memory", *a.memoryUtilization));
  }
  if (a.requestsPerSecondPerReplica) {
    metrics.push_back(
        {{"type", "External"},
         {"external",
          {{"metric",
            {{"name", kRequestRateMetric},
             {"selector",
              {{"matchLabels", {{"namespace", owner.namespace_}, {"tierlimit", owner.name}}}}}}},
           {"target",
            {{"type", "AverageValue"},
             {"averageValue", std::to_string(*a.requestsPerSecondPerReplica)}}}}}});
  }
  json spec{{"scaleTargetRef",
             {{"apiVersion", a.targetRef.apiVersion},
              {"kind", a.targetRef.kind},
              {"name", a.targetRef.name}}},
            {"minReplicas", std::clamp(floor, a.minReplicas, a.maxReplicas)},
            {"maxReplicas", a.maxReplicas},
            {"behavior",
             {{"scaleUp", scalingRules(a.behavior.scaleUp, true)},
              {"scaleDown", scalingRules(a.behavior.scaleDown, false)}}}};
  if (!metrics.empty()) {
    spec["metrics"] = std::move(metrics);
  }
  return json{{"apiVersion", "autoscaling/v2"},
              {"kind", "HorizontalPodAutoscaler"},
              {"metadata", generatedMetadata(owner, name)},
              {"spec", std::move(spec)}};
}

}  // namespace sluice::render
