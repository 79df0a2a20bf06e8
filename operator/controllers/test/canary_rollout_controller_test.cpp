#include "operator/controllers/canary_rollout_controller.h"

#include <gtest/gtest.h>

#include <map>

#include "operator/controllers/resources.h"
#include "operator/render/gatewayapi/provider.h"
#include "operator/test/mocks/kube/fake_client.h"
#include "operator/test/mocks/kube/objects.h"
#include "operator/test/mocks/prometheus/fake_prometheus.h"

namespace sluice::controllers {
namespace {

using namespace std::chrono_literals;
using kube::Object;

using prometheus::FakePrometheus;
using prometheus::ForwardingQueryClient;

using kube::testing::service;

Object rollout() {
  return Object::parse(R"({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
    "metadata": {"name": "pay", "namespace": "shop"},
    "spec": {
      "stable": {"serviceRef": {"name": "pay-stable", "port": 80}},
      "canary": {"serviceRef": {"name": "pay-canary", "port": 80}},
      "route": {"parentRefs": [{"name": "edge"}], "hostnames": ["pay.example.com"]},
      "stepInterval": "60s",
      "analysis": {
        "prometheus": {"address": "http://prom:9090"},
        "interval": "30s", "failureLimit": 2, "minRequests": 10,
        "requestCountQuery": "COUNT{s=\"{{canary}}\"}",
        "metrics": [{"name": "error-rate", "query": "ERRORS{s=\"{{canary}}\"}",
                     "thresholdRange": {"max": "0.01"}}]
      }
    }
  })");
}

class CanaryRolloutControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.seed(kube::resources::services(), service("pay-stable"));
    client_.seed(kube::resources::services(), service("pay-canary"));
    client_.seed(resources::canaryRollouts(), rollout());
    prom_->answers["COUNT"] = {100.0, {}};
    prom_->answers["ERRORS"] = {0.001, {}};
    deps_.cache = &client_;
    deps_.writer = &client_;
    deps_.statusWriter = &client_;
    deps_.events = &events_;
    deps_.prometheus = &clients_;
    deps_.clock = &clock_;
    deps_.metrics = &metrics_;
    providers_.add(
        std::make_unique<render::gatewayapi::GatewayApiProvider>(client_, client_, kFieldManager));
    providers_.add(std::unique_ptr<render::TrafficProvider>(failing_));
    deps_.providers = &providers_;
    reconciler_ = std::make_unique<CanaryRolloutReconciler>(deps_);
  }

  kube::ReconcileOutcome reconcile() { return reconciler_->reconcile({"shop", "pay"}); }
  Object status() {
    return client_.get(resources::canaryRollouts(), {"shop", "pay"})->at("status");
  }
  bool hasEvent(const std::string& type, const std::string& reason) {
    auto events = client_.list(kube::resources::events(), "shop", {});
    for (const auto& e : events->items) {
      if (e.value("type", "") == type && (reason.empty() || e.value("reason", "") == reason)) {
        return true;
      }
    }
    return false;
  }
  std::optional<int> routeCanaryWeight() {
    auto route = client_.get(kube::resources::httpRoutes(), {"shop", "pay"});
    if (!route) {
      return std::nullopt;
    }
    for (const auto& ref : (*route)["spec"]["rules"].back()["backendRefs"]) {
      if (ref["name"] == "pay-canary") {
        return ref["weight"].get<int>();
      }
    }
    return std::nullopt;
  }

  kube::FakeClient client_;
  kube::Metrics metrics_;
  FakeClock clock_;
  kube::EventRecorder events_{client_, clock_, {}};
  FakePrometheus promFake_;
  FakePrometheus* prom_ = &promFake_;
  PrometheusClients clients_{[this](const std::string&) {
    return Expected<std::unique_ptr<prometheus::QueryClient>, prometheus::QueryError>(
        std::make_unique<ForwardingQueryClient>(prom_));
  }};
  // A provider whose data plane is down, or back.
  struct DeadGateway final : render::TrafficProvider {
    std::string_view name() const override { return "haproxy"; }
    Expected<render::ApplyResult, render::ProviderError> apply(
        const engine::RoutePlan& p) override {
      ++applies;
      // Like HAProxy's map file: the intent is kept even when the live data plane refuses it.
      attempted = p.routes[0].rules.back().destinations[1].weight;
      if (down) {
        return Unexpected(render::ProviderError{"runtime API 127.0.0.1:9999: connection refused"});
      }
      weight = p.routes[0].rules.back().destinations[1].weight;
      held = {p.owner};
      return render::ApplyResult{};
    }
    Expected<std::optional<engine::RoutePlan>, render::ProviderError> verify(
        const engine::Owner&) override {
      return std::optional<engine::RoutePlan>();
    }
    Expected<void, render::ProviderError> remove(const engine::Owner&) override {
      ++removes;
      held.clear();
      return {};
    }
    std::vector<engine::Owner> owners(std::string_view) override { return held; }
    std::string requestCountQuery(const engine::Owner&, const std::string&,
                                  const std::string&) const override {
      return "DEAD_COUNT";
    }
    bool down = true;
    int applies = 0;
    int removes = 0;
    std::int32_t weight = -1;
    std::int32_t attempted = -1;      // the last weight handed over, taken or not
    std::vector<engine::Owner> held;  // the owners it carries output for
  };

  CanaryRolloutDeps deps_;
  DeadGateway* failing_ = new DeadGateway;  // owned by providers_
  render::Providers providers_;
  std::unique_ptr<CanaryRolloutReconciler> reconciler_;
};

