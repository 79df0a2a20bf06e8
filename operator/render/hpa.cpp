#include "operator/render/hpa.h"

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

}  // namespace sluice::render
