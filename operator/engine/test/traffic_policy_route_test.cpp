#include "operator/engine/traffic_policy_route.h"

#include <gtest/gtest.h>

namespace sluice::engine {
namespace {

api::TrafficPolicy policy() {
  api::TrafficPolicy p;
  p.metadata.name = "checkout";
  p.metadata.namespace_ = "shop";
  p.metadata.uid = "u1";
  p.spec.hostnames = {"checkout.example.com"};
  p.spec.parentRefs = {{"edge", "gateways", ""}};
  p.spec.strategy = api::LoadBalancingStrategy::LeastRequest;
  for (const char* name : {"eastus", "westeurope"}) {
    api::Backend b;
    b.name = name;
    b.serviceRef = {std::string("checkout-") + name, 8080};
    b.capacity.maxRequestsPerSecond = 100;
    p.spec.backends.push_back(b);
  }
  api::TrafficTier premium;
  premium.name = "premium";
  premium.match.headers = {{"X-Tier", "premium", "Exact"}};
  premium.priority = 1;
  premium.latencyTargetMilliseconds = 50;
  api::TrafficTier free;
  free.name = "free";
  free.match.headers = {{"X-Tier", "free", "Exact"}};
  free.priority = 3;
  free.latencyTargetMilliseconds = 200;
  free.burstAllowance = {1'500'000, "1.5"};
  p.spec.tiers = {premium, free};
  return p;
}

std::vector<RuleWeights> weights() {
  return {{"premium", api::LoadBalancingStrategy::WeightedResponseTime, {700'000, 300'000}},
          {"free", api::LoadBalancingStrategy::CostOptimized, {0, 1'000'000}},
          {"", api::LoadBalancingStrategy::LeastRequest, {500'000, 500'000}}};
}

std::vector<ServiceTarget> targets() {
  return {{"shop", "checkout-eastus", 8080, ""}, {"shop", "checkout-westeurope", 8080, ""}};
}

TEST(TrafficPolicyRoute, OneRoutePerPolicyTiersFirstDefaultLast) {
  const auto plan = trafficPolicyRoutePlan(policy(), weights(), targets());
  ASSERT_TRUE(validate(plan)) << validate(plan).error();
  EXPECT_EQ(plan.owner.key(), "TrafficPolicy/shop/checkout");
  ASSERT_EQ(plan.routes.size(), 1u);
  const auto& route = plan.routes[0];
  EXPECT_EQ(route.hostnames, std::vector<std::string>{"checkout.example.com"});
  ASSERT_EQ(route.rules.size(), 3u);
  EXPECT_EQ(route.rules[0].name, "tier-premium");
  EXPECT_EQ(route.rules[0].matches[0].headers[0].value, "premium");
  EXPECT_EQ(route.rules[0].queueClass, 1);
  EXPECT_EQ(route.rules[1].queueClass, 3);
  EXPECT_EQ(route.rules[2].name, "default");
  EXPECT_TRUE(route.rules[2].matches.empty());
  EXPECT_EQ(route.rules[2].queueClass, 4);  // behind every tier
  // Every backend is in every rule, at weight 0 too: a drain never changes the topology.
  EXPECT_EQ(route.rules[1].destinations[0].weight, 0);
  EXPECT_EQ(route.rules[1].destinations.size(), 2u);
  const auto order = evaluationOrder(route);
  EXPECT_EQ(order.back()->name, "default");
}

TEST(TrafficPolicyRoute, WeightsRoundTripAndTopologyIsStable) {
  const auto plan = trafficPolicyRoutePlan(policy(), weights(), targets());
  auto back = ruleWeightsOf(policy().spec, plan);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].weights, (std::vector<std::int32_t>{700'000, 300'000}));
  auto moved = weights();
  moved[2].weights = {0, 1'000'000};
  EXPECT_TRUE(sameTopology(plan, trafficPolicyRoutePlan(policy(), moved, targets())));
  auto other = policy();
  other.spec.tiers.pop_back();
  EXPECT_FALSE(ruleWeightsOf(other.spec, plan));
}

TEST(TrafficPolicyRoute, ResilienceFromSpec) {
  auto p = policy();
  p.spec.healthCheck.path = "/healthz";
  const auto r = resilienceOf(p.spec);
  EXPECT_EQ(r.loadBalancer, "LeastRequest");
  ASSERT_TRUE(r.activeHealthCheck);
  EXPECT_EQ(r.activeHealthCheck->path, "/healthz");
  EXPECT_EQ(r.consecutiveErrors, kConsecutiveErrors);
  // Little's law: 100 rps × 0.2 s (the slowest tier target) × 1.5 burst = 30 in flight.
  EXPECT_EQ(r.maxConcurrentRequests, 30);
  p.spec.tiers.clear();
  EXPECT_FALSE(resilienceOf(p.spec).maxConcurrentRequests);
}

}  // namespace
}  // namespace sluice::engine
