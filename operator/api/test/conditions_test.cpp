#include "operator/api/conditions.h"

#include <gtest/gtest.h>

#include "operator/common/rfc3339.h"

namespace sluice::api {
namespace {

Condition ready(const char* status, const char* reason, std::int64_t generation) {
  return Condition{kConditionReady, status, reason, "msg", "", generation};
}

TEST(SetCondition, AddsWithTransitionTimeNow) {
  FakeClock clock;
  std::vector<Condition> conditions;
  EXPECT_TRUE(setCondition(conditions, ready("True", "Reconciled", 1), clock.now()));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].lastTransitionTime, formatRfc3339(clock.now()));
  EXPECT_EQ(conditions[0].observedGeneration, 1);
}

TEST(SetCondition, TransitionTimeMovesOnlyWhenStatusChanges) {
  FakeClock clock;
  std::vector<Condition> conditions;
  setCondition(conditions, ready("True", "Reconciled", 1), clock.now());
  const std::string first = conditions[0].lastTransitionTime;

  clock.advance(std::chrono::minutes{5});
  // Same status, new reason, message and generation: updated, but the transition time stays.
  EXPECT_TRUE(setCondition(conditions, ready("True", "StillFine", 2), clock.now()));
  EXPECT_EQ(conditions[0].lastTransitionTime, first);
  EXPECT_EQ(conditions[0].reason, "StillFine");
  EXPECT_EQ(conditions[0].observedGeneration, 2);

  // Identical: nothing changes, so the caller can skip the status write.
  clock.advance(std::chrono::minutes{5});
  EXPECT_FALSE(setCondition(conditions, ready("True", "StillFine", 2), clock.now()));
  EXPECT_EQ(conditions[0].lastTransitionTime, first);

  clock.advance(std::chrono::minutes{5});
  EXPECT_TRUE(setCondition(conditions, ready("False", kReasonInvalidSpec, 3), clock.now()));
  EXPECT_EQ(conditions[0].lastTransitionTime, formatRfc3339(clock.now()));
  EXPECT_NE(conditions[0].lastTransitionTime, first);
  EXPECT_EQ(conditions.size(), 1u);
}

TEST(SetCondition, KeepsOtherTypesAndOrder) {
  FakeClock clock;
  std::vector<Condition> conditions;
  setCondition(conditions, ready("True", "A", 1), clock.now());
  setCondition(conditions, Condition{kConditionProgressing, "True", "B", "", "", 1}, clock.now());
  setCondition(conditions, ready("False", "C", 1), clock.now());
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_EQ(conditions[0].type, kConditionReady);
  EXPECT_EQ(conditions[1].type, kConditionProgressing);
}

TEST(SetCondition, ExplicitTransitionTimeIsKept) {
  FakeClock clock;
  std::vector<Condition> conditions;
  Condition c = ready("True", "Restored", 1);
  c.lastTransitionTime = "2020-01-01T00:00:00Z";
  setCondition(conditions, c, clock.now());
  EXPECT_EQ(conditions[0].lastTransitionTime, "2020-01-01T00:00:00Z");
}

TEST(FindCondition, LooksUpByType) {
  FakeClock clock;
  std::vector<Condition> conditions;
  EXPECT_EQ(findCondition(conditions, kConditionReady), nullptr);
  EXPECT_FALSE(isConditionTrue(conditions, kConditionReady));
  EXPECT_FALSE(isConditionFalse(conditions, kConditionReady));
  setCondition(conditions, ready("True", "Ok", 1), clock.now());
  setCondition(conditions, Condition{kConditionDegraded, "False", "Ok", "", "", 1}, clock.now());
  ASSERT_NE(findCondition(conditions, kConditionDegraded), nullptr);
  EXPECT_EQ(findCondition(conditions, kConditionDegraded)->status, "False");
  EXPECT_TRUE(isConditionTrue(conditions, kConditionReady));
  EXPECT_FALSE(isConditionTrue(conditions, kConditionDegraded));
  EXPECT_TRUE(isConditionFalse(conditions, kConditionDegraded));
  setCondition(conditions, ready("Unknown", "Waiting", 1), clock.now());
  EXPECT_FALSE(isConditionTrue(conditions, kConditionReady));
  EXPECT_FALSE(isConditionFalse(conditions, kConditionReady));
}

TEST(RemoveCondition, RemovesOnlyThatType) {
  FakeClock clock;
  std::vector<Condition> conditions;
  setCondition(conditions, ready("True", "Ok", 1), clock.now());
  setCondition(conditions, Condition{kConditionDegraded, "False", "Ok", "", "", 1}, clock.now());
  EXPECT_TRUE(removeCondition(conditions, kConditionDegraded));
  EXPECT_FALSE(removeCondition(conditions, kConditionDegraded));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].type, kConditionReady);
}

}  // namespace
}  // namespace sluice::api
