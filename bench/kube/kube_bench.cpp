// Benchmarks for operator/kube. Targets (design budget: the whole operator within 64 MiB RSS
// with 10,000 CRs cached, and the control loop never the bottleneck), checked by main() below,
// which prints each figure beside its target ("met"/"missed") and the ratios to the baselines:
//   - watch decode: >= 20,000 events/s on one core (a busy cluster sends hundreds per second);
//     baseline: parsing the same lines into a DOM, the least any decoder does
//   - informer cache: <= 2 KiB per cached CR (10,000 CRs -> ~20 MiB), versus the full DOM
//   - work queue: >= 500,000 add/get/done cycles per second
// A benchmark whose work went wrong (a decode error, a cache that lost objects) reports an
// error, and the binary exits 1. Smoke mode: --benchmark_min_time=0.01

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <string>
#include <vector>

#include "bench/common/targets.h"
#include "operator/common/clock.h"
#include "operator/controllers/status_metrics.h"
#include "operator/kube/informer.h"
#include "operator/kube/watch_decode.h"
#include "operator/kube/workqueue.h"
#include "operator/test/mocks/kube/fake_client.h"

namespace sluice::kube {
namespace {

// A custom resource like the operator's own (kube/ itself names none).
kube::Resource canaryRollouts() {
  return {"sluice.dev", "v1alpha1", "canaryrollouts", "CanaryRollout", true};
}

// A CanaryRollout as the API server returns it, managedFields included (they are ~40% of a
// real object's bytes and the cache strips them).
// The i-th copy of `base`: its own name, namespace (50 of them), uid and resourceVersion.
Object numbered(const Object& base, const std::string& name, const std::string& uid, int i) {
  Object o = base;
  auto& meta = o["metadata"];
  meta["name"] = name + std::to_string(i);
  meta["namespace"] = "team-" + std::to_string(i % 50);
  meta["uid"] = uid + std::to_string(100000000000LL + i);
  meta["resourceVersion"] = std::to_string(1000 + i);
  return o;
}

// clang-format off
Object realisticRollout(int i) {
  static const Object base = Object::parse(R"json({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "CanaryRollout",
    "metadata": {
      "generation": 3, "creationTimestamp": "2026-11-01T10:00:00Z",
      "labels": {"app.kubernetes.io/name": "payment-api", "team": "payments"},
      "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"CanaryRollout\",\"metadata\":{\"name\":\"payment-api\"},\"spec\":{\"steps\":[5,10,25,50,75,100],\"stepInterval\":\"1m\"}}"},
      "managedFields": [
        {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "sluice.dev/v1alpha1", "time": "2026-11-01T10:00:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}, "f:spec": {".": {}, "f:analysis": {".": {}, "f:failureLimit": {}, "f:interval": {}, "f:metrics": {}, "f:minRequests": {}}, "f:canary": {}, "f:stable": {}, "f:stepInterval": {}, "f:steps": {}}}},
        {"manager": "sluice-operator", "operation": "Update", "apiVersion": "sluice.dev/v1alpha1", "time": "2026-11-01T10:05:00Z", "fieldsType": "FieldsV1", "subresource": "status",
         "fieldsV1": {"f:status": {".": {}, "f:canaryWeight": {}, "f:conditions": {}, "f:currentStep": {}, "f:observedGeneration": {}, "f:phase": {}}}}
      ]
    },
    "spec": {
      "stable": {"serviceRef": {"name": "payment-api-stable", "port": 80}},
      "canary": {"serviceRef": {"name": "payment-api-canary", "port": 80}},
      "steps": [5, 10, 25, 50, 75, 100], "stepInterval": "1m",
      "analysis": {"prometheus": {"address": "http://prometheus.monitoring:9090"}, "interval": "30s",
        "failureLimit": 2, "minRequests": 100,
        "metrics": [{"name": "error-rate", "query": "sum(rate(http_requests_total{service=\"{{canary}}\",code=~\"5..\"}[1m])) / sum(rate(http_requests_total{service=\"{{canary}}\"}[1m]))", "thresholdRange": {"max": "0.01"}}]}
    },
    "status": {"phase": "Progressing", "currentStep": 2, "canaryWeight": 25, "observedGeneration": 3,
      "conditions": [{"type": "Ready", "status": "True", "reason": "StepHealthy", "message": "step 2 healthy", "lastTransitionTime": "2026-11-01T10:05:00Z", "observedGeneration": 3}]}
  })json");
  return numbered(base, "payment-api-", "6f1c2a3e-8d4b-4c1e-9a7f-", i);
}

// samples/tierlimit-checkout.yaml as the API server returns it, with its status.
Object realisticTierLimit(int i) {
  static const Object base = Object::parse(R"json({
    "apiVersion": "sluice.dev/v1alpha1", "kind": "TierLimit",
    "metadata": {"generation": 1, "creationTimestamp": "2026-11-01T10:00:00Z",
      "labels": {"app.kubernetes.io/name": "checkout"},
      "managedFields": [{"manager": "sluice-operator", "operation": "Update", "apiVersion": "sluice.dev/v1alpha1", "time": "2026-11-01T10:05:00Z", "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {"f:status": {".": {}, "f:conditions": {}, "f:hpa": {}}}}]},
    "spec": {"targetRefs": [{"group": "sluice.dev", "kind": "TrafficPolicy", "name": "checkout"}],
      "tierHeader": "X-Tier", "identity": {"header": "X-Customer-ID"}, "defaultTier": "free", "quotaTimeZone": "UTC",
      "tiers": [{"name": "premium", "requestsPerSecond": 1000, "burst": 2000, "concurrent": 100, "dailyQuota": 10000000, "priority": 1},
                {"name": "standard", "requestsPerSecond": 100, "burst": 200, "concurrent": 20, "dailyQuota": 1000000, "priority": 2},
                {"name": "free", "requestsPerSecond": 10, "burst": 20, "concurrent": 5, "dailyQuota": 10000, "priority": 3}],
      "queue": {"maxSize": 500, "timeout": "2s"},
      "autoscaling": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"},
        "minReplicas": 2, "maxReplicas": 20, "cpuUtilization": 70, "memoryUtilization": 80, "requestsPerSecondPerReplica": 200,
        "behavior": {"scaleUp": {"stabilizationWindow": "30s"}, "scaleDown": {"stabilizationWindow": "300s"}},
        "schedules": [{"name": "business-hours", "cron": "0 8 * * 1-5", "duration": "10h", "minReplicas": 6, "timeZone": "Europe/Stockholm"}]}},
    "status": {"observedGeneration": 1,
      "hpa": {"name": "checkout", "minReplicas": 2, "activeSchedule": "", "nextChange": "2026-11-02T07:00:00Z"},
      "conditions": [{"type": "Ready", "status": "True", "reason": "HPAApplied", "message": "HPA checkout in place", "lastTransitionTime": "2026-11-01T10:05:00Z", "observedGeneration": 1},
                     {"type": "RateLimitsEnforced", "status": "True", "reason": "Enforced", "message": "enforced on TrafficPolicy checkout (haproxy)", "lastTransitionTime": "2026-11-01T10:05:00Z", "observedGeneration": 1}]}
  })json");
  return numbered(base, "checkout-", "5e2d1c0b-8d4b-4c1e-9a7f-", i);
}
// clang-format on

// The sample TrafficPolicy (three regions, three tiers, failover, budget, metrics) as the API
// server returns it after the operator wrote its status: the larger of the kinds.
// clang-format off
Object realisticPolicy(int i) {
  static const Object base = [] {
    Object o = Object::parse(R"json({
      "apiVersion": "sluice.dev/v1alpha1", "kind": "TrafficPolicy",
      "metadata": {"generation": 2, "creationTimestamp": "2026-11-01T10:00:00Z",
        "labels": {"app.kubernetes.io/name": "checkout"},
        "managedFields": [{"manager": "sluice-operator", "operation": "Update", "apiVersion": "sluice.dev/v1alpha1", "time": "2026-11-01T10:05:00Z", "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {"f:status": {".": {}, "f:backends": {}, "f:conditions": {}, "f:decision": {}}}}]},
      "spec": {"parentRefs": [{"name": "edge", "namespace": "gateways"}], "hostnames": ["checkout.example.com"],
        "provider": "gatewayAPI", "strategy": "Hybrid", "healthCheck": {"path": "/healthz", "interval": "10s"},
        "backends": [], "tiers": [],
        "failover": {"errorRateThreshold": "0.05", "latencyThresholdMilliseconds": 500, "shift": {"steps": 10, "interval": "6s"}, "recovery": {"healthyFor": "2m"}, "minHealthyBackends": 1},
        "budget": {"maxCostPerHour": "100", "alertAtPercent": 80},
        "metrics": {"prometheus": {"address": "http://prometheus.monitoring:9090"}, "interval": "15s",
          "queries": {"errorRate": "sum(rate(http_requests_total{service=\"{{service}}\",namespace=\"{{namespace}}\",code=~\"5..\"}[1m])) / sum(rate(http_requests_total{service=\"{{service}}\",namespace=\"{{namespace}}\"}[1m]))",
                      "latencyP99Milliseconds": "1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service=\"{{service}}\",namespace=\"{{namespace}}\"}[1m])))",
                      "requestsPerSecond": "sum(rate(http_requests_total{service=\"{{service}}\",namespace=\"{{namespace}}\"}[1m]))"}}},
      "status": {"observedGeneration": 2, "activeBackends": 3, "backends": [],
        "decision": {"strategy": "Hybrid", "decidedAt": "2026-11-01T10:05:00Z", "durationMicroseconds": 41},
        "estimatedCostPerHour": "3.6",
        "conditions": [{"type": "Ready", "status": "True", "reason": "WeightsApplied", "message": "3 of 3 backends receive traffic through gatewayAPI", "lastTransitionTime": "2026-11-01T10:05:00Z", "observedGeneration": 2},
                       {"type": "Progressing", "status": "False", "reason": "Stable", "message": "no shift in progress", "lastTransitionTime": "2026-11-01T10:05:00Z", "observedGeneration": 2},
                       {"type": "Degraded", "status": "False", "reason": "EnoughHealthyBackends", "message": "at least failover.minHealthyBackends backends are healthy", "lastTransitionTime": "2026-11-01T10:05:00Z", "observedGeneration": 2}]}
    })json");
    const char* regions[] = {"eastus", "westeurope", "southeastasia"};
    const char* tiers[] = {"premium", "standard", "free"};
    for (int r = 0; r < 3; ++r) {
      o["spec"]["backends"].push_back({{"name", regions[r]}, {"serviceRef", {{"name", std::string("checkout-") + regions[r]}, {"port", 8080}}}, {"region", regions[r]}, {"weight", 30 + r}, {"capacity", {{"maxRequestsPerSecond", 5000}}}, {"cost", {{"perMillionRequests", "0.10"}, {"egressPerGB", "0.02"}}}});
      o["spec"]["tiers"].push_back({{"name", tiers[r]}, {"match", {{"headers", {{{"name", "X-Tier"}, {"value", tiers[r]}}}}}}, {"priority", r + 1}, {"latencyTargetMilliseconds", 50 * (r + 1)}, {"bandwidth", "1G"}, {"burstAllowance", "1.5"}, {"strategy", "Hybrid"}});
      o["status"]["backends"].push_back({{"name", regions[r]}, {"weight", 333333}, {"healthy", true}, {"errorRate", 0.001}, {"latencyP99Milliseconds", 42}, {"costPerHour", "1.2"}, {"state", "Healthy"}, {"healthySince", "2026-11-01T10:00:00Z"}});
    }
    return o;
  }();
  return numbered(base, "checkout-", "7f1c2a3e-8d4b-4c1e-9a7f-", i);
}
// clang-format on

std::vector<std::string> watchLines() {
  std::vector<std::string> lines;
  for (int i = 0; i < 256; ++i) {
    lines.push_back(
        Object{{"type", i % 3 == 0 ? "ADDED" : "MODIFIED"}, {"object", realisticRollout(i)}}
            .dump());
  }
  return lines;
}

// Every line decodes to the event it encodes; else why not.
std::string checkDecodes(const std::vector<std::string>& lines) {
  for (size_t i = 0; i < lines.size(); ++i) {
    auto event = decodeWatchEvent(lines[i]);
    if (!event) {
      return "line " + std::to_string(i) + " does not decode: " + event.error().describe();
    }
    const auto want = i % 3 == 0 ? WatchEvent::Type::Added : WatchEvent::Type::Modified;
    if (event->type != want ||
        event->object["metadata"]["name"] != "payment-api-" + std::to_string(i)) {
      return "line " + std::to_string(i) + " decodes to a different event";
    }
  }
  return "";
}

void BM_WatchDecode(benchmark::State& state) {
  const auto lines = watchLines();
  if (auto why = checkDecodes(lines); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  size_t bytes = 0;
  size_t i = 0;
  for (auto _ : state) {
    const auto& line = lines[i++ % lines.size()];
    auto event = decodeWatchEvent(line);
    if (!event) {
      state.SkipWithError(("decode failed: " + event.error().describe()).c_str());
      break;
    }
    benchmark::DoNotOptimize(event);
    bytes += line.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["events_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WatchDecode);

// Baseline: the same lines parsed into a DOM and nothing else.
void BM_BaselineJsonParse(benchmark::State& state) {
  const auto lines = watchLines();
  size_t i = 0;
  for (auto _ : state) {
    auto dom = Object::parse(lines[i++ % lines.size()], nullptr,
                             /*allow_exceptions=*/false);
    if (dom.is_discarded()) {
      state.SkipWithError("a line is not JSON");
      break;
    }
    benchmark::DoNotOptimize(dom);
  }
  state.counters["events_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BaselineJsonParse);

// Heap bytes in use according to glibc: the delta around building a cache is what it costs.
size_t heapInUse() {
  return mallinfo2().uordblks;
}

// Heap bytes per object kept between `before` and now; reports an error (and returns 0) when
// the heap did not grow, as when another allocator than glibc's serves the allocations: a
// figure of 0 would meet any memory target.
double heapPerObject(benchmark::State& state, size_t before, int n) {
  const size_t after = heapInUse();
  if (after <= before) {
    state.SkipWithError("the heap did not grow: mallinfo2() does not see these allocations");
    return 0;
  }
  return static_cast<double>(after - before) / n;
}

void BM_InformerCompactCache(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<Object> objects;
  for (int i = 0; i < n; ++i)
    objects.push_back(realisticRollout(i));
  FakeClient fake;
  double perObject = 0;
  for (auto _ : state) {
    size_t before = heapInUse();
    Informer informer(fake, canaryRollouts());
    informer.addIndex(kOwnerUidIndex, ownerUidIndex());
    informer.replaceAllForTest(objects, "99999");
    perObject = heapPerObject(state, before, n);
    if (informer.size() != static_cast<size_t>(n)) {
      state.SkipWithError("the informer does not hold every object it was given");
    }
    if (state.error_occurred()) {
      break;
    }
    state.counters["estimated_bytes_per_object"] = static_cast<double>(informer.cachedBytes()) / n;
    benchmark::DoNotOptimize(informer.size());
  }
  state.counters["bytes_per_object"] = perObject;
}
BENCHMARK(BM_InformerCompactCache)->Arg(10'000)->Unit(benchmark::kMillisecond);

// Heap bytes per object of an informer holding `objects` of `resource` (no index).
void compactCacheOf(benchmark::State& state, const std::vector<Object>& objects,
                    const Resource& resource) {
  FakeClient fake;
  double perObject = 0;
  const int n = static_cast<int>(objects.size());
  for (auto _ : state) {
    size_t before = heapInUse();
    Informer informer(fake, resource);
    informer.replaceAllForTest(objects, "99999");
    perObject = heapPerObject(state, before, n);
    if (informer.size() != objects.size()) {
      state.SkipWithError("the informer does not hold every object it was given");
    }
    if (state.error_occurred()) {
      break;
    }
    benchmark::DoNotOptimize(informer.size());
  }
  state.counters["bytes_per_object"] = perObject;
}

// The same for TrafficPolicies, the largest kind: the 2 KiB budget holds for every kind.
void BM_InformerCompactCachePolicies(benchmark::State& state) {
  std::vector<Object> objects;
  for (int i = 0; i < state.range(0); ++i)
    objects.push_back(realisticPolicy(i));
  compactCacheOf(state, objects,
                 {"sluice.dev", "v1alpha1", "trafficpolicies", "TrafficPolicy", true});
}
BENCHMARK(BM_InformerCompactCachePolicies)->Arg(10'000)->Unit(benchmark::kMillisecond);

// And for TierLimits (the checkout sample: three tiers, a queue, autoscaling with a schedule).
void BM_InformerCompactCacheTierLimits(benchmark::State& state) {
  std::vector<Object> objects;
  for (int i = 0; i < state.range(0); ++i)
    objects.push_back(realisticTierLimit(i));
  compactCacheOf(state, objects, {"sluice.dev", "v1alpha1", "tierlimits", "TierLimit", true});
}
BENCHMARK(BM_InformerCompactCacheTierLimits)->Arg(10'000)->Unit(benchmark::kMillisecond);

// Baseline: the same objects held as full nlohmann DOMs (what a naive cache would store).
void BM_InformerDomBaseline(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<Object> objects;
  for (int i = 0; i < n; ++i)
    objects.push_back(realisticRollout(i));
  double perObject = 0;
  for (auto _ : state) {
    size_t before = heapInUse();
    std::vector<Object> cache(objects.begin(), objects.end());
    perObject = heapPerObject(state, before, n);
    if (state.error_occurred()) {
      break;
    }
    benchmark::DoNotOptimize(cache.data());
  }
  state.counters["bytes_per_object"] = perObject;
}
BENCHMARK(BM_InformerDomBaseline)->Arg(10'000)->Unit(benchmark::kMillisecond);

// Fairer baseline: full DOMs of the objects after the same stripping the compact cache does.
void BM_InformerStrippedDomBaseline(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<Object> objects;
  for (int i = 0; i < n; ++i) {
    objects.push_back(realisticRollout(i));
    stripForCache(objects.back());
  }
  double perObject = 0;
  for (auto _ : state) {
    size_t before = heapInUse();
    std::vector<Object> cache(objects.begin(), objects.end());
    perObject = heapPerObject(state, before, n);
    if (state.error_occurred()) {
      break;
    }
    benchmark::DoNotOptimize(cache.data());
  }
  state.counters["bytes_per_object"] = perObject;
}
BENCHMARK(BM_InformerStrippedDomBaseline)->Arg(10'000)->Unit(benchmark::kMillisecond);

// The compact cache measured the same way as the baseline (heap bytes allocated and kept).
void BM_InformerCompactHeap(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<Object> objects;
  for (int i = 0; i < n; ++i) {
    objects.push_back(realisticRollout(i));
    stripForCache(objects.back());
  }
  double perObject = 0;
  for (auto _ : state) {
    size_t before = heapInUse();
    std::vector<CachedPtr> cache;
    cache.reserve(static_cast<size_t>(n));
    for (const auto& o : objects)
      cache.push_back(packForCache(o));
    perObject = heapPerObject(state, before, n);
    if (state.error_occurred()) {
      break;
    }
    benchmark::DoNotOptimize(cache.data());
  }
  state.counters["bytes_per_object"] = perObject;
}
BENCHMARK(BM_InformerCompactHeap)->Arg(10'000)->Unit(benchmark::kMillisecond);

void BM_WorkQueueAddGetDone(benchmark::State& state) {
  SystemClock clock;
  WorkQueue queue(clock);
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i)
    keys.push_back("ns/obj-" + std::to_string(i));
  size_t i = 0;
  for (auto _ : state) {
    const auto& key = keys[i++ % keys.size()];
    queue.add(key);
    queue.add(key);  // deduplicated
    auto got = queue.get();
    if (!got || *got != key) {
      state.SkipWithError("get() did not return the key just added");
      break;
    }
    queue.done(*got);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WorkQueueAddGetDone);

// A /metrics scrape with 10,000 CanaryRollouts cached: controllers::collectStatusMetrics
// decodes each cached object once and writes its gauges (about 15 series a rollout), then
// the exposition text is rendered. Baseline: decoding every cached object and nothing else.
void informerWith(Informer& informer, int n) {
  std::vector<Object> objects;
  for (int i = 0; i < n; ++i) {
    auto o = realisticRollout(i);
    o["status"] = {
        {"phase", "Progressing"},
        {"currentStep", 2},
        {"canaryWeight", 25},
        {"analysis",
         {{"metrics", {{{"name", "error-rate"}, {"value", 0.01}, {"result", "Pass"}}}}}}};
    objects.push_back(std::move(o));
  }
  informer.replaceAllForTest(objects, "99999");
}

void BM_StatusMetricsScrape(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  FakeClient fake;
  Informer informer(fake, canaryRollouts());
  informerWith(informer, n);
  const sluice::controllers::StatusMetricsSources sources{&informer, nullptr, nullptr, nullptr,
                                                          nullptr};
  std::size_t bytes = 0;
  for (auto _ : state) {
    Metrics registry;
    registry.addCollector(
        [&](Metrics& out) { sluice::controllers::collectStatusMetrics(sources, out); });
    bytes = registry.render().size();
    benchmark::DoNotOptimize(bytes);
  }
  if (bytes < static_cast<std::size_t>(n) * 100) {
    state.SkipWithError("the scrape does not carry every rollout's series");
  }
  state.counters["exposition_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_StatusMetricsScrape)->Arg(10'000)->Unit(benchmark::kMillisecond);

void BM_BaselineDecodeCache(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  FakeClient fake;
  Informer informer(fake, canaryRollouts());
  informerWith(informer, n);
  for (auto _ : state) {
    std::size_t fields = 0;
    for (const auto& key : informer.keys()) {
      fields += informer.getCached(key)->decode().size();
    }
    benchmark::DoNotOptimize(fields);
  }
}
BENCHMARK(BM_BaselineDecodeCache)->Arg(10'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::kube

int main(int argc, char** argv) {
  using sluice::bench::Target;
  constexpr auto atLeast = Target::Goal::AtLeast;
  constexpr auto atMost = Target::Goal::AtMost;
  const std::string cache = "BM_InformerCompactCache/10000";
  const std::string heap = "BM_InformerCompactHeap/10000";
  return sluice::bench::runAndReport(
      argc, argv,
      {.targets = {{{"BM_WatchDecode", "events_per_second", "events/s"}, atLeast, 20'000},
                   {{cache, "bytes_per_object", "B/object"}, atMost, 2048},
                   {{"BM_InformerCompactCachePolicies/10000", "bytes_per_object", "B/object"},
                    atMost,
                    2048},
                   {{"BM_InformerCompactCacheTierLimits/10000", "bytes_per_object", "B/object"},
                    atMost,
                    2048},
                   {{"BM_WorkQueueAddGetDone", "items_per_second", "cycles/s"}, atLeast, 500'000},
                   // A scrape of 10,000 rollouts: at most 1 s of CPU, well inside Prometheus's
                   // 10 s scrape timeout (3 % of a core at the chart's 30 s interval).
                   {{"BM_StatusMetricsScrape/10000", "", "ns"}, atMost, 1e9}},
       .ratios = {{{"BM_WatchDecode", "", "ns"}, "BM_BaselineJsonParse"},
                  {{cache, "bytes_per_object", "B/object"}, "BM_InformerDomBaseline/10000"},
                  {{heap, "bytes_per_object", "B/object"}, "BM_InformerDomBaseline/10000"},
                  {{heap, "bytes_per_object", "B/object"}, "BM_InformerStrippedDomBaseline/10000"},
                  {{"BM_StatusMetricsScrape/10000", "", "ns"}, "BM_BaselineDecodeCache/10000"}}});
}
