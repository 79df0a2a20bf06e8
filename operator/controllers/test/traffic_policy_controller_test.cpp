#include "operator/controllers/traffic_policy_controller.h"

#include <gtest/gtest.h>

#include "operator/controllers/resources.h"
#include "operator/controllers/tier_limit_controller.h"
#include "operator/kube/metrics.h"
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

// Queries name their backend through {{service}}, so the fake answers per backend.
Object policy(int backends = 3) {
  Object p = Object::parse(R"({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
    "metadata": {"name": "checkout", "namespace": "shop", "generation": 1},
    "spec": {
      "provider": "gatewayAPI", "parentRefs": [{"name": "edge"}],
      "hostnames": ["checkout.example.com"], "strategy": "RoundRobin",
      "backends": [],
      "failover": {"errorRateThreshold": "0.05", "shift": {"steps": 4, "interval": "10s"},
                   "recovery": {"healthyFor": "30s"}},
      "metrics": {"prometheus": {"address": "http://prom:9090"}, "interval": "5s",
                  "queries": {"errorRate": "ERR{s=\"{{service}}\"}",
                              "latencyP99Milliseconds": "LAT{s=\"{{service}}\"}",
                              "requestsPerSecond": "RPS{s=\"{{service}}\"}"}}
    }
  })");
  const char* names[] = {"eastus", "westeurope", "southeastasia"};
  for (int i = 0; i < backends; ++i) {
    const std::string name = i < 3 ? names[i] : "b" + std::to_string(i);
    p["spec"]["backends"].push_back({{"name", name},
                                     {"serviceRef", {{"name", "checkout-" + name}, {"port", 80}}},
                                     {"weight", i == 0 ? 40 : 30}});
  }
  return p;
}

class TrafficPolicyControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"eastus", "westeurope", "southeastasia"}) {
      client_.seed(kube::resources::services(), service(std::string("checkout-") + name));
      healthy(name);
    }
    client_.seed(resources::trafficPolicies(), policy());
    deps_.cache = &client_;
    deps_.statusWriter = &client_;
    deps_.events = &events_;
    deps_.prometheus = &clients_;
    deps_.clock = &clock_;
    providers_.add(
        std::make_unique<render::gatewayapi::GatewayApiProvider>(client_, client_, kFieldManager));
    deps_.providers = &providers_;
    reconciler_ = std::make_unique<TrafficPolicyReconciler>(deps_);
  }

  void healthy(const std::string& name) {
    prom_.answers["ERR{s=\"checkout-" + name] = {0.001, {}};
    prom_.answers["LAT{s=\"checkout-" + name] = {20.0, {}};
    prom_.answers["RPS{s=\"checkout-" + name] = {10.0, {}};
  }
  kube::ReconcileOutcome reconcile() { return reconciler_->reconcile({"shop", "checkout"}); }
  Object status() {
    return client_.get(resources::trafficPolicies(), {"shop", "checkout"})->at("status");
  }
  Object backendStatus(const std::string& name) {
    const Object st = status();  // not a range-for over a temporary's member
    for (const auto& b : st["backends"]) {
      if (b["name"] == name) {
        return b;
      }
    }
    return {};
  }
  std::string condition(const std::string& type, const char* field = "status") {
    const Object st = status();
    for (const auto& c : st["conditions"]) {
      if (c["type"] == type) {
        return c[field].get<std::string>();
      }
    }
    return "";
  }
  // The default rule's backendRef weights in the HTTPRoute, by Service.
  std::map<std::string, int> routeWeights() {
    std::map<std::string, int> out;
    auto route = client_.get(kube::resources::httpRoutes(), {"shop", "checkout"});
    if (!route) {
      return out;
    }
    for (const auto& ref : (*route)["spec"]["rules"].back()["backendRefs"]) {
      out[ref["name"].get<std::string>()] = ref["weight"].get<int>();
    }
    return out;
  }
  void replacePolicy(const Object& p) {
    ASSERT_TRUE(client_.remove(resources::trafficPolicies(), {"shop", "checkout"}, {}));
    client_.seed(resources::trafficPolicies(), p);
  }
  bool hasEvent(const std::string& reason) {
    auto events = client_.list(kube::resources::events(), "shop", {});
    for (const auto& e : events->items) {
      if (e.value("reason", "") == reason) {
        return true;
      }
    }
    return false;
  }
  std::size_t statusWrites() {
    std::size_t n = 0;
    for (const auto& w : client_.writes()) {
      n += w.resource == resources::trafficPolicies() ? 1 : 0;
    }
    return n;
  }

  kube::FakeClient client_;
  FakeClock clock_;
  kube::EventRecorder events_{client_, clock_, {}};
  FakePrometheus prom_;
  PrometheusClients clients_{[this](const std::string&) {
    return Expected<std::unique_ptr<prometheus::QueryClient>, prometheus::QueryError>(
        std::make_unique<ForwardingQueryClient>(&prom_));
  }};
  TrafficPolicyDeps deps_;
  render::Providers providers_;
  std::unique_ptr<TrafficPolicyReconciler> reconciler_;
};

