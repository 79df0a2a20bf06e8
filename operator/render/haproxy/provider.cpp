#include "operator/render/haproxy/provider.h"

#include <charconv>
#include <utility>

namespace sluice::render::haproxy {

HaproxyTrafficProvider::HaproxyTrafficProvider(RuntimeClient client, std::string weightsMap)
    : client_(std::move(client)), weightsMap_(std::move(weightsMap)) {}

Expected<void, ProviderError> HaproxyTrafficProvider::setWeight(const std::string& route,
                                                                std::int32_t weight) {
  if (weight < 0 || weight > 100) {
    return Unexpected(ProviderError{"weight " + std::to_string(weight) + " is not 0..100"});
  }
  auto set = client_.setMapValue(weightsMap_, route, std::to_string(weight));
  if (!set) {
    return Unexpected(ProviderError{"haproxy: " + set.error().message});
  }
  return {};
}

Expected<std::int32_t, ProviderError> HaproxyTrafficProvider::verifyWeight(
    const std::string& route) {
  auto entries = client_.showMap(weightsMap_);
  if (!entries) {
    return Unexpected(ProviderError{"haproxy: " + entries.error().message});
  }
  auto it = entries->find(route);
  if (it == entries->end()) {
    return Unexpected(
        ProviderError{"haproxy: route " + route + " has no weight in " + weightsMap_});
  }
  std::int32_t weight = 0;
  const auto& text = it->second;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), weight);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Unexpected(
        ProviderError{"haproxy: weight \"" + text + "\" for " + route + " is not a number"});
  }
  return weight;
}

}  // namespace sluice::render::haproxy
