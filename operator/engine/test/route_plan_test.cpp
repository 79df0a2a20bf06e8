#include "operator/engine/route_plan.h"

#include <gtest/gtest.h>

#include <numeric>

#include "operator/engine/canary_route.h"

namespace sluice::engine {
namespace {

api::CanaryRollout rollout() {
  api::CanaryRollout r;
  r.metadata.name = "pay";
  r.metadata.namespace_ = "shop";
  r.metadata.uid = "uid-1";
  r.spec.route = api::RouteSpec{{}, {"pay.example.com"}, "haproxy"};
  r.spec.stickiness = api::Stickiness{"X-Tenant-ID"};
  r.spec.match = {{{{"X-Canary", "always", "Exact"}}}, {}};
  return r;
}

RoutePlan canary(std::int32_t percent) {
  return canaryRoutePlan(rollout(), percent, {"shop", "pay-stable", 80, ""},
                         {"shop", "pay-canary", 80, ""});
}

TEST(RoutePlan, PercentStepsMapExactlyOntoTheScale) {
  EXPECT_EQ(weightFromPercent(0), 0);
  EXPECT_EQ(weightFromPercent(5), 50'000);
  EXPECT_EQ(weightFromPercent(100), kWeightScale);
  EXPECT_EQ(weightFromPercent(140), kWeightScale);
  EXPECT_EQ(weightFromPercent(-3), 0);
}

TEST(RoutePlan, CanaryPlanIsValidAtEveryStepAndOnlyWeightsMove) {
  const auto zero = canary(0);
  ASSERT_TRUE(validate(zero).hasValue()) << validate(zero).error();
  // One match rule (the empty match entry is skipped) and the default rule.
  ASSERT_EQ(zero.routes.size(), 1U);
  ASSERT_EQ(zero.routes[0].rules.size(), 2U);
  EXPECT_EQ(zero.routes[0].rules[1].stickinessHeader, "X-Tenant-ID");
  for (int p : {1, 5, 10, 25, 50, 75, 100}) {
    const auto plan = canary(p);
    ASSERT_TRUE(validate(plan).hasValue()) << validate(plan).error();
    EXPECT_TRUE(sameTopology(zero, plan)) << p;
    EXPECT_EQ(plan.routes[0].rules[1].destinations[1].weight, weightFromPercent(p));
    // The match rule sends everything to the canary while it has any weight.
    EXPECT_EQ(plan.routes[0].rules[0].destinations[1].weight, kWeightScale);
  }
  EXPECT_EQ(zero.routes[0].rules[0].destinations[1].weight, 0);
  auto moved = canary(5);
  moved.routes[0].hostnames.push_back("other.example.com");
  EXPECT_FALSE(sameTopology(canary(5), moved));
}

TEST(RoutePlan, ValidateNamesWhatIsWrong) {
  auto plan = canary(5);
  plan.routes[0].rules[1].destinations[1].weight += 1;
  auto v = validate(plan);
  ASSERT_FALSE(v.hasValue());
  EXPECT_NE(v.error().find("rule default: weights sum to 1000001"), std::string::npos) << v.error();
  plan = canary(5);
  plan.routes[0].rules[0].destinations[1].service.port = 81;
  v = validate(plan);
  ASSERT_FALSE(v.hasValue());
  EXPECT_NE(v.error().find("destination canary: names another Service"), std::string::npos)
      << v.error();
  plan = canary(5);
  plan.routes[0].rules[0].tier = "gold";
  EXPECT_FALSE(validate(plan).hasValue());
}

TEST(RoutePlan, EvaluationOrderIsPriorityThenPlanOrder) {
  Route route;
  for (auto [name, priority] : {std::pair{"a", 0}, {"b", 5}, {"c", 0}, {"d", 5}}) {
    Rule r;
    r.name = name;
    r.priority = priority;
    route.rules.push_back(r);
  }
  std::string order;
  for (const auto* r : evaluationOrder(route)) {
    order += r->name;
  }
  EXPECT_EQ(order, "bdac");
}

TEST(Rescale, KeepsTheTotalAndNeverRoundsAShareAway) {
  // 1 ppm of a 1,000,000 split onto HAProxy's 0..256 server weights.
  auto w = rescale({999'999, 1}, 256);
  ASSERT_TRUE(w.hasValue());
  EXPECT_EQ(*w, (std::vector<std::int32_t>{255, 1}));
  w = rescale({333'334, 333'333, 333'333}, 100);
  ASSERT_TRUE(w.hasValue());
  EXPECT_EQ(std::accumulate(w->begin(), w->end(), 0), 100);
  EXPECT_EQ(*w, (std::vector<std::int32_t>{34, 33, 33}));
  EXPECT_EQ(*rescale({0, 0}, 100), (std::vector<std::int32_t>{0, 0}));
  EXPECT_EQ(*rescale({750'000, 250'000}, 100), (std::vector<std::int32_t>{75, 25}));
  EXPECT_FALSE(rescale({1, 1, 1}, 2).hasValue());
  EXPECT_FALSE(rescale({-1, 2}, 2).hasValue());
}

}  // namespace
}  // namespace sluice::engine
