#include "operator/render/gateway_api.h"

#include <algorithm>

namespace sluice::render {
namespace {

using nlohmann::json;

json serviceBackend(const api::ServiceRef& service, std::int32_t weight) {
  return {{"group", ""},
          {"kind", "Service"},
          {"name", service.name},
          {"port", service.port},
          {"weight", weight}};
}

// The API server defaults an omitted path to PathPrefix "/"; writing it keeps server-side
// apply from seeing a difference on every reconcile.
json pathPrefixRoot() {
  return {{"type", "PathPrefix"}, {"value", "/"}};
}

}  // namespace

json canaryOwnerReference(const api::ObjectMeta& rollout) {
  return {{"apiVersion", api::kApiVersion},
          {"kind", "CanaryRollout"},
          {"name", rollout.name},
          {"uid", rollout.uid},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

json canaryLabels(const api::ObjectMeta& rollout) {
  return {{kManagedByLabel, kManagedByValue}, {kOwnerLabel, "canaryrollout." + rollout.name}};
}

std::string canaryHttpRouteName(const api::ObjectMeta& rollout) {
  return rollout.name;
}

Expected<json, std::string> renderCanaryHttpRoute(const api::ObjectMeta& rollout,
                                                  const api::CanaryRolloutSpec& spec,
                                                  std::int32_t canaryWeight) {
  if (!spec.route) {
    return Unexpected(std::string("spec.route is not set"));
  }
  if (spec.route->parentRefs.empty()) {
    return Unexpected(std::string("spec.route.parentRefs is empty"));
  }
  const std::int32_t weight = std::clamp(canaryWeight, 0, 100);

  json parentRefs = json::array();
  for (const auto& ref : spec.route->parentRefs) {
    json p{{"group", "gateway.networking.k8s.io"}, {"kind", "Gateway"}, {"name", ref.name}};
    if (!ref.namespace_.empty()) {
      p["namespace"] = ref.namespace_;
    }
    if (!ref.sectionName.empty()) {
      p["sectionName"] = ref.sectionName;
    }
    parentRefs.push_back(std::move(p));
  }

  json rules = json::array();
  if (weight > 0) {
    for (const auto& match : spec.match) {
      if (match.headers.empty()) {
        continue;
      }
      json headers = json::array();
      for (const auto& h : match.headers) {
        headers.push_back({{"type", h.type}, {"name", h.name}, {"value", h.value}});
      }
      rules.push_back(
          {{"matches", json::array({{{"path", pathPrefixRoot()}, {"headers", headers}}})},
           {"backendRefs", json::array({serviceBackend(spec.canary, 1)})}});
    }
  }
  rules.push_back({{"matches", json::array({{{"path", pathPrefixRoot()}}})},
                   {"backendRefs", json::array({serviceBackend(spec.stable, 100 - weight),
                                                serviceBackend(spec.canary, weight)})}});

  json metadata{{"name", canaryHttpRouteName(rollout)},
                {"labels", canaryLabels(rollout)},
                {"ownerReferences", json::array({canaryOwnerReference(rollout)})}};
  if (!rollout.namespace_.empty()) {
    metadata["namespace"] = rollout.namespace_;
  }
  json routeSpec{{"parentRefs", parentRefs}, {"rules", rules}};
  if (!spec.route->hostnames.empty()) {
    routeSpec["hostnames"] = spec.route->hostnames;
  }
  return json{{"apiVersion", "gateway.networking.k8s.io/v1"},
              {"kind", "HTTPRoute"},
              {"metadata", metadata},
              {"spec", routeSpec}};
}

Expected<std::int32_t, std::string> canaryWeightOf(const json& httpRoute,
                                                   const api::CanaryRolloutSpec& spec) {
  const json* rules = nullptr;
  if (httpRoute.contains("spec") && httpRoute["spec"].contains("rules")) {
    rules = &httpRoute["spec"]["rules"];
  }
  if (rules == nullptr || !rules->is_array() || rules->empty()) {
    return Unexpected(std::string("HTTPRoute has no rules"));
  }
  const json& last = rules->back();
  if (!last.contains("backendRefs") || !last["backendRefs"].is_array()) {
    return Unexpected(std::string("HTTPRoute default rule has no backendRefs"));
  }
  for (const auto& ref : last["backendRefs"]) {
    if (ref.value("name", std::string()) == spec.canary.name &&
        ref.value("port", 0) == spec.canary.port) {
      const auto& w = ref.contains("weight") ? ref["weight"] : json(1);
      if (!w.is_number_integer()) {
        return Unexpected(std::string("canary backendRef weight is not an integer"));
      }
      return w.get<std::int32_t>();
    }
  }
  return Unexpected("HTTPRoute default rule has no backendRef for " + spec.canary.name);
}

}  // namespace sluice::render