TEST_F(TrafficPolicyControllerTest, WritesTheRouteAndStatusThenNothingWhileNothingChanges) {
  auto outcome = reconcile();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->requeueAfter, 5s);  // the metrics interval
  EXPECT_EQ(routeWeights(), (std::map<std::string, int>{{"checkout-eastus", 40},
                                                        {"checkout-westeurope", 30},
                                                        {"checkout-southeastasia", 30}}));
  auto st = status();
  EXPECT_EQ(st["activeBackends"], 3);
  EXPECT_EQ(condition("Ready"), "True");
  EXPECT_EQ(condition("MetricsAvailable"), "True");
  EXPECT_EQ(backendStatus("eastus")["weight"], 400000);
  EXPECT_EQ(backendStatus("eastus")["state"], "Healthy");
  EXPECT_EQ(backendStatus("eastus")["errorRate"], 0.001);
  EXPECT_EQ(st["decision"]["strategy"], "RoundRobin");
  const auto writes = statusWrites();
  clock_.advance(5s);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(statusWrites(), writes) << "a steady policy wrote its status again";
}

TEST_F(TrafficPolicyControllerTest, DrainsAFailingBackendStepByStepAndSaysSo) {
  ASSERT_TRUE(reconcile());
  prom_.answers["ERR{s=\"checkout-eastus"] = {0.3, {}};
  clock_.advance(5s);
  auto outcome = reconcile();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(backendStatus("eastus")["state"], "Draining");
  EXPECT_EQ(backendStatus("eastus")["step"], 1);
  EXPECT_EQ(backendStatus("eastus")["weight"], 300000);  // 3/4 of its share
  EXPECT_EQ(condition("Progressing"), "True");
  EXPECT_EQ(status()["shift"]["from"], "eastus");
  EXPECT_TRUE(hasEvent("DrainStarted"));
  for (int i = 0; i < 3; ++i) {
    clock_.advance(10s);
    ASSERT_TRUE(reconcile());
  }
  EXPECT_EQ(backendStatus("eastus")["state"], "Drained");
  EXPECT_EQ(routeWeights()["checkout-eastus"], 0);
  EXPECT_EQ(status()["activeBackends"], 2);
}

TEST_F(TrafficPolicyControllerTest, PrometheusDownHoldsWeightsAndStates) {
  ASSERT_TRUE(reconcile());
  prom_.answers["ERR{s=\"checkout-eastus"] = {0.3, {}};
  clock_.advance(5s);
  ASSERT_TRUE(reconcile());
  const auto draining = routeWeights();
  prom_.answers.clear();
  prom_.answers["checkout"] = {std::nullopt,
                               {prometheus::QueryErrorKind::Unreachable, 0, "", "refused"}};
  clock_.advance(30s);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(condition("MetricsAvailable"), "False");
  EXPECT_NE(condition("MetricsAvailable", "message").find("refused"), std::string::npos);
  EXPECT_EQ(routeWeights(), draining);
  EXPECT_EQ(backendStatus("eastus")["step"], 1) << "a shift moved without metrics";
  EXPECT_TRUE(hasEvent("MetricsUnavailable"));
}

