#include "operator/api/status_json.h"

#include <gtest/gtest.h>

#include "operator/api/parse.h"
#include "operator/api/units.h"
#include "operator/common/rfc3339.h"

namespace sluice::api {
namespace {

using nlohmann::json;

std::vector<Condition> someConditions() {
  return {Condition{"Ready", "False", "InvalidSpec", "spec.steps[2]: must be greater than 25",
                    "2026-11-23T10:00:00Z", 4},
          Condition{"Progressing", "True", "StepAdvanced", "", "2026-11-23T10:01:00Z", 4}};
}

TEST(CanaryStatusJson, WritesTheDocumentedShape) {
  CanaryRolloutStatus s;
  s.observedGeneration = 4;
  s.phase = CanaryPhase::RolledBack;
  s.currentStep = 2;
  s.canaryWeight = 0;
  s.stepStartedAt = "2026-11-23T10:00:00Z";
  s.message = "error-rate 0.2 above 0.01";
  s.analysis.failures = 3;
  s.analysis.metrics = {MetricStatus{"error-rate", 0.2, MetricResult::Fail, ""}};
  const json j = toJson(s);
  EXPECT_EQ(j["phase"], "RolledBack");
  EXPECT_EQ(j["currentStep"], 2);
  EXPECT_EQ(j["canaryWeight"], 0);
  EXPECT_EQ(j["observedGeneration"], 4);
  EXPECT_EQ(j["analysis"]["metrics"][0]["result"], "Fail");
  EXPECT_DOUBLE_EQ(j["analysis"]["metrics"][0]["value"].get<double>(), 0.2);
  EXPECT_FALSE(j["analysis"].contains("lastRunAt"));  // omitted while empty
  EXPECT_FALSE(j.contains("canaryRevision"));
  EXPECT_TRUE(j["conditions"].is_array());
}

TEST(CanaryStatusJson, RoundTrips) {
  CanaryRolloutStatus s;
  s.observedGeneration = 7;
  s.phase = CanaryPhase::Progressing;
  s.currentStep = 3;
  s.canaryWeight = 50;
  s.stepStartedAt = formatRfc3339(FakeClock().now());
  s.canaryRevision = "rev-9";
  s.message = "holding: inconclusive";
  s.analysis.lastRunAt = "2026-11-23T10:02:00Z";
  s.analysis.failures = 1;
  s.analysis.metrics = {
      MetricStatus{"error-rate", 0.001, MetricResult::Pass, ""},
      MetricStatus{"latency-p99", std::nullopt, MetricResult::Inconclusive, "no data"}};
  s.conditions = someConditions();
  const auto back = parseCanaryRolloutStatus(toJson(s));
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(*back, s);
}

TEST(TrafficPolicyStatusJson, RoundTrips) {
  TrafficPolicyStatus s;
  s.observedGeneration = 2;
  s.activeBackends = 2;
  s.message = "shifting";
  s.backends = {BackendStatus{"eastus", 70, true, 0.001, 42.5, decimalFromMicros(1'250'000),
                              "Healthy", 0, "", "2026-11-23T09:00:00Z", ""},
                BackendStatus{"westeu", 30, false, 0.2, std::nullopt, std::nullopt, "Draining", 3,
                              "2026-11-23T09:59:12Z", "", "error rate 0.2 above 0.05"}};
  s.decision = DecisionStatus{"Hybrid", "2026-11-23T10:00:00Z", 87};
  s.shift = ShiftStatus{"error rate 0.2 above 0.05", "westeu", "eastus", "2026-11-23T09:59:00Z", 3};
  s.estimatedCostPerHour = decimalFromMicros(12'340'000);
  s.conditions = someConditions();
  const json j = toJson(s);
  EXPECT_EQ(j["estimatedCostPerHour"], "12.34");
  EXPECT_EQ(j["backends"][0]["costPerHour"], "1.25");
  EXPECT_FALSE(j["backends"][1].contains("latencyP99Milliseconds"));
  const auto back = parseTrafficPolicyStatus(j);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(*back, s);
}

TEST(TrafficPolicyStatusJson, EmptyStatusOmitsOptionalParts) {
  const json j = toJson(TrafficPolicyStatus{});
  EXPECT_FALSE(j.contains("shift"));
  EXPECT_FALSE(j.contains("decision"));
  EXPECT_FALSE(j.contains("estimatedCostPerHour"));
  EXPECT_EQ(*parseTrafficPolicyStatus(j), TrafficPolicyStatus{});
}

TEST(TierLimitStatusJson, RoundTrips) {
  TierLimitStatus s;
  s.observedGeneration = 5;
  s.hpa = HpaStatus{"checkout-tiers", 6, "business-hours", "2026-11-23T17:00:00Z"};
  s.message = "HPA in place";
  s.conditions = someConditions();
  const json j = toJson(s);
  EXPECT_EQ(j["hpa"]["activeSchedule"], "business-hours");
  const auto back = parseTierLimitStatus(j);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(*back, s);
}

TEST(ConditionJson, FollowsMetav1Condition) {
  const json j = toJson(someConditions()[0]);
  EXPECT_EQ(j, json::parse(R"({"type": "Ready", "status": "False", "reason": "InvalidSpec",
      "message": "spec.steps[2]: must be greater than 25",
      "lastTransitionTime": "2026-11-23T10:00:00Z", "observedGeneration": 4})"));
}

}  // namespace
}  // namespace sluice::api