TEST_F(CanaryRolloutControllerTest, NewRolloutStartsAtFirstStepAndAppliesTheRoute) {
  ASSERT_TRUE(reconcile());
  auto st = status();
  EXPECT_EQ(st["phase"], "Progressing");
  EXPECT_EQ(st["currentStep"], 0);
  EXPECT_EQ(st["canaryWeight"], 5);
  EXPECT_EQ(routeCanaryWeight(), 5);
  auto route = *client_.get(kube::resources::httpRoutes(), {"shop", "pay"});
  EXPECT_EQ(route["metadata"]["ownerReferences"][0]["name"], "pay");
  EXPECT_EQ(route["metadata"]["labels"]["app.kubernetes.io/managed-by"], "sluice");
  for (const auto& w : client_.writes()) {
    if (w.verb == "apply") {
      EXPECT_EQ(w.fieldManager, "sluice-operator");
    }
  }
}

TEST_F(CanaryRolloutControllerTest, AdvancesAfterStepIntervalWhenAnalysisPasses) {
  ASSERT_TRUE(reconcile());
  for (int i = 0; i < 3; ++i) {  // analyses at +30s, +60s, +90s
    clock_.advance(30s);
    ASSERT_TRUE(reconcile());
  }
  auto st = status();
  EXPECT_EQ(st["currentStep"], 1) << st.dump();
  EXPECT_EQ(st["canaryWeight"], 10);
  EXPECT_EQ(routeCanaryWeight(), 10);
}

TEST_F(CanaryRolloutControllerTest, ErrorSpikeRollsBackAtOnce) {
  ASSERT_TRUE(reconcile());
  prom_->answers["ERRORS"] = {0.5, {}};
  clock_.advance(30s);
  auto outcome = reconcile();
  ASSERT_TRUE(outcome);
  auto st = status();
  EXPECT_EQ(st["phase"], "RolledBack");
  EXPECT_EQ(st["canaryWeight"], 0);
  EXPECT_FALSE(st["message"].get<std::string>().empty());
  EXPECT_EQ(routeCanaryWeight(), 0);
  EXPECT_TRUE(hasEvent("Warning", ""));
  // Counted once, with the reason the Ready condition gives; Stalled says kstatus Failed.
  std::map<std::string, Object> conditions;
  for (const auto& c : st["conditions"]) {
    conditions[c["type"].get<std::string>()] = c;
  }
  const std::string reason = conditions["Ready"]["reason"];
  EXPECT_EQ(reason, "ErrorSpike");
  EXPECT_EQ(conditions["Stalled"]["status"], "True") << st.dump();
  EXPECT_EQ(conditions["Stalled"]["reason"], reason);
  EXPECT_EQ(conditions["Reconciling"]["status"], "False");
  const kube::Labels labels{{"name", "pay"}, {"namespace", "shop"}, {"reason", reason}};
  EXPECT_EQ(metrics_.counterValue("sluice_canary_rollbacks_total", labels), 1) << metrics_.render();
  clock_.advance(30s);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(metrics_.counterValue("sluice_canary_rollbacks_total", labels), 1);
}