// A fault of the measurement is no verdict: Prometheus answering garbage (HTML, truncated JSON,
// a matrix where one number belongs, 422/503) holds weights and shift steps like an unreachable
// Prometheus, and MetricsAvailable says which query failed and how.
TEST_F(TrafficPolicyControllerTest, BadAnswersHoldWeightsAndNameTheQuery) {
  ASSERT_TRUE(reconcile());
  prom_.answers["ERR{s=\"checkout-eastus"] = {0.3, {}};
  clock_.advance(5s);
  ASSERT_TRUE(reconcile());
  const auto draining = routeWeights();
  for (auto kind :
       {prometheus::QueryErrorKind::BadResponse, prometheus::QueryErrorKind::NotScalar,
        prometheus::QueryErrorKind::HttpStatus, prometheus::QueryErrorKind::PrometheusError}) {
    prom_.answers.clear();
    prom_.answers["checkout"] = {std::nullopt, {kind, 503, "", "not the answer"}};
    clock_.advance(30s);
    ASSERT_TRUE(reconcile());
    const auto message = condition("MetricsAvailable", "message");
    EXPECT_EQ(condition("MetricsAvailable"), "False") << toString(kind);
    EXPECT_EQ(condition("MetricsAvailable", "reason"), "QueryFailed") << message;
    EXPECT_NE(message.find("spec.metrics.queries.requestsPerSecond for backend eastus"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find(toString(kind)), std::string::npos) << message;
    EXPECT_EQ(routeWeights(), draining) << toString(kind);
    EXPECT_EQ(backendStatus("eastus")["state"], "Draining") << toString(kind);
    EXPECT_EQ(backendStatus("eastus")["step"], 1) << "a shift moved on " << toString(kind);
  }
  EXPECT_TRUE(hasEvent("MetricsUnavailable"));
}

// No series (or NaN) for every query of every backend: Prometheus knows nothing. Reading the
// missing request rates as 0 would hand LeastRequest "no traffic anywhere" and send a busy
// backend its full share back.
TEST_F(TrafficPolicyControllerTest, NoValueForAnyQueryHoldsInsteadOfDecidingOnZeroTraffic) {
  auto p = policy();
  p["spec"]["strategy"] = "LeastRequest";
  replacePolicy(p);
  prom_.answers["RPS{s=\"checkout-eastus"] = {100.0, {}};
  prom_.answers["LAT{s=\"checkout-eastus"] = {200.0, {}};
  ASSERT_TRUE(reconcile());
  const auto measured = routeWeights();
  int total = 0;
  for (const auto& [name, weight] : measured) {
    total += weight;
  }
  ASSERT_LT(measured.at("checkout-eastus") * 100, 20 * total)
      << "LeastRequest did not weigh the busy backend";
  for (auto kind : {prometheus::QueryErrorKind::NoData, prometheus::QueryErrorKind::NotANumber}) {
    prom_.answers.clear();
    prom_.answers["checkout"] = {std::nullopt, {kind, 0, "", "nothing"}};
    clock_.advance(5s);
    ASSERT_TRUE(reconcile());
    EXPECT_EQ(routeWeights(), measured) << "weights moved on " << toString(kind);
    EXPECT_EQ(condition("MetricsAvailable"), "False") << toString(kind);
    EXPECT_EQ(condition("MetricsAvailable", "reason"), "NoData");
    EXPECT_NE(condition("MetricsAvailable", "message").find(toString(kind)), std::string::npos)
        << condition("MetricsAvailable", "message");
  }
  // A new policy whose backends have no series yet decides on "no traffic" and says so.
  replacePolicy(policy());
  prom_.answers.clear();
  clock_.advance(5s);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(condition("MetricsAvailable"), "False");
  EXPECT_EQ(condition("MetricsAvailable", "reason"), "NoSeriesYet");
  // One backend idle (0/0 is NaN) while the others answer: that backend is unknown, the policy
  // still decides.
  for (const char* name : {"eastus", "westeurope", "southeastasia"}) {
    healthy(name);
  }
  prom_.answers["ERR{s=\"checkout-westeurope"] = {
      std::nullopt, {prometheus::QueryErrorKind::NotANumber, 0, "", "query returned NaN"}};
  clock_.advance(5s);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(condition("MetricsAvailable"), "True");
}

TEST_F(TrafficPolicyControllerTest, MissingServiceTakesTheBackendOutAtOnce) {
  ASSERT_TRUE(client_.remove(kube::resources::services(), {"shop", "checkout-westeurope"}, {}));
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(routeWeights()["checkout-westeurope"], 0);
  EXPECT_EQ(backendStatus("westeurope")["state"], "Drained");
  EXPECT_NE(backendStatus("westeurope")["reason"].get<std::string>().find("not found"),
            std::string::npos);
}

TEST_F(TrafficPolicyControllerTest, AllUnhealthyPanicsAndSpreads) {
  for (const char* name : {"eastus", "westeurope", "southeastasia"}) {
    prom_.answers[std::string("ERR{s=\"checkout-") + name] = {0.5, {}};
  }
  ASSERT_TRUE(reconcile());
  for (int i = 0; i < 6; ++i) {
    clock_.advance(10s);
    ASSERT_TRUE(reconcile());
  }
  EXPECT_EQ(condition("Degraded"), "True");
  EXPECT_EQ(condition("Degraded", "reason"), "Panic");
  for (const auto& [name, weight] : routeWeights()) {
    EXPECT_GT(weight, 0) << name;
  }
  EXPECT_TRUE(hasEvent("Panic"));
}

TEST_F(TrafficPolicyControllerTest, TooManyBackendsForGatewayApiIsExplainedNotDropped) {
  for (int i = 3; i < 17; ++i) {
    client_.seed(kube::resources::services(), service("checkout-b" + std::to_string(i)));
  }
  replacePolicy(policy(17));
  EXPECT_FALSE(reconcile());
  EXPECT_EQ(condition("Ready"), "False");
  EXPECT_NE(status()["message"].get<std::string>().find("16"), std::string::npos)
      << status().dump();
  EXPECT_FALSE(client_.get(kube::resources::httpRoutes(), {"shop", "checkout"}));
}

TEST_F(TrafficPolicyControllerTest, BadTemplateNamesTheField) {
  auto p = policy();
  p["spec"]["metrics"]["queries"]["errorRate"] = "ERR{{svc}}";
  replacePolicy(p);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(condition("MetricsAvailable"), "False");
  const auto message = condition("MetricsAvailable", "message");
  EXPECT_NE(message.find("spec.metrics.queries.errorRate"), std::string::npos) << message;
}

TEST_F(TrafficPolicyControllerTest, InvalidSpecIsReportedNotRetriedHot) {
  auto p = policy();
  p["spec"]["failover"]["shift"]["steps"] = 0;
  replacePolicy(p);
  auto outcome = reconcile();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(condition("Ready", "reason"), "InvalidSpec");
  EXPECT_NE(condition("Ready", "message").find("spec.failover.shift.steps"), std::string::npos);
}

// Confused deputy: whoever may write a TrafficPolicy in "shop" must not get the operator to
// read or write in another namespace. Only parentRefs may name one (Gateway API: the Gateway's
// allowedRoutes decides); a serviceRef naming one is refused with the field named, and nothing
// at all is read or written there.
TEST_F(TrafficPolicyControllerTest, AServiceRefIntoAnotherNamespaceIsRefusedAndNothingThereIsRead) {
  client_.seed(kube::resources::services(), service("checkout-eastus", "payments"));
  auto p = policy();
  p["spec"]["backends"][0]["serviceRef"]["namespace"] = "payments";
  replacePolicy(p);
  client_.clearActions();
  EXPECT_FALSE(reconcile());
  EXPECT_EQ(condition("Ready", "reason"), "InvalidSpec");
  const auto message = condition("Ready", "message");
  EXPECT_NE(message.find("spec.backends[0].serviceRef.namespace: cross-namespace references are "
                         "not allowed"),
            std::string::npos)
      << message;
  for (const auto& a : client_.actions()) {
    EXPECT_NE(a.key.ns, "payments") << a.verb << " " << a.resource.plural << " " << a.key.name;
  }
  EXPECT_FALSE(client_.get(kube::resources::httpRoutes(), {"shop", "checkout"}));
}

TEST_F(TrafficPolicyControllerTest, OnlyTheParentRefCrossesNamespacesAndEveryWriteStaysHome) {
  auto p = policy();
  p["spec"]["parentRefs"] = Object::parse(R"([{"name": "edge", "namespace": "gateways"}])");
  replacePolicy(p);
  client_.clearActions();
  ASSERT_TRUE(reconcile());
  auto route = client_.get(kube::resources::httpRoutes(), {"shop", "checkout"});
  ASSERT_TRUE(route);
  EXPECT_EQ((*route)["spec"]["parentRefs"][0]["namespace"], "gateways");
  for (const auto& rule : (*route)["spec"]["rules"]) {
    for (const auto& ref : rule["backendRefs"]) {
      // A backendRef into another namespace would need a ReferenceGrant there: none is made.
      EXPECT_EQ(ref.value("namespace", "shop"), "shop") << ref.dump();
    }
  }
  for (const auto& a : client_.actions()) {
    EXPECT_EQ(a.key.ns, "shop") << a.verb << " " << a.resource.plural << " " << a.key.name;
  }
}

// A credential in the Prometheus address stays in the spec: status and Events show it redacted.
TEST_F(TrafficPolicyControllerTest, APrometheusPasswordNeverReachesStatusOrEvents) {
  auto p = policy();
  p["spec"]["metrics"]["prometheus"]["address"] = "http://alice:hunter2@prom:9090";
  replacePolicy(p);
  ASSERT_TRUE(reconcile());  // healthy first, so losing Prometheus is a transition with an Event
  prom_.answers.clear();
  prom_.answers["checkout"] = {std::nullopt,
                               {prometheus::QueryErrorKind::Unreachable, 0, "", "refused"}};
  clock_.advance(30s);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(condition("MetricsAvailable"), "False");
  const auto message = condition("MetricsAvailable", "message");
  EXPECT_NE(message.find("http://REDACTED@prom:9090"), std::string::npos) << message;
  EXPECT_EQ(status().dump().find("hunter2"), std::string::npos) << status().dump();
  EXPECT_TRUE(hasEvent("MetricsUnavailable"));
  auto events = client_.list(kube::resources::events(), "shop", {});
  for (const auto& e : events->items) {
    EXPECT_EQ(e.dump().find("hunter2"), std::string::npos) << e.dump();
  }
}

}  // namespace
}  // namespace sluice::controllers

