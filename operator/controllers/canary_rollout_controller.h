#pragma once

// Reconciles one CanaryRollout: read it and its Services from the informer caches, run the
// analysis when due, let engine::decide() choose the next status and weight, turn the weight
// into a route plan (engine::canaryRoutePlan) and hand it to the provider spec.route.provider
// names, write the status once if it changed, emit the plan's Events.
//
// Ordering keeps the data plane and status consistent across crashes: a weight that goes down
// (rollback) is applied before the status is written, so traffic leaves a failing canary as
// early as possible; a weight that goes up is applied after the status records the new step,
// so a restart never finds the data plane ahead of status. While the data plane refuses
// weights, a retry hands it the weight status records, never a step status does not show yet.
//
// A reconcile writes status at most once. A provider that fails leaves Ready=False with its
// error (written once, not per retry: an unchanged status is not written, and the manager does
// not wake this controller for its own status writes) and returns an error, so the queue
// retries with exponential backoff.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/canary_rollout.h"
#include "operator/common/clock.h"
#include "operator/controllers/canary_analysis.h"
#include "operator/controllers/deps.h"
#include "operator/controllers/plan_ops.h"
#include "operator/controllers/status.h"
#include "operator/engine/canary.h"
#include "operator/engine/route_plan.h"
#include "operator/kube/client.h"
#include "operator/kube/controller.h"
#include "operator/kube/events.h"
#include "operator/kube/metrics.h"
#include "operator/render/provider.h"

namespace sluice::controllers {

inline constexpr const char* kControllerName = "sluice.dev/canary-rollout-controller";

using CanaryRolloutDeps = Deps;

class CanaryRolloutReconciler final : public kube::Reconciler {
 public:
  explicit CanaryRolloutReconciler(CanaryRolloutDeps deps);

  kube::ReconcileOutcome reconcile(const kube::ObjectKey& key) override;

  // For the manager's watches: the rollouts in a Service's namespace that route to it, so a
  // Service that appears or changes is reconciled at once.
  std::vector<kube::ObjectKey> rolloutsUsingService(const kube::Object& service);
  // For the manager's watches: the rollouts that split a backend of this TrafficPolicy.
  std::vector<kube::ObjectKey> rolloutsUsingPolicy(const kube::Object& policy);
  // Every CanaryRollout a data plane still carries output for (deleted while no operator ran
  // included): reconciled once at start so their output goes.
  std::vector<kube::ObjectKey> ownersInDataPlanes();

 private:
  // spec.autoscaling.mirrorStableHPA: server-side applies the canary's copy of the stable HPA
  // (skipped when the cached copy already matches). A missing stable HPA is reported as an
  // Event; it does not hold the rollout.
  void mirrorStableHpa(const kube::Object& object, const api::CanaryRollout& rollout);
  void recordEvent(const kube::Object& regarding, engine::EventType type, const std::string& reason,
                   const std::string& note);
  std::string canaryPodsIdentity(const std::string& ns, const kube::Object& canaryService);
  // sluice_canary_rollbacks_total{namespace,name,reason}: +1 when `next` (written) rolls back,
  // the whole rollout or one of its regions.
  void countRollback(const kube::ObjectKey& key, const api::CanaryRolloutStatus& current,
                     const api::CanaryRolloutStatus& next);

  CanaryRolloutDeps deps_;
  StatusReporter status_;
};

}  // namespace sluice::controllers
