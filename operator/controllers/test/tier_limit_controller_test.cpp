#include "operator/controllers/tier_limit_controller.h"

#include <gtest/gtest.h>

#include <map>

#include "operator/controllers/resources.h"
#include "operator/engine/zoneinfo.h"
#include "operator/test/mocks/kube/fake_client.h"

namespace sluice::controllers {
namespace {

using namespace std::chrono_literals;
using kube::Object;

Object tierLimit() {
  return Object::parse(R"({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
    "metadata": {"name": "checkout", "namespace": "shop", "generation": 1, "uid": "tl-uid"},
    "spec": {
      "targetRefs": [{"kind": "TrafficPolicy", "name": "checkout"}],
      "tiers": [{"name": "free", "requestsPerSecond": 10}],
      "autoscaling": {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"},
        "minReplicas": 2, "maxReplicas": 20, "cpuUtilization": 70,
        "schedules": [{"name": "business-hours", "cron": "0 8 * * 1-5", "duration": "10h",
                       "minReplicas": 6, "timeZone": "Europe/Stockholm"}]
      }
    }
  })");
}

Object policy() {
  return {{"apiVersion", "sluice.dev/v1alpha1"},
          {"kind", "TrafficPolicy"},
          {"metadata", {{"name", "checkout"}, {"namespace", "shop"}}},
          {"spec", Object::object()}};
}

// Monday 2026-11-23 06:00 UTC: 07:00 in Stockholm, an hour before business hours.
const Clock::TimePoint kMondayMorning{
    std::chrono::seconds{engine::daysFromCivil(2026, 11, 23) * 86400 + 6 * 3600}};

class TierLimitControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.seed(resources::tierLimits(), tierLimit());
    client_.seed(resources::trafficPolicies(), policy());
    Deps deps;
    deps.cache = &client_;
    deps.writer = &client_;
    deps.statusWriter = &client_;
    deps.events = &events_;
    deps.clock = &clock_;
    reconciler_ = std::make_unique<TierLimitReconciler>(
        deps, [](const std::string& zone) { return engine::TimeZone::load(zone); });
  }
  kube::ReconcileOutcome reconcile() { return reconciler_->reconcile({"shop", "checkout"}); }
  Object status() {
    return client_.get(resources::tierLimits(), {"shop", "checkout"})->at("status");
  }
  std::string ready(const char* field) {
    const Object st = status();
    for (const auto& c : st["conditions"]) {
      if (c["type"] == "Ready") {
        return c[field].get<std::string>();
      }
    }
    return "";
  }
  std::optional<Object> hpa(const std::string& name = "checkout") {
    auto h = client_.get(kube::resources::horizontalPodAutoscalers(), {"shop", name});
    return h ? std::optional<Object>(*h) : std::nullopt;
  }
  void replace(const Object& o) {
    ASSERT_TRUE(client_.remove(resources::tierLimits(), {"shop", "checkout"}, {}));
    client_.seed(resources::tierLimits(), o);
  }

  kube::FakeClient client_;
  FakeClock clock_{kMondayMorning};
  kube::EventRecorder events_{client_, clock_, {}};
  std::unique_ptr<TierLimitReconciler> reconciler_;
};

TEST_F(TierLimitControllerTest, FloorFollowsTheScheduleAndRequeuesExactly) {
  auto outcome = reconcile();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->requeueAfter, 1h);  // the window opens at 08:00 Stockholm
  EXPECT_EQ((*hpa())["spec"]["minReplicas"], 2);
  EXPECT_EQ((*hpa())["metadata"]["ownerReferences"][0]["kind"], "TierLimit");
  EXPECT_EQ(status()["hpa"]["nextChange"], "2026-11-23T07:00:00Z");
  EXPECT_EQ(ready("status"), "True");
  clock_.advance(1h);
  outcome = reconcile();
  ASSERT_TRUE(outcome);
  EXPECT_EQ((*hpa())["spec"]["minReplicas"], 6);
  EXPECT_EQ(status()["hpa"]["activeSchedule"], "business-hours");
  EXPECT_EQ(outcome->requeueAfter, 10h);
  // What is not built yet says so.
  const Object st = status();
  bool rateLimits = false;
  for (const auto& c : st["conditions"]) {
    rateLimits |= c["type"] == "RateLimitsEnforced" && c["status"] == "False";
  }
  EXPECT_TRUE(rateLimits);
}

