#pragma once

// The three kinds' status as Prometheus gauges, read from the informer caches at scrape time
// (as kube-state-metrics reads objects): what `kubectl get` shows, for dashboards and alerts,
// on every replica and after every restart, with nothing to clean up when a CR goes. Labels
// `namespace` and `name`; per-item series add `metric`, `backend` or `bound`.
//
//   sluice_canary_weight, _step (1-based), _steps, _phase{phase} (1 for the current phase, 0
//   for the others), _analysis_value{metric}, _analysis_threshold{metric,bound=min|max},
//   _analysis_inconclusive (1 while the last analysis was inconclusive),
//   _region_weight{region}
//   sluice_trafficpolicy_backend_weight{backend}, _backend_healthy{backend},
//   _backend_cost_per_hour{backend}, _backend_error_rate{backend},
//   _backend_latency_p99_seconds{backend}, _cost_per_hour, _budget_per_hour
//   sluice_tierlimit_hpa_min_replicas (the floor in force), _hpa_max_replicas,
//   _hpa_current_replicas, _hpa_desired_replicas (from the generated HPA's status),
//   _requests_total{trafficpolicy,tier}, _rejected_total{trafficpolicy,tier} (429s; counted
//   by the data plane of each target policy where its provider can say, see
//   TrafficProvider::rateLimitCounts; reset when that data plane restarts)

#include "operator/kube/informer.h"
#include "operator/kube/metrics.h"
#include "operator/render/provider.h"

namespace sluice::controllers {

struct StatusMetricsSources {
  const kube::Informer* rollouts = nullptr;
  const kube::Informer* policies = nullptr;
  const kube::Informer* tierLimits = nullptr;
  const kube::Informer* hpas = nullptr;          // optional: TierLimit replicas
  const render::Providers* providers = nullptr;  // optional: TierLimit counts
};

// Fills `out` from the objects the informers hold, decoding one at a time.
void collectStatusMetrics(const StatusMetricsSources& sources, kube::Metrics& out);

// One CR's series, for tests and the collector.
void canaryRolloutMetrics(const kube::Object& rollout, kube::Metrics& out);
void trafficPolicyMetrics(const kube::Object& policy, kube::Metrics& out);
void tierLimitMetrics(const kube::Object& tierLimit, const kube::Object* hpa, kube::Metrics& out);
void tierLimitCounts(const kube::Object& tierLimit, const std::string& trafficPolicy,
                     const std::vector<render::TierCounts>& counts, kube::Metrics& out);

}  // namespace sluice::controllers
