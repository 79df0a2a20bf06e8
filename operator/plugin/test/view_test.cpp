#include "operator/plugin/view.h"

#include <gtest/gtest.h>

#include "operator/common/rfc3339.h"

namespace sluice::plugin {
namespace {

using kube::Object;

const Clock::TimePoint kNow = *parseRfc3339("2026-11-26T12:00:00Z");

Object rollout(const std::string& phase, const char* ready = "False") {
  return Object::parse(R"({
    "kind": "CanaryRollout",
    "metadata": {"name": "pay", "namespace": "shop", "generation": 2,
                 "creationTimestamp": "2026-11-26T11:55:00Z"},
    "spec": {"stable": {"serviceRef": {"name": "pay-stable", "port": 80}},
             "canary": {"serviceRef": {"name": "pay-canary", "port": 80}},
             "steps": [10, 50, 100], "stepInterval": "1m",
             "analysis": {"failureLimit": 2,
                          "metrics": [{"name": "error-rate", "query": "q",
                                       "thresholdRange": {"max": "0.05"}}]}},
    "status": {"observedGeneration": 2, "phase": ")" +
                       phase + R"(", "currentStep": 1, "canaryWeight": 50,
               "stepStartedAt": "2026-11-26T11:59:30Z",
               "analysis": {"lastRunAt": "2026-11-26T11:59:55Z", "failures": 0,
                            "metrics": [{"name": "error-rate", "value": 0.012,
                                         "result": "Pass"}]},
               "conditions": [{"type": "Ready", "status": ")" +
                       ready + R"(", "reason": "R"},
                              {"type": "Reconciling", "status": "True", "reason": "R"}]}})");
}

TEST(View, KindsByEveryName) {
  EXPECT_STREQ(findKind("cr")->name, "CanaryRollout");
  EXPECT_STREQ(findKind("CanaryRollouts")->name, "CanaryRollout");
  EXPECT_STREQ(findKind("tp")->name, "TrafficPolicy");
  EXPECT_STREQ(findKind("tierlimit.sluice.dev")->name, "TierLimit");
  EXPECT_EQ(findKind("deployment"), nullptr);
}

TEST(View, ProgressBarFillsByPercent) {
  EXPECT_EQ(progressBar(0, 4), "[\u2591\u2591\u2591\u2591] 0%");
  EXPECT_EQ(progressBar(50, 4), "[\u2588\u2588\u2591\u2591] 50%");
  EXPECT_EQ(progressBar(100, 4), "[\u2588\u2588\u2588\u2588] 100%");
  EXPECT_EQ(progressBar(140, 2), "[\u2588\u2588] 100%");
}

TEST(View, RowOfARollout) {
  const auto row = rowOf(rollout("Progressing"), kNow);
  EXPECT_EQ(row.kind, "canaryrollout");
  EXPECT_EQ(row.status, "Progressing");
  EXPECT_EQ(row.health, "Progressing");
  EXPECT_EQ(row.detail, "step 2/3, 50% canary");
  EXPECT_EQ(row.age, "5m");
  const auto text = table({row}, true);
  EXPECT_NE(text.find("NAMESPACE   NAME"), std::string::npos) << text;
  EXPECT_NE(text.find("shop        canaryrollout/pay"), std::string::npos) << text;
}

TEST(View, HealthFollowsWhatGitOpsToolsShow) {
  EXPECT_EQ(healthOf(rollout("Paused", "True")), "Suspended");
  auto rolledBack = rollout("RolledBack");
  rolledBack["status"]["conditions"] =
      Object::parse(R"([{"type": "Stalled", "status": "True", "reason": "ErrorSpike"}])");
  EXPECT_EQ(healthOf(rolledBack), "Degraded");
  auto done = rollout("Succeeded", "True");
  done["status"]["conditions"][1]["status"] = "False";
  EXPECT_EQ(healthOf(done), "Healthy");
  EXPECT_EQ(healthOf(Object::parse(R"({"kind": "TierLimit"})")), "Unknown");
}

TEST(View, CanaryScreenShowsStepMetricsAndTimeToNextStep) {
  const auto screen = statusScreen(rollout("Progressing"), {}, nullptr, kNow);
  EXPECT_NE(screen.find("CanaryRollout shop/pay"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Canary:   pay-canary   Stable: pay-stable"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Step:     2/3"), std::string::npos) << screen;
  EXPECT_NE(screen.find("50%"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Next step: in 30s"), std::string::npos) << screen;
  EXPECT_NE(screen.find("error-rate"), std::string::npos) << screen;
  EXPECT_NE(screen.find("0.012"), std::string::npos) << screen;
  EXPECT_NE(screen.find("<= 0.05"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Pass"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Events: none"), std::string::npos) << screen;
}

TEST(View, PolicyScreenShowsBackendsShiftAndCost) {
  const auto policy = Object::parse(R"({
    "kind": "TrafficPolicy",
    "metadata": {"name": "checkout", "namespace": "shop"},
    "spec": {"strategy": "Hybrid", "provider": "haproxy", "hostnames": ["checkout.example.com"],
             "budget": {"maxCostPerHour": "10"}},
    "status": {"backends": [{"name": "eastus", "weight": 80, "healthy": true, "state": "Healthy",
                             "costPerHour": "2.5"},
                            {"name": "westeu", "weight": 20, "healthy": false,
                             "state": "Draining", "step": 2, "errorRate": 0.4}],
               "shift": {"from": "westeu", "to": "eastus", "reason": "error rate 0.4"},
               "estimatedCostPerHour": "3"}})");
  const auto screen = statusScreen(policy, {}, nullptr, kNow);
  EXPECT_NE(screen.find("Strategy: Hybrid"), std::string::npos) << screen;
  EXPECT_NE(screen.find("westeu"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Draining (step 2)"), std::string::npos) << screen;
  EXPECT_NE(screen.find("unhealthy"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Shift in progress: westeu -> eastus"), std::string::npos) << screen;
  EXPECT_NE(screen.find("3/h of a budget of 10/h"), std::string::npos) << screen;
  EXPECT_EQ(detailOf(policy), "1/2 backends healthy, Hybrid");
}

TEST(View, TierLimitScreenShowsFloorScheduleAndNextChange) {
  const auto limit = Object::parse(R"({
    "kind": "TierLimit",
    "metadata": {"name": "tiers", "namespace": "shop"},
    "spec": {"tiers": [{"name": "premium", "requestsPerSecond": 100, "burst": 200}]},
    "status": {"hpa": {"name": "checkout", "minReplicas": 6, "activeSchedule": "business-hours",
                       "nextChange": "2026-11-26T13:00:00Z"}}})");
  const auto hpa = Object::parse(
      R"({"spec": {"maxReplicas": 20}, "status": {"currentReplicas": 6, "desiredReplicas": 6}})");
  const auto screen = statusScreen(limit, {}, &hpa, kNow);
  EXPECT_NE(screen.find("floor 6 now (schedule business-hours)"), std::string::npos) << screen;
  EXPECT_NE(screen.find("replicas 6 (desired 6, max 20)"), std::string::npos) << screen;
  EXPECT_NE(screen.find("(in 60m)"), std::string::npos) << screen;
  EXPECT_NE(screen.find("premium"), std::string::npos) << screen;
}

TEST(View, EventsNewestLastAtMostFive) {
  std::vector<Object> events;
  for (int i = 0; i < 7; ++i) {
    events.push_back({{"type", "Normal"},
                      {"reason", "Step" + std::to_string(i)},
                      {"note", "n"},
                      {"eventTime", "2026-11-26T11:59:0" + std::to_string(i) + ".000000Z"}});
  }
  const auto screen = statusScreen(rollout("Progressing"), events, nullptr, kNow);
  EXPECT_EQ(screen.find("Step1"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Step2"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Step6"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Events (last 5)"), std::string::npos) << screen;
}

TEST(View, SummaryLineChangesWithWhatMatters) {
  auto a = rollout("Progressing");
  auto b = a;
  EXPECT_EQ(summaryLine(a), summaryLine(b));
  b["status"]["canaryWeight"] = 100;
  EXPECT_NE(summaryLine(a), summaryLine(b));
  EXPECT_NE(summaryLine(a).find("error-rate=0.012:Pass"), std::string::npos) << summaryLine(a);
  // A value moving is not a change; a verdict is.
  auto c = a;
  c["status"]["analysis"]["metrics"][0]["value"] = 0.02;
  EXPECT_EQ(summaryLine(a, false), summaryLine(c, false));
  c["status"]["analysis"]["metrics"][0]["result"] = "Fail";
  EXPECT_NE(summaryLine(a, false), summaryLine(c, false));
  auto done = a;
  done["status"]["phase"] = "Succeeded";
  done["status"]["canaryWeight"] = 100;
  EXPECT_EQ(detailOf(done), "complete, 100% canary");
}

TEST(View, Durations) {
  EXPECT_EQ(durationSeconds("90s"), 90);
  EXPECT_EQ(durationSeconds("1m30s"), 90);
  EXPECT_EQ(durationSeconds("2h"), 7200);
  EXPECT_EQ(durationSeconds("soon"), std::nullopt);
  EXPECT_EQ(durationSeconds(""), std::nullopt);
}

}  // namespace
}  // namespace sluice::plugin