// Found by e2e.chaos.operator-kill: the floor's Event was recorded before the status write, so
// a write that conflicted (or a process killed between the two) made the retry say it again.
TEST_F(TierLimitControllerTest, TheFloorIsSaidOnceWhenTheStatusWriteConflicts) {
  ASSERT_TRUE(reconcile());
  clock_.advance(1h);  // the window opens
  kube::ApiError conflict;
  conflict.code = 409;
  conflict.reason = "Conflict";
  client_.failNext("update_status", "tierlimits", conflict);
  EXPECT_FALSE(reconcile());
  ASSERT_TRUE(reconcile());
  ASSERT_TRUE(reconcile());
  std::map<std::string, std::int64_t> said;
  const auto events = client_.list(kube::resources::events(), "shop", {});
  ASSERT_TRUE(events);
  for (const auto& e : events->items) {
    if (e.value("reason", "") == "ReplicaFloor") {
      said[e.value("note", "")] +=
          e.contains("series") ? e["series"]["count"].get<std::int64_t>() : 1;
    }
  }
  EXPECT_EQ(said, (std::map<std::string, std::int64_t>{
                      {"HPA checkout minReplicas 2 (no schedule open)", 1},
                      {"HPA checkout minReplicas 6 (schedule business-hours)", 1}}));
}

TEST_F(TierLimitControllerTest, AUsersHpaIsLeftAloneAndReported) {
  client_.seed(kube::resources::horizontalPodAutoscalers(),
               Object::parse(R"({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                 "metadata": {"name": "mine", "namespace": "shop"},
                 "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "checkout"}, "maxReplicas": 3}})"));
  ASSERT_TRUE(reconcile());
  EXPECT_FALSE(hpa());
  EXPECT_EQ(ready("reason"), "HPAConflict");
  EXPECT_NE(ready("message").find("mine"), std::string::npos);
  EXPECT_EQ((*hpa("mine"))["spec"]["maxReplicas"], 3);
}

TEST_F(TierLimitControllerTest, UnknownTimeZoneNamesTheField) {
  auto t = tierLimit();
  t["spec"]["autoscaling"]["schedules"][0]["timeZone"] = "Mars/Olympus_Mons";
  replace(t);
  EXPECT_FALSE(reconcile());
  EXPECT_EQ(ready("reason"), "InvalidSpec");
  EXPECT_NE(ready("message").find("spec.autoscaling.schedules[0].timeZone"), std::string::npos);
  EXPECT_FALSE(hpa());
}

TEST_F(TierLimitControllerTest, MissingTargetPolicyIsSaidAndAutoscalingStillRuns) {
  ASSERT_TRUE(client_.remove(resources::trafficPolicies(), {"shop", "checkout"}, {}));
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(ready("reason"), "TargetNotFound");
  EXPECT_NE(ready("message").find("spec.targetRefs[0].name"), std::string::npos);
  EXPECT_TRUE(hpa());
  EXPECT_EQ(reconciler_->tierLimitsForPolicy(policy()),
            (std::vector<kube::ObjectKey>{{"shop", "checkout"}}));
}

TEST_F(TierLimitControllerTest, RemovingAutoscalingDeletesItsHpa) {
  ASSERT_TRUE(reconcile());
  ASSERT_TRUE(hpa());
  auto t = tierLimit();
  t["spec"].erase("autoscaling");
  replace(t);
  ASSERT_TRUE(reconcile());
  EXPECT_FALSE(hpa());
  EXPECT_FALSE(status().contains("hpa"));
}

}  // namespace
}  // namespace sluice::controllers