TEST_F(CanaryRolloutControllerTest, UnreachablePrometheusHoldsAndSaysWhere) {
  ASSERT_TRUE(reconcile());
  prom_->answers.clear();
  prom_->answers[""] = {std::nullopt,
                        {prometheus::QueryErrorKind::Unreachable, 0, "", "connection refused"}};
  for (int i = 0; i < 4; ++i) {
    clock_.advance(30s);
    ASSERT_TRUE(reconcile());
  }
  auto st = status();
  EXPECT_EQ(st["phase"], "Progressing");
  EXPECT_EQ(st["currentStep"], 0);
  EXPECT_EQ(routeCanaryWeight(), 5);
  EXPECT_NE(st.dump().find("http://prom:9090"), std::string::npos) << st.dump();
  for (const auto& m : st["analysis"]["metrics"]) {
    EXPECT_EQ(m["result"], "Inconclusive");
  }
}

TEST_F(CanaryRolloutControllerTest, MissingServiceNamesTheFieldAndWaitsForIt) {
  ASSERT_TRUE(client_.remove(kube::resources::services(), {"shop", "pay-canary"}));
  auto outcome = reconcile();
  // Not polled: the Service's own events bring the rollout back (rolloutsUsingService).
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().terminal);
  auto st = status();
  EXPECT_NE(st["message"].get<std::string>().find("spec.canary.serviceRef"), std::string::npos);
  EXPECT_NE(st["message"].get<std::string>().find("shop/pay-canary"), std::string::npos);
  EXPECT_FALSE(routeCanaryWeight().has_value());
  EXPECT_TRUE(hasEvent("Warning", "ServiceNotFound"));
  EXPECT_EQ(reconciler_->rolloutsUsingService(service("pay-canary")),
            (std::vector<kube::ObjectKey>{{"shop", "pay"}}));
  EXPECT_TRUE(reconciler_->rolloutsUsingService(service("unrelated")).empty());
  client_.seed(kube::resources::services(), service("pay-canary"));
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(routeCanaryWeight(), 5);
}

