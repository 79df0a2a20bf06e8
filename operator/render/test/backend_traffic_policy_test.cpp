#include "operator/render/gatewayapi/backend_traffic_policy.h"

#include <gtest/gtest.h>

#include "operator/render/test/golden.h"

namespace sluice::render::gatewayapi {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const engine::Owner kOwner{"sluice.dev/v1alpha1", "TrafficPolicy", "shop", "checkout",
                           "6f1e2d3c-0000-4000-8000-000000000002"};

// Two rules, the larger of three destinations (regions).
engine::Route route(std::optional<engine::Resilience> resilience) {
  engine::Route r;
  r.name = "checkout";
  r.parents = {{"edge", "", ""}};
  engine::Rule premium;
  premium.name = "premium";
  premium.destinations = {{"eu", {"shop", "checkout-eu", 80, ""}, engine::kWeightScale}};
  engine::Rule all;
  all.name = "all";
  all.destinations = {{"eu", {"shop", "checkout-eu", 80, ""}, 500000},
                      {"us", {"shop", "checkout-us", 80, ""}, 300000},
                      {"ap", {"shop", "checkout-ap", 80, ""}, 200000}};
  r.rules = {premium, all};
  r.resilience = std::move(resilience);
  return r;
}

engine::Resilience everything() {
  return {"LeastRequest", engine::HealthCheck{"/healthz?from=gateway", 10s, 2, 3}, 5, 100};
}

json render(const engine::Resilience& resilience) {
  auto policy = renderBackendTrafficPolicy(kOwner, route(resilience), "checkout");
  EXPECT_TRUE(policy.hasValue()) << policy.error();
  EXPECT_TRUE(policy->has_value());
  return policy->value_or(json());
}

// e2e.chart.upstream-schema checks this golden against both Envoy Gateway releases' schemas,
// e2e.chart.samples-kubectl against their admission (CEL rules included).
TEST(BackendTrafficPolicy, EverySettingGolden) {
  testing::expectGolden("backendtrafficpolicy_checkout.json", render(everything()).dump(2) + "\n");
}

TEST(BackendTrafficPolicy, TargetsTheHttpRouteAndCarriesTheOwner) {
  const auto policy = render(everything());
  EXPECT_EQ(policy["apiVersion"], "gateway.envoyproxy.io/v1alpha1");
  EXPECT_EQ(policy["kind"], "BackendTrafficPolicy");
  EXPECT_EQ(policy["metadata"]["name"], "checkout");
  EXPECT_EQ(policy["metadata"]["namespace"], "shop");
  EXPECT_EQ(policy["metadata"]["labels"]["sluice.dev/owner"], "trafficpolicy.checkout");
  EXPECT_EQ(policy["metadata"]["ownerReferences"][0]["uid"], kOwner.uid);
  EXPECT_EQ(policy["spec"]["targetRefs"],
            json::parse(R"([{"group":"gateway.networking.k8s.io","kind":"HTTPRoute",
                            "name":"checkout"}])"));
  EXPECT_FALSE(policy["spec"].contains("targetRef"));
}

TEST(BackendTrafficPolicy, EachSettingAlone) {
  engine::Resilience lb;
  lb.loadBalancer = "Random";
  EXPECT_EQ(render(lb)["spec"]["loadBalancer"], json({{"type", "Random"}}));
  EXPECT_FALSE(render(lb)["spec"].contains("healthCheck"));

  engine::Resilience active;
  active.activeHealthCheck = engine::HealthCheck{"/ready", 500ms, 1, 1};
  const auto check = render(active)["spec"]["healthCheck"];
  EXPECT_FALSE(check.contains("passive"));
  EXPECT_EQ(check["active"]["interval"], "500ms");
  EXPECT_EQ(check["active"]["timeout"], "500ms") << "a check never outlives its interval";
  EXPECT_EQ(check["active"]["http"]["path"], "/ready");

  engine::Resilience passive;
  passive.consecutiveErrors = 3;
  const auto p = render(passive)["spec"]["healthCheck"]["passive"];
  EXPECT_EQ(p["consecutive5XxErrors"], 3);
  EXPECT_EQ(p["maxEjectionPercent"], 100);
  EXPECT_EQ(p["baseEjectionTime"], "30s");
  EXPECT_FALSE(render(passive)["spec"]["healthCheck"].contains("active"));
  EXPECT_FALSE(render(passive)["spec"].contains("loadBalancer")) << "empty: Envoy's default";

  engine::Resilience limit;
  limit.maxConcurrentRequests = 40;
  // Envoy counts per rule (its destinations together): 40 for each of up to three.
  EXPECT_EQ(render(limit)["spec"]["circuitBreaker"], json({{"maxConnections", 120},
                                                           {"maxParallelRequests", 120},
                                                           {"maxPendingRequests", 120},
                                                           {"maxParallelRetries", 1024}}));
}

