#include "operator/api/kstatus.h"

#include <string>

#include "operator/api/conditions.h"

namespace sluice::api {
namespace {

enum class Health { Reconciling, Stalled, Settled };

struct Verdict {
  Health health;
  std::string reason;
  std::string message;
};

// Writes Reconciling and Stalled from `verdict`; the one not in force is False with the same
// reason, so `kubectl get -o yaml` tells why either way.
void apply(std::vector<Condition>& conditions, std::int64_t generation, const Verdict& verdict,
           Clock::TimePoint now) {
  const auto status = [&](Health h) {
    return verdict.health == h ? kConditionTrue : kConditionFalse;
  };
  setCondition(conditions,
               {kConditionReconciling, status(Health::Reconciling), verdict.reason, verdict.message,
                "", generation},
               now);
  setCondition(
      conditions,
      {kConditionStalled, status(Health::Stalled), verdict.reason, verdict.message, "", generation},
      now);
}

bool terminalReason(const std::string& reason) {
  return reason == kReasonInvalidSpec || reason == "Conflicted";
}

// TrafficPolicy and TierLimit: Ready decides, InvalidSpec/Conflicted stall.
Verdict fromReady(const std::vector<Condition>& conditions) {
  const Condition* ready = findCondition(conditions, kConditionReady);
  if (ready == nullptr) {
    return {Health::Reconciling, "NotObserved", "The operator has not reconciled it yet"};
  }
  if (ready->status == kConditionTrue) {
    return {Health::Settled, ready->reason, ready->message};
  }
  if (terminalReason(ready->reason)) {
    return {Health::Stalled, ready->reason, ready->message};
  }
  return {Health::Reconciling, ready->reason, ready->message};
}

}  // namespace

void setKstatusConditions(CanaryRolloutStatus& status, Clock::TimePoint now) {
  const Condition* ready = findCondition(status.conditions, kConditionReady);
  const Condition* progressing = findCondition(status.conditions, kConditionProgressing);
  const std::string readyReason = ready ? ready->reason : toString(status.phase);
  Verdict v{Health::Settled, toString(status.phase), status.message};
  if (ready != nullptr && terminalReason(ready->reason)) {
    v = {Health::Stalled, ready->reason, ready->message};
  } else {
    switch (status.phase) {
      case CanaryPhase::Pending:
      case CanaryPhase::Progressing:
      case CanaryPhase::Promoting:
        v = {Health::Reconciling, progressing ? progressing->reason : toString(status.phase),
             status.message};
        break;
      case CanaryPhase::Paused:
        v = {Health::Settled, "RolloutPaused", status.message};
        break;
      case CanaryPhase::Succeeded:
        v = {Health::Settled, "RolloutSucceeded", status.message};
        break;
      case CanaryPhase::RolledBack:
      case CanaryPhase::Failed:
        v = {Health::Stalled, readyReason, status.message};
        break;
    }
  }
  apply(status.conditions, status.observedGeneration, v, now);
}

void setKstatusConditions(TrafficPolicyStatus& status, Clock::TimePoint now) {
  Verdict v = fromReady(status.conditions);
  const Condition* degraded = findCondition(status.conditions, kConditionDegraded);
  if (v.health == Health::Settled && degraded != nullptr && degraded->status == kConditionTrue) {
    v = {Health::Stalled, degraded->reason, degraded->message};
  }
  apply(status.conditions, status.observedGeneration, v, now);
}

void setKstatusConditions(TierLimitStatus& status, Clock::TimePoint now) {
  // Ready is about the HPA; RateLimitsEnforced about the limits in the gateway. Both count.
  Verdict v = fromReady(status.conditions);
  const Condition* limits = findCondition(status.conditions, "RateLimitsEnforced");
  if (v.health != Health::Stalled && limits != nullptr && limits->status != kConditionTrue) {
    if (terminalReason(limits->reason)) {
      v = {Health::Stalled, limits->reason, limits->message};
    } else if (v.health == Health::Settled) {
      v = {Health::Reconciling, limits->reason, limits->message};
    }
  }
  apply(status.conditions, status.observedGeneration, v, now);
}

}  // namespace sluice::api
