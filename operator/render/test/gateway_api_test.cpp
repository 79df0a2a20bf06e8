#include "operator/render/gateway_api.h"

#include <gtest/gtest.h>

#include "operator/render/test/golden.h"

namespace sluice::render {
namespace {

api::ObjectMeta rolloutMeta() {
  api::ObjectMeta meta;
  meta.name = "payment-api";
  meta.namespace_ = "shop";
  meta.uid = "6f1e2d3c-0000-4000-8000-000000000001";
  return meta;
}

api::CanaryRolloutSpec rolloutSpec() {
  api::CanaryRolloutSpec spec;
  spec.stable = {"payment-api-stable", 80};
  spec.canary = {"payment-api-canary", 8080};
  spec.route = api::RouteSpec{{{"edge", "gateways", "https"}, {"internal", "", ""}},
                              {"pay.example.com", "payments.example.com"},
                              "gatewayAPI"};
  spec.match = {{{{"X-Canary", "always", "Exact"}}},
                {{{"X-Tier", "beta|internal", "RegularExpression"}, {"X-Env", "qa", "Exact"}}}};
  return spec;
}

TEST(HttpRoute, StepWeightGolden) {
  auto route = renderCanaryHttpRoute(rolloutMeta(), rolloutSpec(), 25);
  ASSERT_TRUE(route.hasValue()) << route.error();
  testing::expectGolden("httproute_weight25.json", route->dump(2) + "\n");
}

TEST(HttpRoute, RolledBackSendsNothingToCanaryGolden) {
  // Weight 0: the spec.match rules are dropped too, so no request reaches the canary.
  auto route = renderCanaryHttpRoute(rolloutMeta(), rolloutSpec(), 0);
  ASSERT_TRUE(route.hasValue()) << route.error();
  testing::expectGolden("httproute_weight0.json", route->dump(2) + "\n");
  EXPECT_EQ((*route)["spec"]["rules"].size(), 1U);
}

TEST(HttpRoute, WeightsAlwaysSumToHundredAndReadBack) {
  for (int w : {0, 5, 10, 25, 50, 75, 100}) {
    auto route = renderCanaryHttpRoute(rolloutMeta(), rolloutSpec(), w);
    ASSERT_TRUE(route.hasValue());
    const auto& refs = (*route)["spec"]["rules"].back()["backendRefs"];
    EXPECT_EQ(refs[0]["weight"].get<int>() + refs[1]["weight"].get<int>(), 100);
    EXPECT_EQ(canaryWeightOf(*route, rolloutSpec()).value(), w);
  }
  auto clamped = renderCanaryHttpRoute(rolloutMeta(), rolloutSpec(), 140);
  EXPECT_EQ(canaryWeightOf(*clamped, rolloutSpec()).value(), 100);
}

TEST(HttpRoute, OwnedAndLabelled) {
  auto route = renderCanaryHttpRoute(rolloutMeta(), rolloutSpec(), 5).value();
  const auto& owner = route["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["apiVersion"], "sluice.dev/v1alpha1");
  EXPECT_EQ(owner["kind"], "CanaryRollout");
  EXPECT_EQ(owner["name"], "payment-api");
  EXPECT_EQ(owner["uid"], "6f1e2d3c-0000-4000-8000-000000000001");
  EXPECT_EQ(owner["controller"], true);
  EXPECT_EQ(owner["blockOwnerDeletion"], true);
  EXPECT_EQ(route["metadata"]["labels"]["app.kubernetes.io/managed-by"], "sluice");
  EXPECT_EQ(route["metadata"]["labels"]["sluice.dev/owner"], "canaryrollout.payment-api");
}

TEST(HttpRoute, RequiresARoute) {
  auto spec = rolloutSpec();
  spec.route.reset();
  EXPECT_FALSE(renderCanaryHttpRoute(rolloutMeta(), spec, 5).hasValue());
  spec = rolloutSpec();
  spec.route->parentRefs.clear();
  EXPECT_FALSE(renderCanaryHttpRoute(rolloutMeta(), spec, 5).hasValue());
}

TEST(HttpRoute, WeightOfRejectsForeignShapes) {
  EXPECT_FALSE(canaryWeightOf(nlohmann::json::object(), rolloutSpec()).hasValue());
  EXPECT_FALSE(canaryWeightOf(nlohmann::json::parse(R"({"spec":{"rules":[{"backendRefs":[
      {"name":"other","port":80,"weight":3}]}]}})"),
                              rolloutSpec())
                   .hasValue());
}

}  // namespace
}  // namespace sluice::render
