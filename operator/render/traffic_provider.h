#pragma once

// Traffic providers move the canary weight in a data plane, one folder per provider
// (haproxy/, gatewayapi/), in the style of Argo Rollouts' traffic routers. The controller
// builds one through makeTrafficProvider(), which refuses names it does not know.

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "operator/common/expected.h"

namespace sluice::render {

struct ProviderError {
  std::string message;
};

class TrafficProvider {
 public:
  virtual ~TrafficProvider() = default;
  // Sends `weight` percent (0..100) of the route's traffic to the canary.
  virtual Expected<void, ProviderError> setWeight(const std::string& route,
                                                  std::int32_t weight) = 0;
  // The weight the data plane applies now, read back from it (not from our own memory).
  virtual Expected<std::int32_t, ProviderError> verifyWeight(const std::string& route) = 0;
};

// What the gatewayAPI provider needs from the controller: reading and server-side applying an
// HTTPRoute. Kept here as a two-method seam so render does not depend on kube.
class RouteStore {
 public:
  virtual ~RouteStore() = default;
  virtual Expected<nlohmann::json, ProviderError> getRoute(const std::string& name) = 0;
  virtual Expected<void, ProviderError> applyRoute(const nlohmann::json& route) = 0;
};

struct ProviderOptions {
  // haproxy: the runtime API address ("ipv4@127.0.0.1:9999", "127.0.0.1:9999" or a unix
  // socket path) and the weights map file the generated config reads.
  std::string haproxyRuntimeAddress;
  std::string haproxyWeightsMap;
  std::int32_t haproxyTimeoutMillis = 2000;
  // gatewayAPI: where routes are read/applied, and how to render the route for a weight
  // (usually a lambda over renderCanaryHttpRoute()).
  RouteStore* routeStore = nullptr;
  std::function<nlohmann::json(const std::string& route, std::int32_t weight)> renderRoute;
};

// name: "haproxy" | "gatewayAPI". Any other name, or missing options, is an error.
Expected<std::unique_ptr<TrafficProvider>, ProviderError> makeTrafficProvider(
    std::string_view name, const ProviderOptions& options);

}  // namespace sluice::render
