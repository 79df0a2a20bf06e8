#include "operator/render/traffic_provider.h"

#include "operator/render/gatewayapi/provider.h"
#include "operator/render/haproxy/provider.h"

namespace sluice::render {

Expected<std::unique_ptr<TrafficProvider>, ProviderError> makeTrafficProvider(
    std::string_view name, const ProviderOptions& options) {
  if (name == "haproxy") {
    if (options.haproxyRuntimeAddress.empty() || options.haproxyWeightsMap.empty()) {
      return Unexpected(
          ProviderError{"haproxy provider needs a runtime API address and a weights map"});
    }
    return std::unique_ptr<TrafficProvider>(std::make_unique<haproxy::HaproxyTrafficProvider>(
        haproxy::RuntimeClient(options.haproxyRuntimeAddress,
                               std::chrono::milliseconds{options.haproxyTimeoutMillis}),
        options.haproxyWeightsMap));
  }
  if (name == "gatewayAPI") {
    if (options.routeStore == nullptr || !options.renderRoute) {
      return Unexpected(ProviderError{"gatewayAPI provider needs a route store and a renderer"});
    }
    return std::unique_ptr<TrafficProvider>(std::make_unique<gatewayapi::GatewayApiTrafficProvider>(
        *options.routeStore, options.renderRoute));
  }
  return Unexpected(ProviderError{"unknown traffic provider \"" + std::string(name) +
                                  "\" (known: gatewayAPI, haproxy)"});
}

}  // namespace sluice::render
