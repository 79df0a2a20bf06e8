#include "operator/render/gatewayapi/provider.h"

#include <utility>

namespace sluice::render::gatewayapi {

GatewayApiTrafficProvider::GatewayApiTrafficProvider(RouteStore& store, Renderer render)
    : store_(store), render_(std::move(render)) {}

Expected<void, ProviderError> GatewayApiTrafficProvider::setWeight(const std::string& route,
                                                                   std::int32_t weight) {
  if (weight < 0 || weight > 100) {
    return Unexpected(ProviderError{"weight " + std::to_string(weight) + " is not 0..100"});
  }
  return store_.applyRoute(render_(route, weight));
}

Expected<std::int32_t, ProviderError> GatewayApiTrafficProvider::verifyWeight(
    const std::string& route) {
  auto current = store_.getRoute(route);
  if (!current) {
    return Unexpected(current.error());
  }
  // The rendered route for weight 0 names the canary backend; read that backend's weight.
  const auto reference = render_(route, 0);
  std::string canaryName;
  try {
    canaryName = reference.at("spec").at("rules").back().at("backendRefs").at(1).at("name");
  } catch (const nlohmann::json::exception&) {
    return Unexpected(ProviderError{"rendered HTTPRoute has no canary backendRef"});
  }
  try {
    for (const auto& ref : current->at("spec").at("rules").back().at("backendRefs")) {
      if (ref.value("name", std::string()) == canaryName) {
        return ref.value("weight", 1);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Unexpected(ProviderError{"HTTPRoute " + route + ": " + e.what()});
  }
  return Unexpected(ProviderError{"HTTPRoute " + route + " has no backendRef " + canaryName});
}

}  // namespace sluice::render::gatewayapi