namespace sluice::controllers {
namespace {

// A CanaryRollout that splits eastus: the policy's route carries the canary at the rollout's
// weight, and the rollout's own controller writes no route of its own.
TEST_F(TrafficPolicyControllerTest, CarriesACanaryRolloutInsideOneBackend) {
  client_.seed(kube::resources::services(), service("checkout-eastus-v2"));
  Object rollout = Object::parse(R"({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
    "metadata": {"name": "eastus-v2", "namespace": "shop"},
    "spec": {"stable": {"serviceRef": {"name": "checkout-eastus", "port": 80}},
             "canary": {"serviceRef": {"name": "checkout-eastus-v2", "port": 80}},
             "trafficPolicyRef": {"name": "checkout", "backend": "eastus"}},
    "status": {"phase": "Progressing", "canaryWeight": 25}
  })");
  client_.seed(resources::canaryRollouts(), rollout);
  EXPECT_EQ(reconciler_->policyOfRollout(rollout),
            (std::vector<kube::ObjectKey>{{"shop", "checkout"}}));
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(routeWeights(), (std::map<std::string, int>{{"checkout-eastus", 30},
                                                        {"checkout-eastus-v2", 10},
                                                        {"checkout-westeurope", 30},
                                                        {"checkout-southeastasia", 30}}));
  // The backend's share is still 40 %: the split is inside it.
  EXPECT_EQ(backendStatus("eastus")["weight"], 400000);
  const auto writes = statusWrites();
  clock_.advance(5s);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(statusWrites(), writes) << "weights read back with a split did not match";
}

}  // namespace
}  // namespace sluice::controllers

