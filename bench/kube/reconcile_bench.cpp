// One reconcile among many: a CanaryRollout, TrafficPolicy or TierLimit reconciled in a
// namespace holding N of each kind (with their Services, HTTPRoutes and HPAs), read through
// informer caches over the in-memory API server, as the operator reads. The same reconcile
// with N = 10 is the baseline: the ratio says how much of a reconcile grows with the
// population. Before the cache indexes (controllers/indexes.h) a reconcile decoded whole
// collections to find the objects it relates to (every rollout of the namespace for a policy's
// canary splits, every HTTPRoute for the provider's owned objects): a TrafficPolicy took 2.5 s
// among 2,000 in the soak, and converging N new CRs was quadratic.
//
// Also the watch mappings (which rollouts use a Service, which TierLimits a policy): they run
// on the informer's thread for every event of the kind watched.
//
// Targets: a reconcile among 10,000 within 2x of the same among 10 (and under 5 ms of CPU).
// Smoke mode: --benchmark_min_time=0.01

#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/targets.h"
#include "operator/common/clock.h"
#include "operator/controllers/canary_rollout_controller.h"
#include "operator/controllers/indexes.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/tier_limit_controller.h"
#include "operator/controllers/traffic_policy_controller.h"
#include "operator/kube/cached_reader.h"
#include "operator/kube/informer.h"
#include "operator/render/gatewayapi/provider.h"
#include "operator/test/mocks/kube/fake_client.h"
#include "operator/test/mocks/prometheus/fake_prometheus.h"

namespace sluice::controllers {
namespace {

using kube::Object;
namespace kr = kube::resources;

constexpr const char* kNs = "shop";

Object service(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", kNs}}},
          {"spec", {{"ports", {{{"port", 80}}}}, {"selector", {{"app", name}}}}}};
}

// clang-format off
Object rollout(int i) {
  Object o = Object::parse(R"json({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
    "metadata": {"namespace": "shop", "generation": 1, "creationTimestamp": "2026-11-01T10:00:00Z"},
    "spec": {
      "route": {"parentRefs": [{"name": "edge"}]},
      "steps": [5, 10, 25, 50, 75, 100], "stepInterval": "1m",
      "analysis": {"prometheus": {"address": "http://prom:9090"}, "interval": "30s",
        "failureLimit": 2, "minRequests": 100, "requestCountQuery": "COUNT{s=\"{{canary}}\"}",
        "metrics": [{"name": "error-rate", "query": "ERRORS{s=\"{{canary}}\"}", "thresholdRange": {"max": "0.01"}}]}
    }
  })json");
  const auto n = std::to_string(i);
  o["metadata"]["name"] = "app-" + n;
  o["metadata"]["uid"] = "6f1c2a3e-0000-4c1e-9a7f-" + n;
  o["spec"]["stable"] = {{"serviceRef", {{"name", "app-" + n + "-stable"}, {"port", 80}}}};
  o["spec"]["canary"] = {{"serviceRef", {{"name", "app-" + n + "-canary"}, {"port", 80}}}};
  o["spec"]["route"]["hostnames"] = {"app-" + n + ".example.com"};
  return o;
}

Object policy(int i) {
  Object o = Object::parse(R"json({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
    "metadata": {"namespace": "shop", "generation": 1, "creationTimestamp": "2026-11-01T10:00:00Z"},
    "spec": {"provider": "gatewayAPI", "parentRefs": [{"name": "edge"}], "strategy": "RoundRobin",
      "failover": {"errorRateThreshold": "0.05", "shift": {"steps": 4, "interval": "10s"}, "recovery": {"healthyFor": "30s"}},
      "metrics": {"prometheus": {"address": "http://prom:9090"}, "interval": "15s",
        "queries": {"errorRate": "ERR{s=\"{{service}}\"}", "latencyP99Milliseconds": "LAT{s=\"{{service}}\"}",
                    "requestsPerSecond": "RPS{s=\"{{service}}\"}"}}}
  })json");
  const auto n = std::to_string(i);
  o["metadata"]["name"] = "pol-" + n;
  o["metadata"]["uid"] = "7f1c2a3e-0000-4c1e-9a7f-" + n;
  o["spec"]["hostnames"] = {"pol-" + n + ".example.com"};
  for (const char* region : {"east", "west", "south"}) {
    o["spec"]["backends"].push_back({{"name", region},
                                     {"serviceRef", {{"name", "pol-" + n + "-" + region}, {"port", 80}}},
                                     {"weight", 30}});
  }
  return o;
}

