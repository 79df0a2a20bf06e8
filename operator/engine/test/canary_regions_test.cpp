// decideRollout() with spec.regions and spec.tenants, and the route plan those produce.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "operator/api/conditions.h"
#include "operator/engine/canary.h"
#include "operator/engine/canary_route.h"

namespace sluice::engine {
namespace {

using api::CanaryPhase;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const TimePoint kT0{seconds{1'700'000'000}};
TimePoint at(int s) {
  return kT0 + seconds{s};
}

api::CanaryRollout makeRollout() {
  api::CanaryRollout r;
  r.metadata.name = "pay";
  r.metadata.namespace_ = "shop";
  auto& spec = r.spec;
  spec.stable = {"pay-stable", 80};
  spec.canary = {"pay-canary", 80};
  spec.route = api::RouteSpec{};
  spec.route->provider = "haproxy";
  spec.route->hostnames = {"pay.example.com"};
  spec.stepInterval = seconds{60};
  spec.analysis.interval = seconds{30};
  spec.analysis.minRequests = 0;
  spec.stickiness = api::Stickiness{"X-Tenant-ID"};
  spec.regionHeader = "X-Geo-Region";
  spec.regions = {{"eu", {"eu-west-1", "eu-west-2"}, "", std::nullopt, {50, 100}},
                  {"us", {}, "", std::nullopt, {}}};
  return r;
}

AnalysisResult ok(int s) {
  AnalysisResult r;
  r.measuredAt = at(s);
  return r;
}

class RegionsTest : public ::testing::Test {
 public:
  CanaryPlan step(int s, std::map<std::string, AnalysisResult> analyses = {},
                  RequestedActions actions = {}, ActionRegions in = {}) {
    CanaryObservation obs;
    obs.generation = 1;
    obs.canaryRevision = "rev1";
    obs.actions = actions;
    obs.actionRegions = std::move(in);
    obs.regionAnalyses = std::move(analyses);
    CanaryPlan plan = decideRollout(rollout.spec, rollout.status, obs, at(s));
    rollout.status = plan.status;
    return plan;
  }
  const api::RegionStatus& region(const std::string& name) {
    for (const auto& g : rollout.status.regions) {
      if (g.name == name) {
        return g;
      }
    }
    throw std::runtime_error("no region " + name);
  }
  api::CanaryRollout rollout = makeRollout();
};

TEST_F(RegionsTest, EachRegionStartsAtItsOwnFirstStepAndTheLowestIsTheTopLevelWeight) {
  auto plan = step(0);
  EXPECT_EQ(region("eu").canaryWeight, 50);
  EXPECT_EQ(region("us").canaryWeight, 5);
  EXPECT_EQ(plan.status.canaryWeight, 5);
  EXPECT_EQ(plan.canaryWeight, 5);
  EXPECT_EQ(plan.status.phase, CanaryPhase::Progressing);
  ASSERT_EQ(plan.events.size(), 2U);
  EXPECT_THAT(plan.events[0].message, HasSubstr("region eu: "));
  EXPECT_THAT(plan.status.message, HasSubstr("us: step 1/6 (5%)"));
}

TEST_F(RegionsTest, ARegionAdvancesOnItsOwnAnalysis) {
  step(0);
  step(30, {{"eu", ok(30)}});
  auto plan = step(61, {{"eu", ok(61)}});
  EXPECT_EQ(region("eu").canaryWeight, 100);  // eu's second (last) step
  EXPECT_EQ(region("eu").currentStep, 1);
  EXPECT_EQ(region("us").canaryWeight, 5);  // no analysis for us: it holds
  EXPECT_EQ(plan.status.canaryWeight, 5);
}

TEST_F(RegionsTest, AnAbortNamingOneRegionLeavesTheOthersWhereTheyAre) {
  step(0);
  auto plan = step(5, {}, {false, true, false}, {{}, {"us"}, {}});
  EXPECT_EQ(region("us").phase, CanaryPhase::RolledBack);
  EXPECT_EQ(region("us").canaryWeight, 0);
  EXPECT_EQ(region("eu").phase, CanaryPhase::Progressing);
  EXPECT_EQ(region("eu").canaryWeight, 50);
  EXPECT_EQ(plan.status.phase, CanaryPhase::Progressing);
  EXPECT_THAT(plan.consumedAnnotations, ElementsAre(kAbortAnnotation));
  const auto* degraded = api::findCondition(plan.status.conditions, api::kConditionDegraded);
  ASSERT_NE(degraded, nullptr);
  EXPECT_EQ(degraded->status, api::kConditionTrue);
  EXPECT_THAT(degraded->message, HasSubstr("us"));
}

TEST_F(RegionsTest, RegionRollbackAllRollsBackEveryRegion) {
  rollout.spec.regionRollback = api::RegionRollback::All;
  step(0);
  auto plan = step(5, {}, {false, true, false}, {{}, {"us"}, {}});
  EXPECT_EQ(region("eu").phase, CanaryPhase::RolledBack);
  EXPECT_EQ(region("eu").canaryWeight, 0);
  EXPECT_EQ(plan.status.phase, CanaryPhase::RolledBack);
  EXPECT_THAT(region("eu").message, HasSubstr("region us rolled back"));
}

TEST_F(RegionsTest, AnUnknownRegionIsConsumedWithAWarning) {
  step(0);
  auto plan = step(5, {}, {false, true, false}, {{}, {"mars"}, {}});
  EXPECT_EQ(plan.status.phase, CanaryPhase::Progressing);
  EXPECT_THAT(plan.consumedAnnotations, ElementsAre(kAbortAnnotation));
  ASSERT_FALSE(plan.events.empty());
  EXPECT_EQ(plan.events.back().reason, "UnknownRegion");
}

TEST_F(RegionsTest, SucceededAndRolledBackRegionsReadRolledBack) {
  step(0);
  step(5, {}, {false, true, false}, {{}, {"us"}, {}});
  auto plan = step(6, {}, {true, false, false}, {{"eu"}, {}, {}});
  EXPECT_EQ(region("eu").phase, CanaryPhase::Succeeded);
  EXPECT_EQ(plan.status.phase, CanaryPhase::RolledBack);
  EXPECT_EQ(plan.canaryWeight, 0);
}

TEST_F(RegionsTest, RoutePlanHasOneStickyRuleARegionWithItsOwnDestinations) {
  step(0);
  const auto plan = canaryRoutePlan(rollout, rollout.status, {"shop", "pay-stable", 80, ""},
                                    {"shop", "pay-canary", 80, ""});
  ASSERT_TRUE(validate(plan));
  const auto& rules = plan.routes[0].rules;
  ASSERT_EQ(rules.size(), 3U);
  EXPECT_EQ(rules[0].name, "region-eu");
  ASSERT_EQ(rules[0].matches.size(), 2U);
  EXPECT_EQ(rules[0].matches[1].headers[0].value, "eu-west-2");
  EXPECT_EQ(rules[0].stickinessHeader, "X-Tenant-ID");
  EXPECT_EQ(rules[0].destinations[1].name, "canary-eu");
  EXPECT_EQ(rules[0].destinations[1].weight, weightFromPercent(50));
  EXPECT_EQ(rules[1].matches[0].headers[0].value, "us");  // no values: the name
  EXPECT_EQ(rules[1].destinations[1].weight, weightFromPercent(5));
  EXPECT_EQ(rules[2].name, kDefaultRule);
  EXPECT_EQ(rules[2].destinations[1].weight, weightFromPercent(5));
}

TEST(TenantsTest, OverridesComeFirstAndFollowTheCanaryHavingAnyWeight) {
  api::CanaryRollout rollout = makeRollout();
  rollout.spec.regions.clear();
  rollout.spec.regionHeader.clear();
  rollout.spec.tenants = api::TenantOverrides{{"qa"}, {"bank"}};
  rollout.status.canaryWeight = 10;
  auto plan =
      canaryRoutePlan(rollout, rollout.status, {"shop", "s", 80, ""}, {"shop", "c", 80, ""});
  ASSERT_TRUE(validate(plan));
  const auto& rules = plan.routes[0].rules;
  ASSERT_EQ(rules.size(), 3U);
  EXPECT_EQ(rules[0].name, "tenants-stable");
  EXPECT_EQ(rules[0].matches[0].headers[0].name, "X-Tenant-ID");
  EXPECT_EQ(rules[0].matches[0].headers[0].value, "bank");
  EXPECT_EQ(rules[0].destinations[1].weight, 0);
  EXPECT_EQ(rules[1].name, "tenants-canary");
  EXPECT_EQ(rules[1].destinations[1].weight, kWeightScale);
  EXPECT_EQ(rules[2].destinations[1].weight, weightFromPercent(10));

  rollout.status.canaryWeight = 0;  // rolled back: the allow list goes to stable too
  plan = canaryRoutePlan(rollout, rollout.status, {"shop", "s", 80, ""}, {"shop", "c", 80, ""});
  EXPECT_EQ(plan.routes[0].rules[1].destinations[1].weight, 0);
  rollout.status.canaryWeight = 100;  // promoted: the deny list stays on stable
  plan = canaryRoutePlan(rollout, rollout.status, {"shop", "s", 80, ""}, {"shop", "c", 80, ""});
  EXPECT_EQ(plan.routes[0].rules[0].destinations[1].weight, 0);
}

TEST(TenantsTest, StatusCountsTheOverridesInForce) {
  api::CanaryRollout rollout = makeRollout();
  rollout.spec.regions.clear();
  rollout.spec.regionHeader.clear();
  rollout.spec.tenants = api::TenantOverrides{{"qa", "qa2"}, {"bank"}};
  CanaryObservation obs;
  obs.generation = 1;
  obs.canaryRevision = "rev1";
  auto plan = decideRollout(rollout.spec, rollout.status, obs, at(0));
  ASSERT_TRUE(plan.status.tenants);
  EXPECT_EQ(plan.status.tenants->canary, 2);
  EXPECT_EQ(plan.status.tenants->stable, 1);
  obs.actions.abort = true;
  plan = decideRollout(rollout.spec, plan.status, obs, at(1));
  EXPECT_EQ(plan.status.tenants->canary, 0);
}

TEST(VersionHeadersTest, EachSideSaysWhoServedItAndTheCanaryItsRevision) {
  api::CanaryRolloutSpec spec;
  EXPECT_THAT(versionHeaders(spec, false, "abc"),
              ElementsAre(HeaderValue{"X-Sluice-Canary", "false"}));
  EXPECT_THAT(versionHeaders(spec, true, "abc"),
              ElementsAre(HeaderValue{"X-Sluice-Canary", "true"},
                          HeaderValue{"X-Sluice-Canary-Revision", "abc"}));
  spec.versionHeader.revisionName.clear();
  EXPECT_EQ(versionHeaders(spec, true, "abc").size(), 1U);
  spec.versionHeader.enabled = false;
  EXPECT_TRUE(versionHeaders(spec, true, "abc").empty());
}

TEST(VersionHeadersTest, ADestinationWithOtherHeadersInAnotherRuleIsInvalid) {
  api::CanaryRollout rollout = makeRollout();
  rollout.status.canaryRevision = "r";
  auto plan = canaryRoutePlan(rollout, 10, {"shop", "s", 80, ""}, {"shop", "c", 80, ""});
  plan.routes[0].rules[0].destinations[1].responseHeaders = {};
  plan.routes[0].rules[0].destinations[1].name = "canary";
  plan.routes[0].rules[2].destinations[1].responseHeaders = {{"X-Other", "1"}};
  auto valid = validate(plan);
  ASSERT_FALSE(valid);
  EXPECT_THAT(valid.error(), HasSubstr("response headers"));
}

}  // namespace
}  // namespace sluice::engine