TEST_F(CanaryRolloutControllerTest, DeadGatewayIsReportedOnceNotPerRetry) {
  ASSERT_TRUE(client_.patch(resources::canaryRollouts(), {"shop", "pay"},
                            {{"spec", {{"route", {{"provider", "haproxy"}}}}}}));
  int statusWrites = 0;
  for (int i = 0; i < 50; ++i) {  // the queue's retries, each a second apart
    client_.clearActions();
    auto outcome = reconcile();
    ASSERT_FALSE(outcome);
    EXPECT_FALSE(outcome.error().terminal);  // retried, with the queue's backoff
    for (const auto& w : client_.writes()) {
      statusWrites += w.verb == "update_status" ? 1 : 0;
    }
    clock_.advance(1s);
  }
  EXPECT_EQ(failing_->applies, 50);
  // The first step and the provider's error: two writes for fifty failed reconciles (no
  // analysis is recorded while the data plane refuses the weight), and no step taken.
  EXPECT_LE(statusWrites, 2);
  EXPECT_EQ(status()["canaryWeight"], 5);
  auto st = status();
  bool reported = false;
  for (const auto& c : st["conditions"]) {
    if (c["type"] == "Ready") {
      EXPECT_EQ(c["status"], "False");
      EXPECT_EQ(c["reason"], "TrafficProviderError");
      EXPECT_NE(c["message"].get<std::string>().find("127.0.0.1:9999"), std::string::npos);
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << st.dump();
  // Back: the weight in status is applied and Ready recovers.
  failing_->down = false;
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(failing_->weight, engine::weightFromPercent(status()["canaryWeight"].get<int>()));
  const auto recovered = status();
  for (const auto& c : recovered["conditions"]) {
    if (c["type"] == "Ready") {
      EXPECT_NE(c["reason"], "TrafficProviderError");
    }
  }
}

// A step that comes due while the gateway is down is not handed to it before status records
// it: the provider keeps what it is handed (HAProxy's map file), so a gateway restarted during
// the outage would come up on a step status does not show, unanalysed. The weight status
// records is retried; once the gateway takes it, the step goes status first.
TEST_F(CanaryRolloutControllerTest, StepDueWhileTheGatewayIsDownIsNotHandedOverBeforeStatus) {
  ASSERT_TRUE(client_.patch(resources::canaryRollouts(), {"shop", "pay"},
                            {{"spec", {{"route", {{"provider", "haproxy"}}}}}}));
  failing_->down = false;
  ASSERT_TRUE(reconcile());
  ASSERT_EQ(status()["canaryWeight"], 5);
  failing_->down = true;
  clock_.advance(30s);
  ASSERT_FALSE(reconcile());
  clock_.advance(31s);  // past the 60 s step interval
  for (int i = 0; i < 5; ++i) {
    ASSERT_FALSE(reconcile());
    const int recorded = status()["canaryWeight"].get<int>();
    EXPECT_EQ(recorded, 5);
    EXPECT_EQ(failing_->attempted, engine::weightFromPercent(recorded))
        << "retry " << i << " handed the gateway a weight status does not record";
    clock_.advance(2s);
  }
  // Back: the step is recorded, then applied.
  failing_->down = false;
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(status()["canaryWeight"], 10);
  EXPECT_EQ(failing_->weight, engine::weightFromPercent(10));
}

TEST_F(CanaryRolloutControllerTest, UnknownProviderNamesTheFieldAndTheConfiguredOnes) {
  ASSERT_TRUE(client_.patch(resources::canaryRollouts(), {"shop", "pay"},
                            {{"spec", {{"route", {{"provider", "haproxy"}}}}}}));
  render::Providers gatewayOnly;
  gatewayOnly.add(
      std::make_unique<render::gatewayapi::GatewayApiProvider>(client_, client_, kFieldManager));
  auto deps = deps_;
  deps.providers = &gatewayOnly;
  reconciler_ = std::make_unique<CanaryRolloutReconciler>(deps);
  auto outcome = reconcile();
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().terminal);
  const auto message = status()["message"].get<std::string>();
  EXPECT_NE(message.find("spec.route.provider: haproxy is not configured"), std::string::npos)
      << message;
  EXPECT_NE(message.find("(configured: gatewayAPI)"), std::string::npos) << message;
}

TEST_F(CanaryRolloutControllerTest, DeletedRolloutLeavesItsHttpRouteToTheGarbageCollector) {
  ASSERT_TRUE(reconcile());
  ASSERT_TRUE(client_.remove(resources::canaryRollouts(), {"shop", "pay"}));
  client_.clearActions();
  ASSERT_TRUE(reconcile());
  // The HTTPRoute is the garbage collector's (owner reference); nothing deleted it here.
  EXPECT_TRUE(routeCanaryWeight().has_value());
  EXPECT_TRUE(client_.writes().empty());
}

TEST_F(CanaryRolloutControllerTest, DeletedRolloutIsRemovedFromEveryProvider) {
  // A rollout on the gateway that holds its own output (like haproxy).
  failing_->down = false;
  ASSERT_TRUE(client_.patch(resources::canaryRollouts(), {"shop", "pay"},
                            {{"spec", {{"route", {{"provider", "haproxy"}}}}}}));
  ASSERT_TRUE(reconcile());
  ASSERT_EQ(failing_->owners("CanaryRollout").size(), 1U);
  ASSERT_TRUE(client_.remove(resources::canaryRollouts(), {"shop", "pay"}));
  ASSERT_TRUE(reconcile());
  EXPECT_TRUE(failing_->owners("CanaryRollout").empty());
  // Deleted owners the provider still lists at start are handed to the queue.
  failing_->held = {{"sluice.dev/v1alpha1", "CanaryRollout", "shop", "gone", ""}};
  EXPECT_EQ(reconciler_->ownersInDataPlanes(), (std::vector<kube::ObjectKey>{{"shop", "gone"}}));
}

TEST_F(CanaryRolloutControllerTest, InvalidSpecIsReportedAndNotRetried) {
  auto bad = rollout();
  bad["metadata"]["name"] = "broken";
  bad["spec"]["steps"] = {50, 10, 100};
  client_.seed(resources::canaryRollouts(), bad);
  auto outcome = reconciler_->reconcile({"shop", "broken"});
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().terminal);
  auto st = client_.get(resources::canaryRollouts(), {"shop", "broken"})->at("status");
  EXPECT_NE(st["message"].get<std::string>().find("spec.steps"), std::string::npos) << st.dump();
  EXPECT_EQ(st["conditions"][0]["reason"], "InvalidSpec");
}