TEST(BackendTrafficPolicy, NoneWithoutSettings) {
  auto none = renderBackendTrafficPolicy(kOwner, route(std::nullopt), "checkout");
  ASSERT_TRUE(none.hasValue());
  EXPECT_FALSE(none->has_value());
  auto empty = renderBackendTrafficPolicy(kOwner, route(engine::Resilience{}), "checkout");
  ASSERT_TRUE(empty.hasValue());
  EXPECT_FALSE(empty->has_value());
}

TEST(BackendTrafficPolicy, LimitsStayInEnvoysRange) {
  engine::Resilience limit;
  limit.maxConcurrentRequests = 2'000'000'000;
  EXPECT_EQ(render(limit)["spec"]["circuitBreaker"]["maxConnections"], 4'294'967'295LL);
}

TEST(BackendTrafficPolicy, InvalidSettingsNameTheRoute) {
  struct Case {
    void (*mutate)(engine::Resilience&);
    const char* part;
  };
  const Case cases[] = {
      {[](auto& r) { r.loadBalancer = "Fastest"; }, "loadBalancer \"Fastest\""},
      {[](auto& r) { r.activeHealthCheck->path = "/a b"; }, "activeHealthCheck.path"},
      {[](auto& r) { r.activeHealthCheck->path = "health"; }, "absolute path"},
      {[](auto& r) { r.activeHealthCheck->path = "/x\"y"; }, "quotes"},
      {[](auto& r) { r.activeHealthCheck->interval = 0ms; }, "interval 0ms"},
      {[](auto& r) { r.activeHealthCheck->unhealthyThreshold = 0; }, "thresholds"},
      {[](auto& r) { r.consecutiveErrors = -1; }, "consecutiveErrors -1"},
      {[](auto& r) { r.maxConcurrentRequests = 0; }, "maxConcurrentRequests 0"},
  };
  for (const auto& c : cases) {
    auto r = everything();
    c.mutate(r);
    auto policy = renderBackendTrafficPolicy(kOwner, route(r), "checkout");
    ASSERT_FALSE(policy.hasValue()) << c.part;
    EXPECT_NE(policy.error().find("route checkout resilience: "), std::string::npos)
        << policy.error();
    EXPECT_NE(policy.error().find(c.part), std::string::npos) << policy.error();
  }
}

// v1.6.7 accepts ^([0-9]{1,5}(h|m|s|ms)){1,4}$, v1.2.8 a Go duration: both take these.
TEST(BackendTrafficPolicy, DurationsBothReleasesAccept) {
  EXPECT_EQ(envoyDuration(10s), "10s");
  EXPECT_EQ(envoyDuration(1500ms), "1s500ms");
  EXPECT_EQ(envoyDuration(90s), "1m30s");
  EXPECT_EQ(envoyDuration(100'000ms), "1m40s");
  EXPECT_EQ(envoyDuration(std::chrono::hours(24)), "24h");
  EXPECT_EQ(envoyDuration(std::chrono::hours(1) + 1ms), "1h1ms");
  EXPECT_EQ(envoyDuration(0ms), "0s");
}

}  // namespace
}  // namespace sluice::render::gatewayapi
