#include "operator/render/hpa.h"

#include <gtest/gtest.h>

#include "operator/render/test/golden.h"

namespace sluice::render {
namespace {

const char* kStableHpa = R"({
  "apiVersion": "autoscaling/v2",
  "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "payment-api-stable", "namespace": "shop", "resourceVersion": "42",
               "uid": "stable-hpa-uid", "labels": {"team": "payments"}},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "payment-api-stable"},
    "minReplicas": 3,
    "maxReplicas": 12,
    "metrics": [
      {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
      {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"}, "target": {"type": "AverageValue", "averageValue": "200"}}}
    ],
    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}
  },
  "status": {"currentReplicas": 5, "desiredReplicas": 5}
})";

const engine::Owner kOwner{"sluice.dev/v1alpha1", "CanaryRollout", "shop", "payment-api",
                           "6f1e2d3c-0000-4000-8000-000000000001"};

Expected<nlohmann::json, std::string> renderCanaryHpa(const engine::Owner& owner,
                                                      const nlohmann::json& stable,
                                                      const ScaleTarget& target) {
  return renderMirroredHpa(owner, owner.name + "-canary", stable, target);
}

TEST(CanaryHpa, MirrorsStableGolden) {
  auto hpa = renderCanaryHpa(kOwner, nlohmann::json::parse(kStableHpa),
                             {"apps/v1", "Deployment", "payment-api-canary"});
  ASSERT_TRUE(hpa.hasValue()) << hpa.error();
  testing::expectGolden("hpa_canary.json", hpa->dump(2) + "\n");
  // Nothing of the stable object's identity or status leaks into the canary's.
  EXPECT_FALSE(hpa->contains("status"));
  EXPECT_FALSE((*hpa)["metadata"].contains("resourceVersion"));
  EXPECT_EQ((*hpa)["metadata"]["name"], "payment-api-canary");
}

TEST(CanaryHpa, OptionalFieldsStayAbsent) {
  auto stable = nlohmann::json::parse(kStableHpa);
  stable["spec"].erase("minReplicas");
  stable["spec"].erase("behavior");
  auto hpa = renderCanaryHpa(kOwner, stable, {"apps/v1", "Deployment", "c"}).value();
  EXPECT_FALSE(hpa["spec"].contains("minReplicas"));
  EXPECT_FALSE(hpa["spec"].contains("behavior"));
  EXPECT_EQ(hpa["spec"]["maxReplicas"], 12);
}

TEST(CanaryHpa, RejectsWhatItCannotMirror) {
  auto v1 = nlohmann::json::parse(kStableHpa);
  v1["apiVersion"] = "autoscaling/v1";
  EXPECT_FALSE(renderCanaryHpa(kOwner, v1, {"apps/v1", "Deployment", "c"}).hasValue());
  auto noMax = nlohmann::json::parse(kStableHpa);
  noMax["spec"].erase("maxReplicas");
  EXPECT_FALSE(renderCanaryHpa(kOwner, noMax, {"apps/v1", "Deployment", "c"}).hasValue());
  EXPECT_FALSE(
      renderCanaryHpa(kOwner, nlohmann::json::parse(kStableHpa), {"apps/v1", "Deployment", ""})
          .hasValue());
  EXPECT_FALSE(
      renderCanaryHpa(kOwner, nlohmann::json(), {"apps/v1", "Deployment", "c"}).hasValue());
}

}  // namespace
}  // namespace sluice::render

namespace sluice::render {
namespace {

api::TierAutoscaling sampleAutoscaling() {
  api::TierAutoscaling a;
  a.targetRef = {"apps/v1", "Deployment", "checkout"};
  a.minReplicas = 2;
  a.maxReplicas = 20;
  a.cpuUtilization = 70;
  a.memoryUtilization = 80;
  a.requestsPerSecondPerReplica = 200;
  a.behavior.scaleUp.stabilizationWindow = std::chrono::seconds{30};
  a.behavior.scaleDown.stabilizationWindow = std::chrono::seconds{300};
  return a;
}

const engine::Owner kTierLimit{"sluice.dev/v1alpha1", "TierLimit", "shop", "checkout",
                               "6f1e2d3c-0000-4000-8000-000000000002"};

// The sample TierLimit's HPA, every defaulted field written (the golden also goes through a
// real kube-apiserver's admission in e2e.chart.samples-kubectl).
TEST(TierLimitHpa, SampleGolden) {
  auto hpa = renderTierLimitHpa(kTierLimit, "checkout", sampleAutoscaling(), 2);
  ASSERT_TRUE(hpa) << hpa.error();
  testing::expectGolden("hpa_tierlimit_checkout.json", hpa->dump(2) + "\n");
  EXPECT_EQ((*hpa)["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"], 30);
  EXPECT_EQ((*hpa)["spec"]["metrics"][2]["external"]["target"]["averageValue"], "200");
  EXPECT_EQ((*hpa)["metadata"]["ownerReferences"][0]["kind"], "TierLimit");
}

TEST(TierLimitHpa, ScheduleFloorRaisesMinReplicasUpToTheCeiling) {
  auto open = renderTierLimitHpa(kTierLimit, "checkout", sampleAutoscaling(), 6);
  EXPECT_EQ((*open)["spec"]["minReplicas"], 6);
  auto capped = renderTierLimitHpa(kTierLimit, "checkout", sampleAutoscaling(), 50);
  EXPECT_EQ((*capped)["spec"]["minReplicas"], 20);
  auto below = renderTierLimitHpa(kTierLimit, "checkout", sampleAutoscaling(), 0);
  EXPECT_EQ((*below)["spec"]["minReplicas"], 2);
}

TEST(TierLimitHpa, BadBoundsNameTheField) {
  auto a = sampleAutoscaling();
  a.minReplicas = 30;
  auto hpa = renderTierLimitHpa(kTierLimit, "checkout", a, 2);
  ASSERT_FALSE(hpa);
  EXPECT_NE(hpa.error().find("spec.autoscaling"), std::string::npos);
  a = sampleAutoscaling();
  a.targetRef.name.clear();
  EXPECT_FALSE(renderTierLimitHpa(kTierLimit, "checkout", a, 2));
}

}  // namespace
}  // namespace sluice::render
