#pragma once

#include <memory>
#include <string>

#include "operator/render/haproxy/runtime_client.h"
#include "operator/render/traffic_provider.h"

namespace sluice::render::haproxy {

// Weights live in the map file the generated config reads (one key per route); setWeight
// changes them through the runtime API, so no reload and no dropped connection.
class HaproxyTrafficProvider final : public TrafficProvider {
 public:
  HaproxyTrafficProvider(RuntimeClient client, std::string weightsMap);

  Expected<void, ProviderError> setWeight(const std::string& route, std::int32_t weight) override;
  Expected<std::int32_t, ProviderError> verifyWeight(const std::string& route) override;

 private:
  RuntimeClient client_;
  std::string weightsMap_;
};

}  // namespace sluice::render::haproxy
