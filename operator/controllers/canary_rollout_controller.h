#pragma once

// Reconciles one CanaryRollout: read it and its Services from the informer caches, run the
// analysis when due, let engine::decide() choose the next status and weight, apply the weight
// to the data plane, write the status only if it changed, emit the plan's Events.
//
// Ordering keeps the data plane and status consistent across crashes: a weight that goes down
// (rollback) is applied before the status is written, so traffic leaves a failing canary as
// early as possible; a weight that goes up is applied after the status records the new step,
// so a restart never finds the data plane ahead of status.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "operator/api/canary_rollout.h"
#include "operator/common/clock.h"
#include "operator/controllers/canary_analysis.h"
#include "operator/controllers/haproxy_gateway.h"
#include "operator/engine/canary.h"
#include "operator/kube/client.h"
#include "operator/kube/controller.h"
#include "operator/kube/events.h"
#include "operator/kube/metrics.h"

namespace sluice::controllers {

inline constexpr const char* kFieldManager = "sluice-operator";
inline constexpr const char* kControllerName = "sluice.dev/canary-rollout-controller";

struct CanaryRolloutDeps {
  kube::Reader* cache = nullptr;  // informer-backed reads: rollouts, services, pods, routes
  kube::Writer* writer = nullptr;
  kube::StatusWriter* statusWriter = nullptr;
  kube::EventRecorder* events = nullptr;
  PrometheusClients* prometheus = nullptr;
  HaproxyGateway* haproxy = nullptr;  // null: the haproxy provider is not configured
  kube::Metrics* metrics = nullptr;   // optional
  const Clock* clock = nullptr;
};

class CanaryRolloutReconciler final : public kube::Reconciler {
 public:
  explicit CanaryRolloutReconciler(CanaryRolloutDeps deps);

  kube::ReconcileOutcome reconcile(const kube::ObjectKey& key) override;

  // Renders every haproxy-provider rollout in the cache into the HAProxy config (a no-op
  // when nothing changed). Called at start-up once caches are synced, and by reconcile().
  Expected<void, std::string> syncHaproxyRoutes();

 private:
  struct Applied {
    bool ok = true;
    std::string message;
  };

  Applied applyWeight(const api::CanaryRollout& rollout, std::int32_t weight);
  // spec.autoscaling.mirrorStableHPA: server-side applies the canary's copy of the stable HPA
  // (skipped when the cached copy already matches). A missing stable HPA is reported as an
  // Event; it does not hold the rollout.
  void mirrorStableHpa(const kube::Object& object, const api::CanaryRollout& rollout);
  Expected<void, kube::ApiError> writeStatus(const kube::Object& object,
                                             const api::CanaryRolloutStatus& status);
  kube::ReconcileOutcome reportBlocked(const kube::Object& object, api::CanaryRolloutStatus status,
                                       std::int64_t generation, const std::string& reason,
                                       const std::string& message,
                                       std::optional<std::chrono::seconds> retryAfter);
  // This rollout's HAProxy route, or nullopt when it has none (another provider, being
  // deleted, or a Service missing from the cache).
  std::optional<render::haproxy::CanaryRoute> haproxyRouteFor(const api::CanaryRollout& rollout);
  void recordEvent(const kube::Object& regarding, engine::EventType type, const std::string& reason,
                   const std::string& note);
  std::string canaryPodsIdentity(const std::string& ns, const kube::Object& canaryService);
  std::string defaultRequestCountQuery(const api::CanaryRollout& rollout) const;

  CanaryRolloutDeps deps_;
};

// The haproxy route name of a rollout: "<namespace>.<name>".
std::string haproxyRouteName(const api::ObjectMeta& rollout);

}  // namespace sluice::controllers
