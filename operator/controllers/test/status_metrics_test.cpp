#include "operator/controllers/status_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::controllers {
namespace {

using kube::Object;

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(StatusMetrics, CanaryRolloutStatusAsGauges) {
  const Object rollout = Object::parse(R"({
    "metadata": {"name": "pay", "namespace": "shop"},
    "spec": {"steps": [10, 50, 100],
             "analysis": {"metrics": [{"name": "error-rate", "query": "q",
                                       "thresholdRange": {"max": "0.05"}}]}},
    "status": {"phase": "Progressing", "currentStep": 1, "canaryWeight": 50,
               "analysis": {"metrics": [{"name": "error-rate", "value": 0.01, "result": "Pass"}]},
               "regions": [{"name": "eu", "canaryWeight": 25}],
               "conditions": [{"type": "Progressing", "status": "True",
                               "reason": "AnalysisInconclusive"}]}})");
  kube::Metrics out;
  canaryRolloutMetrics(rollout, out);
  const auto text = out.render();
  const std::string id = R"(name="pay",namespace="shop")";
  EXPECT_TRUE(has(text, "sluice_canary_weight{" + id + "} 50")) << text;
  EXPECT_TRUE(has(text, "sluice_canary_step{" + id + "} 2")) << text;
  EXPECT_TRUE(has(text, "sluice_canary_steps{" + id + "} 3")) << text;
  EXPECT_TRUE(has(text, "sluice_canary_phase{" + id + R"(,phase="Progressing"} 1)")) << text;
  EXPECT_TRUE(has(text, "sluice_canary_phase{" + id + R"(,phase="RolledBack"} 0)")) << text;
  EXPECT_TRUE(has(text, "sluice_canary_analysis_inconclusive{" + id + "} 1")) << text;
  EXPECT_TRUE(has(text, "sluice_canary_analysis_value{" + id + R"(,metric="error-rate"} 0.01)"))
      << text;
  EXPECT_TRUE(has(
      text, "sluice_canary_analysis_threshold{" + id + R"(,metric="error-rate",bound="max"} 0.05)"))
      << text;
  // No min bound: no series, rather than a made-up 0.
  EXPECT_EQ(text.find(R"(bound="min")"), std::string::npos) << text;
  EXPECT_TRUE(has(text, "sluice_canary_region_weight{" + id + R"(,region="eu"} 25)")) << text;
}

TEST(StatusMetrics, UnreconciledRolloutHasNoPhaseSeries) {
  kube::Metrics out;
  canaryRolloutMetrics(Object::parse(R"({"metadata": {"name": "a", "namespace": "b"}})"), out);
  const auto text = out.render();
  EXPECT_TRUE(has(text, R"(sluice_canary_steps{name="a",namespace="b"} 6)")) << text;
  EXPECT_EQ(text.find("sluice_canary_phase"), std::string::npos) << text;
}

TEST(StatusMetrics, TrafficPolicyBackends) {
  const Object policy = Object::parse(R"({
    "metadata": {"name": "checkout", "namespace": "shop"},
    "spec": {"budget": {"maxCostPerHour": "12.5"}},
    "status": {"estimatedCostPerHour": "3.25",
               "backends": [{"name": "eastus", "weight": 70, "healthy": true,
                             "costPerHour": "1.5", "latencyP99Milliseconds": 250},
                            {"name": "westeu", "weight": 30, "healthy": false,
                             "errorRate": 0.2}]}})");
  kube::Metrics out;
  trafficPolicyMetrics(policy, out);
  const auto text = out.render();
  const std::string id = R"(name="checkout",namespace="shop")";
  EXPECT_TRUE(has(text, "sluice_trafficpolicy_budget_per_hour{" + id + "} 12.5")) << text;
  EXPECT_TRUE(has(text, "sluice_trafficpolicy_cost_per_hour{" + id + "} 3.25")) << text;
  EXPECT_TRUE(has(text, "sluice_trafficpolicy_backend_weight{" + id + R"(,backend="eastus"} 70)"))
      << text;
  EXPECT_TRUE(has(text, "sluice_trafficpolicy_backend_healthy{" + id + R"(,backend="westeu"} 0)"))
      << text;
  EXPECT_TRUE(
      has(text, "sluice_trafficpolicy_backend_cost_per_hour{" + id + R"(,backend="eastus"} 1.5)"))
      << text;
  EXPECT_TRUE(has(text, "sluice_trafficpolicy_backend_latency_p99_seconds{" + id +
                            R"(,backend="eastus"} 0.25)"))
      << text;
  EXPECT_TRUE(
      has(text, "sluice_trafficpolicy_backend_error_rate{" + id + R"(,backend="westeu"} 0.2)"))
      << text;
}

TEST(StatusMetrics, TierLimitFloorAndHpaReplicas) {
  const Object limit = Object::parse(R"({
    "metadata": {"name": "tiers", "namespace": "shop"},
    "status": {"hpa": {"name": "checkout", "minReplicas": 4}}})");
  const Object hpa = Object::parse(R"({
    "spec": {"maxReplicas": 20},
    "status": {"currentReplicas": 3, "desiredReplicas": 4}})");
  kube::Metrics out;
  tierLimitMetrics(limit, &hpa, out);
  const auto text = out.render();
  const std::string id = R"(name="tiers",namespace="shop")";
  EXPECT_TRUE(has(text, "sluice_tierlimit_hpa_min_replicas{" + id + "} 4")) << text;
  EXPECT_TRUE(has(text, "sluice_tierlimit_hpa_max_replicas{" + id + "} 20")) << text;
  EXPECT_TRUE(has(text, "sluice_tierlimit_hpa_current_replicas{" + id + "} 3")) << text;
  EXPECT_TRUE(has(text, "sluice_tierlimit_hpa_desired_replicas{" + id + "} 4")) << text;
}

TEST(StatusMetrics, TierCountsAsCounters) {
  const Object limit = Object::parse(R"({"metadata": {"name": "tiers", "namespace": "shop"},
    "spec": {"tiers": [{"name": "premium"}, {"name": "free"}, {"name": "standard"}]}})");
  kube::Metrics out;
  tierLimitCounts(limit, "checkout", {{"free", 120, 30}, {"premium", 80, 0}}, out);
  const auto text = out.render();
  const std::string id = R"(name="tiers",namespace="shop",trafficpolicy="checkout")";
  EXPECT_TRUE(has(text, "# TYPE sluice_tierlimit_rejected_total counter")) << text;
  EXPECT_TRUE(has(text, "sluice_tierlimit_requests_total{" + id + R"(,tier="free"} 120)")) << text;
  EXPECT_TRUE(has(text, "sluice_tierlimit_rejected_total{" + id + R"(,tier="free"} 30)")) << text;
  EXPECT_TRUE(has(text, "sluice_tierlimit_rejected_total{" + id + R"(,tier="premium"} 0)")) << text;
}

TEST(StatusMetrics, CollectorsRenderAtEachScrape) {
  kube::Metrics registry;
  int weight = 5;
  registry.addCollector([&weight](kube::Metrics& out) {
    out.gaugeSet("sluice_canary_weight", "w", {{"name", "a"}}, weight);
  });
  EXPECT_TRUE(has(registry.render(), R"(sluice_canary_weight{name="a"} 5)"));
  weight = 10;
  const auto text = registry.render();
  EXPECT_TRUE(has(text, R"(sluice_canary_weight{name="a"} 10)")) << text;
  EXPECT_EQ(text.find(R"(name="a"} 5)"), std::string::npos) << text;
}

}  // namespace
}  // namespace sluice::controllers
