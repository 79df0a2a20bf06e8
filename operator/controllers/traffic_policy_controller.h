#pragma once

// Reconciles one TrafficPolicy: read it and its backends' Services from the informer caches,
// ask Prometheus about every backend (spec.metrics.queries, else the provider's built-in
// queries), let engine::decideTraffic() choose the weights and the backends' shift states,
// turn them into a route plan (engine::trafficPolicyRoutePlan) for the provider spec.provider
// names, write the status once if it changed, emit the decision's Events, and look again at the
// next metrics interval or shift step, whichever comes first.
//
// Ordering: the weights are applied before the status records the states that produced them,
// so traffic leaves a failing backend as early as possible; a restart re-derives the same step
// from status (the states) and the data plane (the weights held while metrics are unknown).
//
// Status carries what was used and what was decided: per backend its weight (default rule),
// health, error rate, p99 latency, cost and shift state; `decision` changes only when weights
// do, and observed metrics are rounded (error rate to 0.1 %, latency to 1 ms), so a steady
// policy writes nothing.

#include <chrono>
#include <string>
#include <vector>

#include "operator/api/traffic_policy.h"
#include "operator/common/clock.h"
#include "operator/controllers/canary_analysis.h"  // PrometheusClients
#include "operator/controllers/status.h"
#include "operator/engine/traffic_policy.h"
#include "operator/kube/client.h"
#include "operator/kube/controller.h"
#include "operator/kube/events.h"
#include "operator/kube/metrics.h"
#include "operator/render/provider.h"

namespace sluice::controllers {

// Conditions beyond Ready/Progressing/Degraded.
inline constexpr const char* kConditionMetricsAvailable = "MetricsAvailable";
inline constexpr const char* kConditionOverBudget = "OverBudget";

struct TrafficPolicyDeps {
  kube::Reader* cache = nullptr;  // informer-backed reads: policies, services
  kube::StatusWriter* statusWriter = nullptr;
  kube::EventRecorder* events = nullptr;
  PrometheusClients* prometheus = nullptr;
  const render::Providers* providers = nullptr;
  kube::Metrics* metrics = nullptr;  // optional
  const Clock* clock = nullptr;
};

class TrafficPolicyReconciler final : public kube::Reconciler {
 public:
  explicit TrafficPolicyReconciler(TrafficPolicyDeps deps);

  kube::ReconcileOutcome reconcile(const kube::ObjectKey& key) override;

  // For the manager's watches: the policies in a Service's namespace that route to it.
  std::vector<kube::ObjectKey> policiesUsingService(const kube::Object& service);
  std::vector<kube::ObjectKey> ownersInDataPlanes();

 private:
  engine::TrafficObservation observe(const api::TrafficPolicy& policy,
                                     const render::TrafficProvider& provider,
                                     std::vector<bool>& serviceFound, std::string& metricsError);

  TrafficPolicyDeps deps_;
  StatusReporter status_;
};

}  // namespace sluice::controllers
