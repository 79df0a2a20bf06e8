#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/canary_rollout.h"
#include "operator/render/traffic_provider.h"

namespace sluice::render::gatewayapi {

// Moves the weight by re-rendering the rollout's HTTPRoute and applying it; verifies by
// reading the applied route back.
class GatewayApiTrafficProvider final : public TrafficProvider {
 public:
  using Renderer = std::function<nlohmann::json(const std::string& route, std::int32_t weight)>;
  GatewayApiTrafficProvider(RouteStore& store, Renderer render);

  Expected<void, ProviderError> setWeight(const std::string& route, std::int32_t weight) override;
  Expected<std::int32_t, ProviderError> verifyWeight(const std::string& route) override;

 private:
  RouteStore& store_;
  Renderer render_;
};

}  // namespace sluice::render::gatewayapi
