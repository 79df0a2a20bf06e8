#pragma once

// The two "abnormal-true" conditions kstatus reads (sigs.k8s.io/cli-utils/pkg/kstatus, what Flux
// uses for health): `Reconciling=True` means the operator is still working towards the spec
// (kstatus InProgress), `Stalled=True` that it cannot get there without a change (kstatus
// Failed). Neither True, and observedGeneration current, is Current. Derived from each kind's
// own status (phase, Ready, Degraded), so they never disagree with it:
//
//   CanaryRollout  Pending, Progressing, Promoting    Reconciling
//                  Paused, Succeeded                  neither (a pause is not "in progress
//                                                     forever" for a GitOps health check)
//                  RolledBack, Failed, InvalidSpec     Stalled (reason: the Ready reason)
//   TrafficPolicy  Ready=True                         neither, unless Degraded=True (panic:
//                                                     too few healthy backends) -> Stalled
//   TierLimit      Ready=True (HPA) and               neither
//                  RateLimitsEnforced True or absent
//   both           Ready (or RateLimitsEnforced) False with reason InvalidSpec or Conflicted
//                  -> Stalled; False for another reason (TargetNotFound, Pending, a provider
//                  error being retried) -> Reconciling

#include "operator/api/canary_rollout.h"
#include "operator/api/tier_limit.h"
#include "operator/api/traffic_policy.h"
#include "operator/common/clock.h"

namespace sluice::api {

inline constexpr const char* kConditionReconciling = "Reconciling";
inline constexpr const char* kConditionStalled = "Stalled";

void setKstatusConditions(CanaryRolloutStatus& status, Clock::TimePoint now);
void setKstatusConditions(TrafficPolicyStatus& status, Clock::TimePoint now);
void setKstatusConditions(TierLimitStatus& status, Clock::TimePoint now);

}  // namespace sluice::api
