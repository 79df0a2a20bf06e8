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
// Rate limits: the TierLimit attached to the policy (controllers/tier_limit_target.h) goes
// onto the policy's route (engine::RateLimits), so the policy's provider carries it; the
// policy is looked at again when the quota time zone's UTC offset changes.
//
// Status carries what was used and what was decided: per backend its weight (default rule),
// health, error rate, p99 latency, cost and shift state; `decision` changes only when weights
// do, and observed metrics are rounded (error rate to 0.1 %, latency to 1 ms), so a steady
// policy writes nothing.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/traffic_policy.h"
#include "operator/common/clock.h"
#include "operator/controllers/deps.h"
#include "operator/controllers/status.h"
#include "operator/engine/schedule.h"
#include "operator/engine/traffic_policy.h"
#include "operator/engine/traffic_policy_route.h"
#include "operator/kube/client.h"
#include "operator/kube/controller.h"
#include "operator/kube/events.h"
#include "operator/kube/metrics.h"
#include "operator/render/provider.h"

namespace sluice::controllers {

// Conditions beyond Ready/Progressing/Degraded.
inline constexpr const char* kConditionMetricsAvailable = "MetricsAvailable";
inline constexpr const char* kConditionOverBudget = "OverBudget";

// Gauges per policy (labels namespace, name) for alerting (charts/sluice/files/alerts.yaml);
// removed with the policy.
inline constexpr const char* kMetricShifting = "sluice_trafficpolicy_shifting";
inline constexpr const char* kMetricHealthyBackends = "sluice_trafficpolicy_healthy_backends";
inline constexpr const char* kMetricBackends = "sluice_trafficpolicy_backends";
inline constexpr const char* kMetricPanic = "sluice_trafficpolicy_panic";
inline constexpr const char* kMetricBudgetState = "sluice_trafficpolicy_budget_state";
// The requests per second a policy's backends serve (its metrics, summed), for the TierLimit
// attached to it (labels namespace, tierlimit, trafficpolicy): the External metric the
// TierLimit's HPA scales on (render/hpa.h), served to the HPA controller by a metrics adapter
// reading Prometheus. A TierLimit on several policies has one series per policy; the HPA
// controller sums the series its selector matches.
inline constexpr const char* kMetricTierLimitRequestRate = "sluice_tierlimit_requests_per_second";

using TrafficPolicyDeps = Deps;  // writer unused: it writes status and provider output only

class TrafficPolicyReconciler final : public kube::Reconciler {
 public:
  // `zones` reads a TierLimit's spec.quotaTimeZone; empty: engine::systemZones().
  explicit TrafficPolicyReconciler(TrafficPolicyDeps deps, engine::ZoneLoader zones = {});

  kube::ReconcileOutcome reconcile(const kube::ObjectKey& key) override;

  // For the manager's watches: the policies in a Service's namespace that route to it.
  std::vector<kube::ObjectKey> policiesUsingService(const kube::Object& service);
  // The policy a CanaryRollout splits a backend of (spec.trafficPolicyRef): its weight
  // changes are carried by the policy's route.
  std::vector<kube::ObjectKey> policyOfRollout(const kube::Object& rollout);
  std::vector<kube::ObjectKey> ownersInDataPlanes();
  // The policies a TierLimit names in spec.targetRefs: their routes carry its limits.
  std::vector<kube::ObjectKey> policiesOfTierLimit(const kube::Object& tierLimit);

 private:
  std::vector<engine::CanarySplit> canarySplits(const api::TrafficPolicy& policy);
  engine::TrafficObservation observe(const api::TrafficPolicy& policy,
                                     const render::TrafficProvider& provider,
                                     std::vector<bool>& serviceFound,
                                     std::vector<engine::ServiceTarget>& targets,
                                     std::string& metricsError, std::string& metricsReason,
                                     std::string& noSeriesYet);

  struct PolicyGauges {
    double shifting = 0;
    double healthy = 0;
    double backends = 0;
    double panic = 0;
    double budget = 0;
  };
  // Sets the policy's gauges, or removes them (nullptr).
  void exportGauges(const kube::ObjectKey& key, const PolicyGauges* gauges);

  // Sets the request-rate series of the policy's TierLimit (empty: none, or no rate), and
  // removes the one it set before for another TierLimit.
  void exportRequestRate(const kube::ObjectKey& key, const std::string& tierLimit,
                         std::optional<double> requestsPerSecond);

  TrafficPolicyDeps deps_;
  engine::ZoneLoader zones_;
  std::mutex rateMu_;
  std::map<std::string, std::string> rateSeries_;  // policy key -> the TierLimit it exports for
  StatusReporter status_;
};

}  // namespace sluice::controllers
