#include <gtest/gtest.h>

#include <map>

#include "operator/render/gateway_api.h"
#include "operator/render/traffic_provider.h"

namespace sluice::render {
namespace {

class MemoryRouteStore final : public RouteStore {
 public:
  Expected<nlohmann::json, ProviderError> getRoute(const std::string& name) override {
    auto it = routes.find(name);
    if (it == routes.end()) {
      return Unexpected(ProviderError{"not found: " + name});
    }
    return it->second;
  }
  Expected<void, ProviderError> applyRoute(const nlohmann::json& route) override {
    routes[route["metadata"]["name"].get<std::string>()] = route;
    ++applies;
    return {};
  }
  std::map<std::string, nlohmann::json> routes;
  int applies = 0;
};

TEST(ProviderFactory, RefusesUnknownNames) {
  for (const char* name : {"", "istio", "HAProxy", "gatewayapi"}) {
    auto provider = makeTrafficProvider(name, {});
    ASSERT_FALSE(provider.hasValue()) << name;
    EXPECT_NE(provider.error().message.find("unknown traffic provider"), std::string::npos);
  }
}

TEST(ProviderFactory, RefusesMissingOptions) {
  EXPECT_FALSE(makeTrafficProvider("haproxy", {}).hasValue());
  EXPECT_FALSE(makeTrafficProvider("gatewayAPI", {}).hasValue());
  ProviderOptions options;
  options.haproxyRuntimeAddress = "ipv4@127.0.0.1:1";
  options.haproxyWeightsMap = "/tmp/w.map";
  EXPECT_TRUE(makeTrafficProvider("haproxy", options).hasValue());
}

TEST(GatewayApiProvider, AppliesAndVerifiesThroughTheStore) {
  api::ObjectMeta meta;
  meta.name = "pay";
  meta.namespace_ = "shop";
  meta.uid = "u1";
  api::CanaryRolloutSpec spec;
  spec.stable = {"pay-stable", 80};
  spec.canary = {"pay-canary", 80};
  spec.route = api::RouteSpec{{{"edge", "", ""}}, {}, "gatewayAPI"};

  MemoryRouteStore store;
  ProviderOptions options;
  options.routeStore = &store;
  options.renderRoute = [&](const std::string&, std::int32_t weight) {
    return renderCanaryHttpRoute(meta, spec, weight).value();
  };
  auto provider = makeTrafficProvider("gatewayAPI", options);
  ASSERT_TRUE(provider.hasValue()) << provider.error().message;
  EXPECT_FALSE((*provider)->verifyWeight("pay").hasValue()) << "nothing applied yet";
  ASSERT_TRUE((*provider)->setWeight("pay", 25).hasValue());
  EXPECT_EQ((*provider)->verifyWeight("pay").value(), 25);
  EXPECT_EQ(store.routes["pay"]["spec"]["rules"][0]["backendRefs"][0]["weight"], 75);
  EXPECT_FALSE((*provider)->setWeight("pay", 101).hasValue());
  EXPECT_EQ(store.applies, 1);
}

}  // namespace
}  // namespace sluice::render
