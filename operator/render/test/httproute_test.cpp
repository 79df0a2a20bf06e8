#include "operator/render/gatewayapi/httproute.h"

#include <gtest/gtest.h>

#include "operator/engine/canary_route.h"
#include "operator/render/test/golden.h"

namespace sluice::render::gatewayapi {
namespace {

api::CanaryRollout rollout() {
  api::CanaryRollout r;
  r.metadata.name = "payment-api";
  r.metadata.namespace_ = "shop";
  r.metadata.uid = "6f1e2d3c-0000-4000-8000-000000000001";
  auto& spec = r.spec;
  spec.stable = {"payment-api-stable", 80};
  spec.canary = {"payment-api-canary", 8080};
  spec.route = api::RouteSpec{{{"edge", "gateways", "https"}, {"internal", "", ""}},
                              {"pay.example.com", "payments.example.com"},
                              "gatewayAPI"};
  spec.match = {{{{"X-Canary", "always", "Exact"}}},
                {{{"X-Tier", "beta|internal", "RegularExpression"}, {"X-Env", "qa", "Exact"}}}};
  return r;
}

engine::RoutePlan canaryPlan(std::int32_t percent, const api::CanaryRollout& r = rollout()) {
  return engine::canaryRoutePlan(r, percent, {"shop", "payment-api-stable", 80, ""},
                                 {"shop", "payment-api-canary", 8080, ""});
}

nlohmann::json render(const engine::RoutePlan& plan) {
  auto routes = renderHttpRoutes(plan);
  EXPECT_TRUE(routes.hasValue()) << routes.error();
  EXPECT_EQ(routes->size(), 1U);
  return routes->front();
}

TEST(HttpRoute, StepWeightGolden) {
  testing::expectGolden("httproute_weight25.json", render(canaryPlan(25)).dump(2) + "\n");
}

TEST(HttpRoute, RolledBackSendsNothingToCanaryGolden) {
  // Weight 0: every rule, spec.match ones included, gives the canary weight 0.
  const auto route = render(canaryPlan(0));
  testing::expectGolden("httproute_weight0.json", route.dump(2) + "\n");
  for (const auto& rule : route["spec"]["rules"]) {
    for (const auto& ref : rule["backendRefs"]) {
      if (ref["name"] == "payment-api-canary") {
        EXPECT_EQ(ref["weight"], 0) << rule.dump();
      } else {
        EXPECT_GT(ref["weight"].get<int>(), 0) << rule.dump();
      }
    }
  }
}

// Tenant lists, two regions at their own weights and the version headers with a revision:
// the rules Gateway API evaluates in plan order (one header each, equal precedence), every
// backendRef with its ResponseHeaderModifier. Checked against both Gateway API releases by
// e2e.chart.upstream-schema and, with CEL, e2e.chart.samples-kubectl.
// The edges of what validation lets through (issue 15): dotted header names, values with
// quotes, '#', '%[', backslashes and spaces, a 4096-character value. The golden is checked
// against both Gateway API releases' patterns and bounds by e2e.chart.upstream-schema, so a
// CR the operator accepts never makes an HTTPRoute the API server refuses.
TEST(HttpRoute, EdgeOfTheGrammarValuesGolden) {
  auto r = rollout();
  r.metadata.name = "edge.values-1";
  r.spec.stickiness = api::Stickiness{"X.Tenant_ID"};
  r.spec.match = {{{{"X.Canary_1", R"(o'brien "q" # %[src] \r\n ${HOME})", "Exact"}}},
                  {{{"X-Long", std::string(4096, 'v'), "Exact"}}},
                  {{{"X-Re", R"(^a\.b(c|d)*\\$)", "RegularExpression"}}}};
  r.spec.tenants = api::TenantOverrides{{"t #1 'x'"}, {"%[src]"}};
  r.spec.versionHeader = {true, "X-Sluice_Canary", "X-Sluice_Canary-Revision"};
  api::CanaryRolloutStatus status;
  status.canaryRevision = "0123456789abcdef";
  status.canaryWeight = 5;
  const auto route = render(engine::canaryRoutePlan(
      r, status, {"shop", "payment-api-stable", 80, ""}, {"shop", "payment-api-canary", 8080, ""}));
  testing::expectGolden("httproute_edge_values.json", route.dump(2) + "\n");
  // The value as written, one JSON string (quotes and backslashes JSON-escaped).
  const std::string value = R"(o'brien "q" # %[src] \r\n ${HOME})";
  EXPECT_NE(route.dump().find(nlohmann::json(value).dump()), std::string::npos);
}

TEST(HttpRoute, TenantsRegionsAndVersionHeadersGolden) {
  auto r = rollout();
  r.spec.match.clear();
  r.spec.stickiness = api::Stickiness{"X-Tenant-ID"};
  r.spec.tenants = api::TenantOverrides{{"internal-qa"}, {"regulated-bank", "o'brien"}};
  r.spec.regionHeader = "X-Geo-Region";
  r.spec.regions = {{"eu", {"eu-west-1", "eu-central-1"}, "", std::nullopt, {50, 100}},
                    {"us", {}, "", std::nullopt, {}}};
  api::CanaryRolloutStatus status;
  status.canaryRevision = "0123456789abcdef";
  status.canaryWeight = 5;
  status.regions = {{"eu", api::CanaryPhase::Progressing, 0, 50, "", "", {}},
                    {"us", api::CanaryPhase::Progressing, 0, 5, "", "", {}}};
  const auto route = render(engine::canaryRoutePlan(
      r, status, {"shop", "payment-api-stable", 80, ""}, {"shop", "payment-api-canary", 8080, ""}));
  testing::expectGolden("httproute_tenants_regions.json", route.dump(2) + "\n");
  const auto& rules = route["spec"]["rules"];
  ASSERT_EQ(rules.size(), 5U);
  EXPECT_EQ(rules[0]["matches"].size(), 2U);            // the two deny-listed tenants
  EXPECT_EQ(rules[2]["backendRefs"][1]["weight"], 50);  // eu at 50 %
  for (const auto& rule : rules) {
    for (const auto& ref : rule["backendRefs"]) {
      const auto& set = ref["filters"][0]["responseHeaderModifier"]["set"];
      EXPECT_EQ(set[0]["value"], ref["name"] == "payment-api-canary" ? "true" : "false");
    }
  }
}

TEST(HttpRoute, MoreMatchesThanGatewayApiAllowsIsAnErrorNamingTheRoute) {
  auto r = rollout();
  r.spec.match.clear();
  r.spec.stickiness = api::Stickiness{"X-Tenant-ID"};
  r.spec.tenants = api::TenantOverrides{};
  for (int i = 0; i < 64; ++i) {
    r.spec.tenants->canary.push_back("qa-" + std::to_string(i));
    r.spec.tenants->stable.push_back("bank-" + std::to_string(i));
  }
  auto ok = renderHttpRoutes(canaryPlan(10, r));  // 128 matches + the default rule's one
  ASSERT_FALSE(ok.hasValue());
  EXPECT_NE(ok.error().find("at most 64 a rule and 128 a route"), std::string::npos) << ok.error();
  r.spec.tenants->stable.pop_back();
  EXPECT_TRUE(renderHttpRoutes(canaryPlan(10, r)).hasValue());  // 127 + 1
}

TEST(HttpRoute, WholePercentsReadAsPercentsAndReadBack) {
  for (int w : {0, 5, 10, 25, 50, 75, 100}) {
    const auto route = render(canaryPlan(w));
    const auto& refs = route["spec"]["rules"].back()["backendRefs"];
    EXPECT_EQ(refs[0]["weight"].get<int>(), 100 - w);
    EXPECT_EQ(refs[1]["weight"].get<int>(), w);
    auto back = routeOf(route);
    ASSERT_TRUE(back.hasValue()) << back.error();
    EXPECT_EQ(back->rules.back().destinations[1].weight, engine::weightFromPercent(w));
  }
}

TEST(HttpRoute, SmallSharesKeepEveryUnit) {
  auto plan = canaryPlan(25);
  auto& dests = plan.routes[0].rules.back().destinations;
  dests[0].weight = engine::kWeightScale - 1;
  dests[1].weight = 1;
  const auto route = render(plan);
  const auto& refs = route["spec"]["rules"].back()["backendRefs"];
  EXPECT_EQ(refs[0]["weight"], 999999);
  EXPECT_EQ(refs[1]["weight"], 1);
  EXPECT_EQ(routeOf(route)->rules.back().destinations[1].weight, 1);
}

TEST(HttpRoute, OwnedAndLabelled) {
  const auto route = render(canaryPlan(5));
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

TEST(HttpRoute, LongOwnerNamesStillMakeAValidLabel) {
  auto r = rollout();
  r.metadata.name = std::string(200, 'a') + ".b";
  const auto route = render(canaryPlan(5, r));
  const std::string label = route["metadata"]["labels"]["sluice.dev/owner"];
  EXPECT_EQ(label.size(), 63U) << label;
  EXPECT_EQ(label.rfind("canaryrollout.aaaa", 0), 0U) << label;
  auto other = r;
  other.metadata.name = std::string(200, 'a') + ".c";
  EXPECT_NE(render(canaryPlan(5, other))["metadata"]["labels"]["sluice.dev/owner"], label);
}

TEST(HttpRoute, RequiresParentRefs) {
  auto r = rollout();
  r.spec.route->parentRefs.clear();
  auto routes = renderHttpRoutes(canaryPlan(5, r));
  ASSERT_FALSE(routes.hasValue());
  EXPECT_NE(routes.error().find("parentRefs"), std::string::npos) << routes.error();
}

TEST(HttpRoute, RulesGatewayApiCannotOrderAreRefused) {
  auto plan = canaryPlan(5);
  auto copy = plan.routes[0].rules[0];
  copy.name = "again";
  copy.priority = 7;
  plan.routes[0].rules.push_back(copy);
  auto routes = renderHttpRoutes(plan);
  ASSERT_FALSE(routes.hasValue());
  EXPECT_NE(routes.error().find("same matches"), std::string::npos) << routes.error();
}

TEST(HttpRoute, TierRulesMatchTheTierHeader) {
  auto plan = canaryPlan(5);
  plan.routes[0].tierHeader = "X-Tier";
  plan.routes[0].rules.back().tier = "premium";
  const auto route = render(plan);
  const auto& match = route["spec"]["rules"].back()["matches"][0];
  EXPECT_EQ(match["headers"][0],
            nlohmann::json({{"type", "Exact"}, {"name", "X-Tier"}, {"value", "premium"}}));
}

// Gateway API's schema caps a rule at 16 backendRefs (maxItems, v1.2.1 and v1.4.1): a plan
// past it fails naming the route, the rule and the count, rather than losing destinations.
TEST(HttpRoute, MoreThanSixteenDestinationsInARuleAreRefused) {
  engine::RoutePlan plan;
  plan.owner = {"sluice.dev/v1alpha1", "TrafficPolicy", "shop", "checkout", "uid-1"};
  engine::Route route;
  route.name = "checkout";
  route.parents = {{"edge", "", ""}};
  engine::Rule rule;
  rule.name = "default";
  auto withDestinations = [&](int count) {
    rule.destinations.clear();
    for (int i = 0; i < count; ++i) {
      const std::int32_t share = engine::kWeightScale / count;
      rule.destinations.push_back({"region-" + std::to_string(i),
                                   {"shop", "checkout-" + std::to_string(i), 80, ""},
                                   i == 0 ? engine::kWeightScale - share * (count - 1) : share,
                                   {}});
    }
    route.rules = {rule};
    plan.routes = {route};
    return renderHttpRoutes(plan);
  };
  auto sixteen = withDestinations(16);
  ASSERT_TRUE(sixteen.hasValue()) << sixteen.error();
  EXPECT_EQ(sixteen->front()["spec"]["rules"][0]["backendRefs"].size(), 16U);
  auto twenty = withDestinations(20);
  ASSERT_FALSE(twenty.hasValue());
  EXPECT_EQ(twenty.error(),
            "route checkout rule default: 20 destinations, Gateway API allows at most 16 "
            "backendRefs a rule");
}

TEST(HttpRoute, MoreThanSixteenRulesAreRefused) {
  auto plan = canaryPlan(5);
  auto& rules = plan.routes[0].rules;
  const auto model = rules.back();
  while (rules.size() < 17) {
    auto rule = model;
    rule.name = "extra-" + std::to_string(rules.size());
    rule.matches = {{{{"X-Extra", rule.name, "Exact"}}}};
    rules.push_back(rule);
  }
  auto routes = renderHttpRoutes(plan);
  ASSERT_FALSE(routes.hasValue());
  EXPECT_NE(routes.error().find("17 rules, Gateway API allows at most 16"), std::string::npos)
      << routes.error();
}

TEST(HttpRoute, RejectsForeignShapes) {
  EXPECT_FALSE(routeOf(nlohmann::json::object()).hasValue());
  EXPECT_FALSE(routeOf(nlohmann::json::parse(R"({"metadata":{"name":"x"},"spec":{}})")).hasValue());
}

}  // namespace
}  // namespace sluice::render::gatewayapi