TEST_F(CanaryRolloutControllerTest, SteadyStateWritesNothing) {
  ASSERT_TRUE(reconcile());
  clock_.advance(30s);
  ASSERT_TRUE(reconcile());  // analysis recorded
  client_.clearActions();
  ASSERT_TRUE(reconcile());  // same second: nothing new to record or apply
  EXPECT_TRUE(client_.writes().empty()) << client_.writes().size() << " writes";
}

TEST_F(CanaryRolloutControllerTest, StatusConflictIsRetried) {
  kube::ApiError conflict;
  conflict.code = 409;
  conflict.reason = "Conflict";
  client_.failNext("update_status", "canaryrollouts", conflict);
  auto outcome = reconcile();
  ASSERT_FALSE(outcome);
  EXPECT_FALSE(outcome.error().terminal);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(status()["canaryWeight"], 5);
}

TEST_F(CanaryRolloutControllerTest, AbortAnnotationRollsBackAndIsConsumed) {
  ASSERT_TRUE(reconcile());
  ASSERT_TRUE(client_.patch(resources::canaryRollouts(), {"shop", "pay"},
                            {{"metadata", {{"annotations", {{"sluice.dev/abort", "true"}}}}}}));
  ASSERT_TRUE(reconcile());
  auto object = *client_.get(resources::canaryRollouts(), {"shop", "pay"});
  EXPECT_EQ(object["status"]["phase"], "RolledBack");
  EXPECT_EQ(routeCanaryWeight(), 0);
  EXPECT_FALSE(object["metadata"].contains("annotations") &&
               object["metadata"]["annotations"].contains("sluice.dev/abort"));
}

TEST_F(CanaryRolloutControllerTest, MirrorsTheStableHpaForTheCanary) {
  client_.seed(kube::resources::horizontalPodAutoscalers(), Object::parse(R"({
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "pay-stable", "namespace": "shop"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "pay-stable"},
             "minReplicas": 2, "maxReplicas": 20,
             "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                          "target": {"type": "Utilization", "averageUtilization": 70}}}]}
  })"));
  ASSERT_TRUE(client_.patch(resources::canaryRollouts(), {"shop", "pay"},
                            {{"spec", {{"autoscaling", {{"mirrorStableHPA", true}}}}}}));
  ASSERT_TRUE(reconcile());
  auto hpa = client_.get(kube::resources::horizontalPodAutoscalers(), {"shop", "pay-canary"});
  ASSERT_TRUE(hpa) << hpa.error().describe();
  EXPECT_EQ((*hpa)["spec"]["scaleTargetRef"]["name"], "pay-canary");
  EXPECT_EQ((*hpa)["spec"]["maxReplicas"], 20);
  EXPECT_EQ((*hpa)["metadata"]["ownerReferences"][0]["name"], "pay");
  // Already mirrored: the next reconcile does not apply it again.
  client_.clearActions();
  ASSERT_TRUE(reconcile());
  for (const auto& w : client_.writes()) {
    EXPECT_NE(w.resource.plural, "horizontalpodautoscalers");
  }
}

