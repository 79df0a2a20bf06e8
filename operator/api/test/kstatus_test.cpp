#include "operator/api/kstatus.h"

#include <gtest/gtest.h>

#include <string>

#include "operator/api/conditions.h"

namespace sluice::api {
namespace {

// "Reconciling/Stalled" as two letters: R, S or - for neither; what kstatus turns into
// InProgress, Failed and Current.
template <class Status>
std::string kstatus(Status status) {
  FakeClock clock;
  setKstatusConditions(status, clock.now());
  const bool reconciling = isConditionTrue(status.conditions, kConditionReconciling);
  const bool stalled = isConditionTrue(status.conditions, kConditionStalled);
  EXPECT_NE(findCondition(status.conditions, kConditionReconciling), nullptr);
  EXPECT_NE(findCondition(status.conditions, kConditionStalled), nullptr);
  EXPECT_FALSE(reconciling && stalled);
  return reconciling ? "InProgress" : stalled ? "Failed" : "Current";
}

void set(std::vector<Condition>& conditions, const char* type, const char* status,
         const char* reason) {
  FakeClock clock;
  setCondition(conditions, {type, status, reason, "why", "", 1}, clock.now());
}

CanaryRolloutStatus canary(CanaryPhase phase, const char* readyReason = "Whatever") {
  CanaryRolloutStatus s;
  s.observedGeneration = 1;
  s.phase = phase;
  set(s.conditions, kConditionReady,
      phase == CanaryPhase::Succeeded ? kConditionTrue : kConditionFalse, readyReason);
  return s;
}

TEST(Kstatus, CanaryPhases) {
  EXPECT_EQ(kstatus(canary(CanaryPhase::Pending)), "InProgress");
  EXPECT_EQ(kstatus(canary(CanaryPhase::Progressing)), "InProgress");
  EXPECT_EQ(kstatus(canary(CanaryPhase::Promoting)), "InProgress");
  // A paused rollout is where the user asked it to be: not InProgress forever.
  EXPECT_EQ(kstatus(canary(CanaryPhase::Paused)), "Current");
  EXPECT_EQ(kstatus(canary(CanaryPhase::Succeeded)), "Current");
  EXPECT_EQ(kstatus(canary(CanaryPhase::RolledBack, "ErrorSpike")), "Failed");
  EXPECT_EQ(kstatus(canary(CanaryPhase::Failed, kReasonInvalidSpec)), "Failed");
  // Admission let it through, the operator could not use it: stalled whatever the phase.
  EXPECT_EQ(kstatus(canary(CanaryPhase::Pending, kReasonInvalidSpec)), "Failed");
}

TEST(Kstatus, CanaryStalledReasonIsTheRollbackReason) {
  auto s = canary(CanaryPhase::RolledBack, "AnalysisFailed");
  s.message = "error-rate 0.4 above 0.05";
  FakeClock clock;
  setKstatusConditions(s, clock.now());
  const Condition* stalled = findCondition(s.conditions, kConditionStalled);
  ASSERT_NE(stalled, nullptr);
  EXPECT_EQ(stalled->reason, "AnalysisFailed");
  EXPECT_EQ(stalled->message, "error-rate 0.4 above 0.05");
  EXPECT_EQ(stalled->observedGeneration, 1);
}

TEST(Kstatus, RegionRolledBackWhileOthersProgressIsStillInProgress) {
  auto s = canary(CanaryPhase::Progressing);
  set(s.conditions, kConditionDegraded, kConditionTrue, "RegionRolledBack");
  EXPECT_EQ(kstatus(s), "InProgress");
}

TEST(Kstatus, TrafficPolicy) {
  TrafficPolicyStatus s;
  EXPECT_EQ(kstatus(s), "InProgress");  // never reconciled
  set(s.conditions, kConditionReady, kConditionFalse, "TrafficProviderError");
  EXPECT_EQ(kstatus(s), "InProgress");
  set(s.conditions, kConditionReady, kConditionFalse, kReasonInvalidSpec);
  EXPECT_EQ(kstatus(s), "Failed");
  set(s.conditions, kConditionReady, kConditionTrue, "WeightsApplied");
  EXPECT_EQ(kstatus(s), "Current");
  set(s.conditions, kConditionProgressing, kConditionTrue, "Shifting");
  EXPECT_EQ(kstatus(s), "Current");
  set(s.conditions, kConditionDegraded, kConditionTrue, "Panic");
  EXPECT_EQ(kstatus(s), "Failed");
  set(s.conditions, kConditionDegraded, kConditionFalse, "EnoughHealthyBackends");
  EXPECT_EQ(kstatus(s), "Current");
}

TEST(Kstatus, TierLimit) {
  TierLimitStatus s;
  EXPECT_EQ(kstatus(s), "InProgress");
  set(s.conditions, kConditionReady, kConditionFalse, "TargetNotFound");
  EXPECT_EQ(kstatus(s), "InProgress");  // GitOps may create the HPA's target next
  set(s.conditions, kConditionReady, kConditionTrue, "HPAApplied");
  EXPECT_EQ(kstatus(s), "Current");
  set(s.conditions, "RateLimitsEnforced", kConditionFalse, "Pending");
  EXPECT_EQ(kstatus(s), "InProgress");
  set(s.conditions, "RateLimitsEnforced", kConditionFalse, "Conflicted");
  EXPECT_EQ(kstatus(s), "Failed");
  set(s.conditions, "RateLimitsEnforced", kConditionFalse, kReasonInvalidSpec);
  EXPECT_EQ(kstatus(s), "Failed");
  set(s.conditions, "RateLimitsEnforced", kConditionTrue, "Enforced");
  EXPECT_EQ(kstatus(s), "Current");
}

TEST(Kstatus, IdempotentSoUnchangedStatusIsNotRewritten) {
  auto s = canary(CanaryPhase::Progressing);
  FakeClock clock;
  setKstatusConditions(s, clock.now());
  const auto once = s;
  clock.advance(std::chrono::minutes{1});
  setKstatusConditions(s, clock.now());
  EXPECT_EQ(s, once);
}

}  // namespace
}  // namespace sluice::api
