#pragma once

// Reconciles one TierLimit:
//   - autoscaling: the autoscaling/v2 HPA for spec.autoscaling.targetRef, its minReplicas
//     raised to the schedule floor in force (engine::scheduleFloor), requeued at the exact
//     instant the floor next changes. The operator owns the HPA it generates outright; an HPA
//     someone else made for the same workload is left alone and reported (Ready=False,
//     HPAConflict).
//   - rate limits: carried by each target TrafficPolicy's route (the TrafficPolicy controller
//     puts them there); this controller only reports them. RateLimitsEnforced is True once
//     every target's data plane runs exactly these limits (read back through the provider),
//     else False: TargetNotFound, Conflicted (an older TierLimit limits the policy), Pending
//     (looked at again in 2 s) or InvalidSpec.

#include <string>
#include <vector>

#include "operator/controllers/deps.h"
#include "operator/controllers/status.h"
#include "operator/engine/schedule.h"
#include "operator/kube/controller.h"

namespace sluice::controllers {

class TierLimitReconciler final : public kube::Reconciler {
 public:
  // `zones` reads time zones; empty: engine::systemZones().
  TierLimitReconciler(Deps deps, engine::ZoneLoader zones);

  kube::ReconcileOutcome reconcile(const kube::ObjectKey& key) override;

  // For the manager's watches: the TierLimits in an HPA's namespace that scale its workload
  // (a user's HPA appearing or going changes what they may do).
  std::vector<kube::ObjectKey> tierLimitsForHpa(const kube::Object& hpa);
  // The TierLimits that attach to a TrafficPolicy (spec.targetRefs).
  std::vector<kube::ObjectKey> tierLimitsForPolicy(const kube::Object& policy);

 private:
  struct RateLimitsVerdict {
    const char* status;
    const char* reason;
    std::string message;
    bool recheck;
  };
  RateLimitsVerdict rateLimitsCondition(const api::TierLimit& limit, Clock::TimePoint now);

  Deps deps_;
  engine::ZoneLoader zones_;
  StatusReporter status_;
};

}  // namespace sluice::controllers