TEST_F(CanaryRolloutControllerTest, MissingStableHpaIsAnEventNotAHold) {
  ASSERT_TRUE(client_.patch(resources::canaryRollouts(), {"shop", "pay"},
                            {{"spec", {{"autoscaling", {{"mirrorStableHPA", true}}}}}}));
  ASSERT_TRUE(reconcile());
  EXPECT_TRUE(hasEvent("Warning", "StableHPANotFound"));
  EXPECT_EQ(status()["canaryWeight"], 5);
}

}  // namespace
}  // namespace sluice::controllers

namespace sluice::controllers {
namespace {

// spec.trafficPolicyRef: the rollout decides its weight and writes status; the route is the
// TrafficPolicy's (its controller carries the split), so the rollout writes none of its own.
TEST_F(CanaryRolloutControllerTest, InsideATrafficPolicyItDecidesButWritesNoRoute) {
  Object r = rollout();
  r["spec"].erase("route");
  r["spec"]["trafficPolicyRef"] = {{"name", "checkout"}, {"backend", "eastus"}};
  ASSERT_TRUE(client_.remove(resources::canaryRollouts(), {"shop", "pay"}));
  client_.seed(resources::canaryRollouts(), r);
  ASSERT_FALSE(reconcile());
  EXPECT_EQ(status()["conditions"][0]["reason"], "TrafficPolicyNotFound");
  Object policy = Object::parse(R"({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
    "metadata": {"name": "checkout", "namespace": "shop"},
    "spec": {"provider": "gatewayAPI", "parentRefs": [{"name": "edge"}],
             "backends": [{"name": "westus", "serviceRef": {"name": "pay-stable", "port": 80}}]}
  })");
  client_.seed(resources::trafficPolicies(), policy);
  EXPECT_EQ(reconciler_->rolloutsUsingPolicy(policy),
            (std::vector<kube::ObjectKey>{{"shop", "pay"}}));
  ASSERT_FALSE(reconcile());
  EXPECT_NE(status()["message"].get<std::string>().find("spec.trafficPolicyRef.backend: eastus"),
            std::string::npos)
      << status().dump();
  policy["spec"]["backends"][0]["name"] = "eastus";
  ASSERT_TRUE(client_.remove(resources::trafficPolicies(), {"shop", "checkout"}));
  client_.seed(resources::trafficPolicies(), policy);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(status()["phase"], "Progressing");
  EXPECT_EQ(status()["canaryWeight"], 5);
  EXPECT_FALSE(client_.get(kube::resources::httpRoutes(), {"shop", "pay"}));
}

}  // namespace
}  // namespace sluice::controllers

namespace sluice::controllers {
namespace {

// A region's own canary Service is a Service the rollout waits for like spec.canary's: its
// appearance must bring the rollout back (it used to map only spec.stable and spec.canary).
TEST_F(CanaryRolloutControllerTest, ARegionsCanaryServiceMapsToItsRollout) {
  Object regional = rollout();
  regional["metadata"]["name"] = "pay-regional";
  regional["spec"].erase("route");
  regional["spec"]["trafficPolicyRef"] = {{"name", "checkout"}};
  regional["spec"]["regions"] = {
      {{"name", "eu"}, {"canary", {{"serviceRef", {{"name", "pay-eu-canary"}, {"port", 80}}}}}}};
  client_.seed(resources::canaryRollouts(), regional);
  EXPECT_EQ(reconciler_->rolloutsUsingService(service("pay-eu-canary")),
            (std::vector<kube::ObjectKey>{{"shop", "pay-regional"}}));
  EXPECT_EQ(reconciler_->rolloutsUsingService(service("pay-canary")),
            (std::vector<kube::ObjectKey>{{"shop", "pay"}, {"shop", "pay-regional"}}));
}

}  // namespace
}  // namespace sluice::controllers