Object tierLimit(int i) {
  Object o = Object::parse(R"json({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
    "metadata": {"namespace": "shop", "generation": 1, "creationTimestamp": "2026-11-01T10:00:00Z"},
    "spec": {"tierHeader": "X-Tier", "identity": {"header": "X-Customer-ID"}, "defaultTier": "free", "quotaTimeZone": "UTC",
      "tiers": [{"name": "premium", "requestsPerSecond": 1000, "burst": 2000, "priority": 1},
                {"name": "free", "requestsPerSecond": 10, "burst": 20, "priority": 2}],
      "autoscaling": {"minReplicas": 2, "maxReplicas": 20, "cpuUtilization": 70}}
  })json");
  const auto n = std::to_string(i);
  o["metadata"]["name"] = "lim-" + n;
  o["metadata"]["uid"] = "5e2d1c0b-0000-4c1e-9a7f-" + n;
  o["spec"]["targetRefs"] = {{{"group", "sluice.dev"}, {"kind", "TrafficPolicy"}, {"name", "pol-" + n}}};
  o["spec"]["autoscaling"]["targetRef"] = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "work-" + n}};
  return o;
}
// clang-format on

// What the operator's own reconciles leave behind for object i, copied from object 0's: so the
// namespace holds N of each generated kind without N reconciles to set it up.
Object copyFor(Object generated, const std::string& name, const std::string& owner,
               const std::string& uid) {
  auto& meta = generated["metadata"];
  meta.erase("resourceVersion");
  meta.erase("uid");
  meta.erase("creationTimestamp");
  meta["name"] = name;
  meta["labels"]["sluice.dev/owner"] = owner;
  meta["ownerReferences"][0]["name"] = name;
  meta["ownerReferences"][0]["uid"] = uid;
  return generated;
}

// A namespace of N rollouts, policies and TierLimits with their Services, HTTPRoutes and HPAs,
// informers over it with the operator's indexes, and the three reconcilers.
class Namespace {
 public:
  explicit Namespace(int n) : n_(n) {
    promFake_.answers["COUNT"] = {1000.0, {}};
    promFake_.answers["ERRORS"] = {0.001, {}};
    promFake_.answers["ERR{"] = {0.001, {}};
    promFake_.answers["LAT{"] = {20.0, {}};
    promFake_.answers["RPS{"] = {10.0, {}};

    // Object 0 reconciled straight against the API server: what each kind writes.
    seedObject(0);
    {
      Deps direct = depsOver(api_);
      CanaryRolloutReconciler(direct).reconcile({kNs, "app-0"});
      TrafficPolicyReconciler(direct).reconcile({kNs, "pol-0"});
      TierLimitReconciler(direct, engine::systemZones()).reconcile({kNs, "lim-0"});
    }
    auto route = api_.get(kr::httpRoutes(), {kNs, "app-0"});
    auto policyRoute = api_.get(kr::httpRoutes(), {kNs, "pol-0"});
    auto hpa = api_.get(kr::horizontalPodAutoscalers(), {kNs, "lim-0"});
    if (!route || !policyRoute || !hpa) {
      broken_ = "the first reconciles wrote no HTTPRoute or HPA";
      return;
    }
    for (int i = 1; i < n; ++i) {
      seedObject(i);
      const auto k = std::to_string(i);
      api_.seed(kr::httpRoutes(), copyFor(*route, "app-" + k, "canaryrollout.app-" + k,
                                          "6f1c2a3e-0000-4c1e-9a7f-" + k));
      api_.seed(kr::httpRoutes(), copyFor(*policyRoute, "pol-" + k, "trafficpolicy.pol-" + k,
                                          "7f1c2a3e-0000-4c1e-9a7f-" + k));
      auto h = copyFor(*hpa, "lim-" + k, "tierlimit.lim-" + k, "5e2d1c0b-0000-4c1e-9a7f-" + k);
      h["spec"]["scaleTargetRef"]["name"] = "work-" + k;
      api_.seed(kr::horizontalPodAutoscalers(), h);
    }

    for (const auto& resource :
         {resources::canaryRollouts(), resources::trafficPolicies(), resources::tierLimits(),
          kr::services(), kr::httpRoutes(), kr::backendTrafficPolicies(),
          kr::horizontalPodAutoscalers(), kr::pods()}) {
      informers_.push_back(std::make_unique<kube::Informer>(api_, resource));
    }
    auto addIndex = [this](const kube::Resource& resource, const kube::Index& index) {
      for (auto& informer : informers_) {
        if (informer->resource() == resource) {
          informer->addIndex(index.name, index.values);
        }
      }
    };
    for (const auto& [resource, index] : indexes::cacheIndexes()) {
      addIndex(resource, *index);
    }
    for (const auto& [resource, index] : render::gatewayapi::GatewayApiProvider::cacheIndexes()) {
      addIndex(resource, *index);
    }
    for (auto& informer : informers_) {
      cache_.add(informer.get());
      informer->start();
    }
    for (auto& informer : informers_) {
      if (!informer->waitForSync(std::chrono::seconds{60})) {
        broken_ = "an informer did not sync";
        return;
      }
    }
    deps_ = depsOver(cache_);
    canary_ = std::make_unique<CanaryRolloutReconciler>(deps_);
    policies_ = std::make_unique<TrafficPolicyReconciler>(deps_);
    tierLimits_ = std::make_unique<TierLimitReconciler>(deps_, engine::systemZones());
  }