namespace sluice::controllers {
namespace {

TEST_F(TrafficPolicyControllerTest, NoQueriesAndNoBuiltInsIsSaidNotCalledHealthy) {
  auto p = policy();
  p["spec"]["metrics"].erase("queries");
  replacePolicy(p);
  ASSERT_TRUE(reconcile());
  EXPECT_EQ(condition("MetricsAvailable"), "False");
  EXPECT_NE(condition("MetricsAvailable", "message").find("spec.metrics.queries"),
            std::string::npos);
  EXPECT_EQ(prom_.queries, 0);
}

}  // namespace
}  // namespace sluice::controllers

namespace sluice::controllers {
namespace {

Object tierLimit(const std::string& name, const std::string& created) {
  Object t = Object::parse(R"({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
    "metadata": {"namespace": "shop", "generation": 1},
    "spec": {
      "targetRefs": [{"kind": "TrafficPolicy", "name": "checkout"}],
      "identity": {"header": "X-Customer-ID"}, "quotaTimeZone": "Europe/Stockholm",
      "tiers": [{"name": "premium", "requestsPerSecond": 1000, "priority": 1},
                {"name": "free", "requestsPerSecond": 10, "burst": 20, "dailyQuota": 10000,
                 "priority": 3}]
    }
  })");
  t["metadata"]["name"] = name;
  t["metadata"]["uid"] = name + "-uid";
  t["metadata"]["creationTimestamp"] = created;
  return t;
}

// A TierLimit rides on its policy's route: the policy's provider writes it (Envoy Gateway: the
// BackendTrafficPolicy's rateLimit), the TierLimit reports it in force only once the data plane
// reads back exactly its limits, and a second, younger TierLimit on the same policy is told
// it is not applied.
TEST_F(TrafficPolicyControllerTest, AnAttachedTierLimitRidesOnTheRouteAndIsReportedEnforced) {
  // 2026-11-26 12:00 UTC: Stockholm is at UTC+1 until 2027-03-28 01:00 UTC.
  clock_.set(Clock::TimePoint{std::chrono::seconds{1795694400}});
  client_.seed(resources::tierLimits(), tierLimit("checkout", "2026-11-01T00:00:00Z"));
  client_.seed(resources::tierLimits(), tierLimit("late", "2026-11-02T00:00:00Z"));
  TierLimitReconciler limits(deps_, {});
  const auto limitStatus = [&](const std::string& name) {
    return client_.get(resources::tierLimits(), {"shop", name})->at("status");
  };
  const auto enforced = [&](const std::string& name, const char* field) {
    const Object st = limitStatus(name);
    for (const auto& c : st["conditions"]) {
      if (c["type"] == "RateLimitsEnforced") {
        return c[field].get<std::string>();
      }
    }
    return std::string();
  };
  // Before the policy has run: pending, looked at again soon.
  auto pending = limits.reconcile({"shop", "checkout"});
  ASSERT_TRUE(pending);
  EXPECT_EQ(enforced("checkout", "reason"), "Pending");
  EXPECT_EQ(pending->requeueAfter, 2s);

  auto outcome = reconcile();
  ASSERT_TRUE(outcome) << outcome.error().message;
  auto btp = client_.get(kube::resources::backendTrafficPolicies(), {"shop", "checkout"});
  ASSERT_TRUE(btp);
  EXPECT_EQ((*btp)["spec"]["rateLimit"]["type"], "Global");
  EXPECT_TRUE(
      (*btp)["metadata"]["annotations"].contains(render::gatewayapi::kRateLimitsAnnotation));
  auto running = providers_.find("gatewayAPI")
                     ->verify({"sluice.dev/v1alpha1", "TrafficPolicy", "shop", "checkout", ""});
  ASSERT_TRUE(running && *running);
  const auto& carried = (*running)->routes.at(0).rateLimits;
  ASSERT_TRUE(carried);
  EXPECT_EQ(carried->source, "TierLimit/shop/checkout");  // the older one
  EXPECT_EQ(carried->dayOffsetSeconds, 3600);
  EXPECT_EQ(carried->tiers.at(0).name, "premium");

  auto now = limits.reconcile({"shop", "checkout"});
  ASSERT_TRUE(now);
  EXPECT_EQ(enforced("checkout", "status"), "True");
  EXPECT_EQ(enforced("checkout", "reason"), "Enforced");
  ASSERT_TRUE(limits.reconcile({"shop", "late"}));
  EXPECT_EQ(enforced("late", "status"), "False");
  EXPECT_EQ(enforced("late", "reason"), "Conflicted");
  EXPECT_NE(enforced("late", "message")
                .find("spec.targetRefs[0]: TrafficPolicy checkout is "
                      "limited by TierLimit checkout"),
            std::string::npos)
      << enforced("late", "message");

  // The policy's served rate is the TierLimit's HPA metric: 3 backends x 10 rps.
  kube::Metrics metrics;
  auto withMetrics = deps_;
  withMetrics.metrics = &metrics;
  TrafficPolicyReconciler exporting(withMetrics);
  ASSERT_TRUE(exporting.reconcile({"shop", "checkout"}));
  EXPECT_NE(metrics.render().find("sluice_tierlimit_requests_per_second{namespace=\"shop\","
                                  "tierlimit=\"checkout\",trafficpolicy=\"checkout\"} 30"),
            std::string::npos)
      << metrics.render();

  // A changed limit is pending until the policy carries it, then enforced again.
  Object changed = tierLimit("checkout", "2026-11-01T00:00:00Z");
  changed["spec"]["tiers"][1]["requestsPerSecond"] = 5;
  ASSERT_TRUE(client_.remove(resources::tierLimits(), {"shop", "checkout"}, {}));
  client_.seed(resources::tierLimits(), changed);
  ASSERT_TRUE(limits.reconcile({"shop", "checkout"}));
  EXPECT_EQ(enforced("checkout", "reason"), "Pending");
  ASSERT_TRUE(reconcile());
  ASSERT_TRUE(limits.reconcile({"shop", "checkout"}));
  EXPECT_EQ(enforced("checkout", "reason"), "Enforced");

  // Detached: the series goes.
  ASSERT_TRUE(client_.remove(resources::tierLimits(), {"shop", "checkout"}, {}));
  ASSERT_TRUE(client_.remove(resources::tierLimits(), {"shop", "late"}, {}));
  ASSERT_TRUE(exporting.reconcile({"shop", "checkout"}));
  EXPECT_EQ(metrics.render().find("sluice_tierlimit_requests_per_second{"), std::string::npos)
      << metrics.render();
}

}  // namespace
}  // namespace sluice::controllers