  ~Namespace() {
    for (auto& informer : informers_) {
      informer->stop();
    }
  }

  // Reconciles `key` until nothing more is written (the cache has caught up with each write),
  // as the work queue would; then every further reconcile is the steady one measured.
  std::string settle(kube::Reconciler& reconciler, const std::string& name) {
    for (int round = 0; round < 20; ++round) {
      const auto before = api_.currentResourceVersion();
      auto outcome = reconciler.reconcile({kNs, name});
      if (!outcome) {
        return "reconcile of " + name + " failed: " + outcome.error().message;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
      if (api_.currentResourceVersion() == before) {
        return "";
      }
    }
    return name + " never settled: every reconcile writes";
  }

  kube::MemoryClient& api() { return api_; }
  const std::string& broken() const { return broken_; }
  CanaryRolloutReconciler& canary() { return *canary_; }
  TrafficPolicyReconciler& policies() { return *policies_; }
  TierLimitReconciler& tierLimits() { return *tierLimits_; }
  int size() const { return n_; }

 private:
  void seedObject(int i) {
    const auto k = std::to_string(i);
    api_.seed(resources::canaryRollouts(), rollout(i));
    api_.seed(resources::trafficPolicies(), policy(i));
    api_.seed(resources::tierLimits(), tierLimit(i));
    for (const auto& name : {"app-" + k + "-stable", "app-" + k + "-canary", "pol-" + k + "-east",
                             "pol-" + k + "-west", "pol-" + k + "-south"}) {
      api_.seed(kr::services(), service(name));
    }
  }

  Deps depsOver(kube::Reader& reader) {
    Deps d;
    d.cache = &reader;
    d.writer = &api_;
    d.statusWriter = &api_;
    d.events = &events_;
    d.prometheus = &prometheus_;
    d.clock = &clock_;
    providers_ = std::make_unique<render::Providers>();
    providers_->add(
        std::make_unique<render::gatewayapi::GatewayApiProvider>(reader, api_, kFieldManager));
    d.providers = providers_.get();
    return d;
  }

  int n_;
  std::string broken_;
  kube::MemoryClient api_;
  FakeClock clock_;
  kube::EventRecorder events_{api_, clock_, {}};
  prometheus::FakePrometheus promFake_;
  PrometheusClients prometheus_{[this](const std::string&) {
    return Expected<std::unique_ptr<prometheus::QueryClient>, prometheus::QueryError>(
        std::make_unique<prometheus::ForwardingQueryClient>(&promFake_));
  }};
  std::unique_ptr<render::Providers> providers_;
  std::vector<std::unique_ptr<kube::Informer>> informers_;
  kube::CachedReader cache_;
  Deps deps_;
  std::unique_ptr<CanaryRolloutReconciler> canary_;
  std::unique_ptr<TrafficPolicyReconciler> policies_;
  std::unique_ptr<TierLimitReconciler> tierLimits_;
};

// Built once per size and kept: 10,000 of each kind take seconds to set up.
Namespace& namespaceOf(int n) {
  static std::map<int, std::unique_ptr<Namespace>> built;
  auto& slot = built[n];
  if (!slot) {
    slot = std::make_unique<Namespace>(n);
  }
  return *slot;
}

enum class Kind { Rollout, Policy, TierLimit };

void reconcileOne(benchmark::State& state, Kind kind) {
  auto& ns = namespaceOf(static_cast<int>(state.range(0)));
  if (!ns.broken().empty()) {
    state.SkipWithError(ns.broken().c_str());
    return;
  }
  // The last object of the namespace: created last, after all the others.
  const std::string k = std::to_string(ns.size() - 1);
  kube::Reconciler* reconciler = nullptr;
  std::string name;
  switch (kind) {
    case Kind::Rollout:
      reconciler = &ns.canary();
      name = "app-" + k;
      break;
    case Kind::Policy:
      reconciler = &ns.policies();
      name = "pol-" + k;
      break;
    case Kind::TierLimit:
      reconciler = &ns.tierLimits();
      name = "lim-" + k;
      break;
  }
  if (auto settled = ns.settle(*reconciler, name); !settled.empty()) {
    state.SkipWithError(settled.c_str());
    return;
  }
  const auto before = ns.api().currentResourceVersion();
  for (auto _ : state) {
    auto outcome = reconciler->reconcile({kNs, name});
    if (!outcome) {
      state.SkipWithError(outcome.error().message.c_str());
      break;
    }
  }
  if (ns.api().currentResourceVersion() != before) {
    state.SkipWithError("a steady reconcile wrote to the API server");
  }
}

void BM_ReconcileRollout(benchmark::State& state) {
  reconcileOne(state, Kind::Rollout);
}
void BM_ReconcilePolicy(benchmark::State& state) {
  reconcileOne(state, Kind::Policy);
}
void BM_ReconcileTierLimit(benchmark::State& state) {
  reconcileOne(state, Kind::TierLimit);
}
BENCHMARK(BM_ReconcileRollout)->Arg(10)->Arg(10'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReconcilePolicy)->Arg(10)->Arg(10'000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReconcileTierLimit)->Arg(10)->Arg(10'000)->Unit(benchmark::kMicrosecond);

// What every update of a Service and of a TrafficPolicy (its status writes included) costs
// the informer thread: the rollouts using the Service, and the rollouts and TierLimits of the
// policy.
void BM_WatchMappings(benchmark::State& state) {
  auto& ns = namespaceOf(static_cast<int>(state.range(0)));
  if (!ns.broken().empty()) {
    state.SkipWithError(ns.broken().c_str());
    return;
  }
  const std::string k = std::to_string(ns.size() - 1);
  const Object svc = service("app-" + k + "-canary");
  const Object pol = *ns.api().get(resources::trafficPolicies(), {kNs, "pol-" + k});
  std::size_t found = 0;
  for (auto _ : state) {
    found = ns.canary().rolloutsUsingService(svc).size() +
            ns.canary().rolloutsUsingPolicy(pol).size() +
            ns.tierLimits().tierLimitsForPolicy(pol).size();
    benchmark::DoNotOptimize(found);
  }
  if (found != 2) {
    state.SkipWithError("the mappings did not find the rollout and the TierLimit");
  }
}
BENCHMARK(BM_WatchMappings)->Arg(10)->Arg(10'000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sluice::controllers

int main(int argc, char** argv) {
  using sluice::bench::Target;
  constexpr auto atMost = Target::Goal::AtMost;
  std::vector<Target> targets;
  std::vector<sluice::bench::Ratio> ratios;
  for (const char* name :
       {"BM_ReconcileRollout", "BM_ReconcilePolicy", "BM_ReconcileTierLimit", "BM_WatchMappings"}) {
    const std::string among = std::string(name) + "/10000";
    targets.push_back({{among, "", "ns"}, atMost, 5e6});
    ratios.push_back({{among, "", "ns"}, std::string(name) + "/10"});
  }
  return sluice::bench::runAndReport(argc, argv, {.targets = targets, .ratios = ratios});
}
