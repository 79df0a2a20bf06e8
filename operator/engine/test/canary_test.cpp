#include "operator/engine/canary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <ostream>

#include "operator/common/rfc3339.h"

namespace sluice::engine {
namespace {

using api::CanaryPhase;
using api::MetricResult;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const TimePoint kT0{seconds{1'700'000'000}};
TimePoint at(int s) {
  return kT0 + seconds{s};
}

api::CanaryRolloutSpec makeSpec() {
  api::CanaryRolloutSpec spec;
  spec.stable = {"pay-stable", 80};
  spec.canary = {"pay-canary", 80};
  spec.stepInterval = seconds{60};
  spec.analysis.interval = seconds{30};
  spec.analysis.failureLimit = 2;
  spec.analysis.minRequests = 100;
  spec.analysis.metrics = {
      {"error-rate", "q1", {std::nullopt, api::Decimal{10'000, "0.01"}}},
      {"latency-p99", "q2", {std::nullopt, api::Decimal{500'000'000, "500"}}},
  };
  return spec;
}

AnalysisResult measured(int s, double errorRate, double latency = 100, double requests = 1000) {
  AnalysisResult r;
  r.measuredAt = at(s);
  r.requestCount = requests;
  r.metrics = {{"error-rate", errorRate, ""}, {"latency-p99", latency, ""}};
  return r;
}

AnalysisResult passing(int s) {
  return measured(s, 0.001);
}

const api::Condition* condition(const api::CanaryRolloutStatus& status, const std::string& type) {
  for (const auto& c : status.conditions) {
    if (c.type == type) {
      return &c;
    }
  }
  return nullptr;
}

class CanaryTest : public ::testing::Test {
 public:
  // Runs decide() and keeps its status as the next "current", as the controller would after
  // writing it.
  CanaryPlan step(int s, std::optional<AnalysisResult> analysis = std::nullopt,
                  RequestedActions actions = {}) {
    CanaryObservation obs;
    obs.generation = generation;
    obs.canaryRevision = revision;
    obs.actions = actions;
    obs.analysis = std::move(analysis);
    CanaryPlan plan = decide(spec, status, obs, at(s));
    EXPECT_EQ(plan.canaryWeight, plan.status.canaryWeight);
    status = plan.status;
    return plan;
  }

  void expectCondition(const std::string& type, const std::string& value,
                       const std::string& reason) {
    const auto* c = condition(status, type);
    ASSERT_NE(c, nullptr) << type;
    EXPECT_EQ(c->status, value) << type;
    EXPECT_EQ(c->reason, reason) << type;
    EXPECT_EQ(c->observedGeneration, generation) << type;
  }

  api::CanaryRolloutSpec spec = makeSpec();
  api::CanaryRolloutStatus status;
  std::string revision = "rev-1";
  std::int64_t generation = 1;
};

TEST_F(CanaryTest, NewRolloutStartsAtFirstStep) {
  auto plan = step(0);
  EXPECT_EQ(plan.status.phase, CanaryPhase::Progressing);
  EXPECT_EQ(plan.status.currentStep, 0);
  EXPECT_EQ(plan.canaryWeight, 5);
  EXPECT_EQ(plan.status.stepStartedAt, formatRfc3339(at(0)));
  EXPECT_EQ(plan.status.canaryRevision, "rev-1");
  EXPECT_EQ(plan.status.observedGeneration, 1);
  EXPECT_THAT(plan.events, ElementsAre(Field(&Event::reason, "RolloutStarted")));
  // The first analysis is due one interval into the step.
  EXPECT_EQ(plan.requeueAfter, milliseconds{seconds{30}});
  expectCondition("Ready", "False", "RolloutProgressing");
  expectCondition("Progressing", "True", "StepInProgress");
  expectCondition("Degraded", "False", "AsExpected");
}

TEST_F(CanaryTest, EmptyStepsUseDefaults) {
  spec.steps.clear();
  EXPECT_EQ(step(0).canaryWeight, 5);
  EXPECT_EQ(stepWeight(spec, 5), 100);
  EXPECT_EQ(stepWeight(spec, 99), 100);
}

// The worked example of canary.h, carried through every step.
TEST_F(CanaryTest, HappyPathWalksEveryStepThenSucceeds) {
  step(0);
  const std::int32_t expected[] = {5, 10, 25, 50, 75, 100};
  int t = 0;
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(status.canaryWeight, expected[i]) << "step " << i;
    auto hold = step(t + 30, passing(t + 30));
    EXPECT_EQ(hold.status.currentStep, i) << "a passing analysis does not shorten the step";
    EXPECT_EQ(hold.requeueAfter, milliseconds{seconds{30}});
    EXPECT_EQ(hold.status.analysis.lastRunAt, formatRfc3339(at(t + 30)));
    auto next = step(t + 60, passing(t + 60));
    t += 60;
    if (i < 5) {
      EXPECT_EQ(next.status.currentStep, i + 1);
      EXPECT_EQ(next.status.stepStartedAt, formatRfc3339(at(t)));
      EXPECT_THAT(next.events, ElementsAre(Field(&Event::reason, "StepAdvanced")));
    }
  }
  EXPECT_EQ(status.phase, CanaryPhase::Succeeded);
  EXPECT_EQ(status.canaryWeight, 100);
  expectCondition("Ready", "True", "RolloutSucceeded");
  expectCondition("Progressing", "False", "RolloutSucceeded");
  expectCondition("Degraded", "False", "AsExpected");
  // Terminal: nothing to wait for.
  auto after = step(t + 600, passing(t + 600));
  EXPECT_EQ(after.requeueAfter, std::nullopt);
  EXPECT_EQ(after.status.phase, CanaryPhase::Succeeded);
  EXPECT_THAT(after.events, IsEmpty());
}

TEST_F(CanaryTest, StepDoesNotAdvanceWithoutAnalysisAfterItStarted) {
  step(0);
  // Step elapsed, but no analysis has run in it yet.
  auto plan = step(61);
  EXPECT_EQ(plan.status.currentStep, 0);
  // Analysis measured at the step's own start second describes the previous traffic.
  plan = step(62, passing(0));
  EXPECT_EQ(plan.status.currentStep, 0);
  EXPECT_EQ(plan.status.analysis.lastRunAt, "");
  plan = step(63, passing(63));
  EXPECT_EQ(plan.status.currentStep, 1);
}

TEST_F(CanaryTest, AdvancesOnReconcileAfterStepEndsWhenLatestAnalysisPassed) {
  step(0);
  step(50, passing(50));
  auto plan = step(60);  // requeued at step end, no new analysis
  EXPECT_EQ(plan.status.currentStep, 1);
  EXPECT_EQ(plan.canaryWeight, 10);
}

TEST_F(CanaryTest, SameAnalysisPassedTwiceIsCountedOnce) {
  step(0);
  step(30, measured(30, 0.015));
  EXPECT_EQ(status.analysis.failures, 1);
  auto again = step(31, measured(30, 0.015));
  EXPECT_EQ(again.status.analysis.failures, 1);
  EXPECT_THAT(again.events, IsEmpty());
  // Sub-second difference: still the same recorded second.
  auto jitter = measured(30, 0.015);
  jitter.measuredAt += milliseconds{400};
  EXPECT_EQ(step(32, jitter).status.analysis.failures, 1);
}

TEST_F(CanaryTest, FailuresBeyondLimitRollBack) {
  step(0);
  auto first = step(30, measured(30, 0.015));
  EXPECT_EQ(first.status.phase, CanaryPhase::Progressing);
  EXPECT_EQ(first.canaryWeight, 5);
  EXPECT_THAT(first.events, ElementsAre(Field(&Event::type, EventType::Warning)));
  EXPECT_EQ(first.events[0].reason, "AnalysisFailed");
  EXPECT_THAT(first.status.message, HasSubstr("error-rate 0.015 above max 0.01"));
  // A failed step never advances, however long it runs.
  auto second = step(60, measured(60, 0.015));
  EXPECT_EQ(second.status.currentStep, 0);
  EXPECT_EQ(second.status.analysis.failures, 2);
  auto third = step(90, measured(90, 0.015));
  EXPECT_EQ(third.status.phase, CanaryPhase::RolledBack);
  EXPECT_EQ(third.canaryWeight, 0);
  EXPECT_EQ(third.status.analysis.failures, 3);
  EXPECT_THAT(third.status.message, HasSubstr("failures 3 (failureLimit 2)"));
  EXPECT_THAT(third.events, ElementsAre(Field(&Event::type, EventType::Warning)));
  EXPECT_EQ(third.events[0].reason, "RolledBack");
  EXPECT_EQ(third.requeueAfter, std::nullopt);
  expectCondition("Ready", "False", "AnalysisFailed");
  expectCondition("Progressing", "False", "RolledBack");
  expectCondition("Degraded", "True", "AnalysisFailed");
}

TEST_F(CanaryTest, FailuresCountAcrossSteps) {
  spec.analysis.failureLimit = 1;
  step(0);
  step(30, measured(30, 0.015));
  step(60, passing(60));
  step(90, passing(90));
  step(120, passing(120));  // step 1 -> 2
  ASSERT_EQ(status.currentStep, 2);
  EXPECT_EQ(status.analysis.failures, 1);
  EXPECT_EQ(step(150, measured(150, 0.015)).status.phase, CanaryPhase::RolledBack);
}

TEST_F(CanaryTest, ErrorSpikeRollsBackAtOnce) {
  spec.analysis.failureLimit = 5;
  step(0);
  step(60, passing(60));
  ASSERT_EQ(status.canaryWeight, 10);
  auto plan = step(90, measured(90, 0.5));
  EXPECT_EQ(plan.status.phase, CanaryPhase::RolledBack);
  EXPECT_EQ(plan.canaryWeight, 0);
  EXPECT_EQ(plan.status.analysis.failures, 0) << "a spike does not wait for failureLimit";
  EXPECT_THAT(plan.status.message, HasSubstr("error spike at step 2/6 (10%)"));
  EXPECT_THAT(plan.status.message, HasSubstr("error-rate 0.5 above max 0.01"));
  expectCondition("Degraded", "True", "ErrorSpike");
  ASSERT_EQ(plan.events.size(), 1U);
  EXPECT_EQ(plan.events[0].type, EventType::Warning);
  EXPECT_THAT(plan.events[0].message, HasSubstr("ErrorSpike"));
}

TEST_F(CanaryTest, LatencySpikeCountsToo) {
  step(0);
  EXPECT_EQ(step(30, measured(30, 0.0, 1000)).status.phase, CanaryPhase::RolledBack);
}

struct InconclusiveCase {
  const char* name;
  AnalysisResult result;
  const char* why;
};

// Names the case in test output and CTest names (the default prints raw bytes).
void PrintTo(const InconclusiveCase& c, std::ostream* os) {
  *os << c.name;
}

AnalysisResult withError(const char* error) {
  AnalysisResult r;
  r.measuredAt = at(60);
  r.error = error;
  return r;
}

AnalysisResult withRequests(std::optional<double> requests, const char* requestError = "") {
  AnalysisResult r = measured(60, 0.001);
  r.requestCount = requests;
  r.requestCountError = requestError;
  return r;
}

AnalysisResult withMetric(std::optional<double> value, const char* error = "") {
  AnalysisResult r = measured(60, 0.001);
  r.metrics[0].value = value;
  r.metrics[0].error = error;
  return r;
}

class Inconclusive : public CanaryTest, public ::testing::WithParamInterface<InconclusiveCase> {};

TEST_P(Inconclusive, HoldsNeverPromotesNeverFails) {
  const auto& c = GetParam();
  step(0);
  auto plan = step(60, c.result);
  EXPECT_EQ(plan.status.phase, CanaryPhase::Progressing) << c.name;
  EXPECT_EQ(plan.status.currentStep, 0) << c.name;
  EXPECT_EQ(plan.canaryWeight, 5) << c.name;
  EXPECT_EQ(plan.status.analysis.failures, 0) << c.name;
  EXPECT_EQ(plan.status.analysis.lastRunAt, formatRfc3339(at(60))) << c.name;
  EXPECT_THAT(plan.status.message, HasSubstr("inconclusive")) << c.name;
  EXPECT_THAT(plan.status.message, HasSubstr(c.why)) << c.name;
  EXPECT_THAT(plan.events, IsEmpty()) << c.name;
  expectCondition("Progressing", "True", "AnalysisInconclusive");
  // Long after the step ended, still holding until a passing analysis arrives.
  EXPECT_EQ(step(600).status.currentStep, 0) << c.name;
  EXPECT_EQ(step(630, passing(630)).status.currentStep, 1) << c.name;
  expectCondition("Progressing", "True", "StepInProgress");
}

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

INSTANTIATE_TEST_SUITE_P(
    Table, Inconclusive,
    ::testing::Values(
        InconclusiveCase{"prometheus unreachable", withError("Prometheus unreachable"),
                         "Prometheus unreachable"},
        InconclusiveCase{"too few requests", withRequests(42),
                         "too few requests: 42 < minRequests 100"},
        InconclusiveCase{"request count unknown", withRequests(std::nullopt, "empty vector"),
                         "request count unknown: empty vector"},
        InconclusiveCase{"request count NaN", withRequests(kNan), "request count unknown"},
        InconclusiveCase{"metric NaN", withMetric(kNan), "error-rate: value is nan"},
        InconclusiveCase{"metric query failed", withMetric(std::nullopt, "NoData: empty vector"),
                         "error-rate: NoData: empty vector"},
        InconclusiveCase{"metric missing",
                         [] {
                           auto r = measured(60, 0.001);
                           r.metrics.pop_back();
                           return r;
                         }(),
                         "latency-p99: not measured"},
        InconclusiveCase{"spike on too little traffic", measured(60, 0.9, 100, 3),
                         "too few requests: 3 < minRequests 100"}),
    [](const auto& testInfo) {
      std::string name = testInfo.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) {
          ch = '_';
        }
      }
      return name;
    });

TEST_F(CanaryTest, MinRequestsZeroSkipsTheTrafficCheck) {
  spec.analysis.minRequests = 0;
  step(0);
  auto r = passing(60);
  r.requestCount.reset();
  auto plan = step(60, r);
  EXPECT_EQ(plan.status.currentStep, 1);
  EXPECT_EQ(plan.status.analysis.metrics.size(), 2U);
}

TEST_F(CanaryTest, RecordsMetricsInStatus) {
  step(0);
  auto plan = step(30, measured(30, 0.015, 120, 500));
  ASSERT_EQ(plan.status.analysis.metrics.size(), 3U);
  EXPECT_EQ(plan.status.analysis.metrics[0],
            (api::MetricStatus{"request-count", 500.0, MetricResult::Pass, ""}));
  EXPECT_EQ(plan.status.analysis.metrics[1],
            (api::MetricStatus{"error-rate", 0.015, MetricResult::Fail, "0.015 above max 0.01"}));
  EXPECT_EQ(plan.status.analysis.metrics[2],
            (api::MetricStatus{"latency-p99", 120.0, MetricResult::Pass, ""}));
}

TEST_F(CanaryTest, PauseHoldsWeightAndIgnoresAnalysis) {
  step(0);
  step(60, passing(60));
  ASSERT_EQ(status.canaryWeight, 10);
  spec.paused = true;
  generation = 2;  // toggling spec.paused bumps the generation; that must not restart
  auto paused = step(70);
  EXPECT_EQ(paused.status.phase, CanaryPhase::Paused);
  EXPECT_EQ(paused.canaryWeight, 10);
  EXPECT_EQ(paused.status.currentStep, 1);
  EXPECT_EQ(paused.status.observedGeneration, 2);
  EXPECT_EQ(paused.requeueAfter, std::nullopt);
  EXPECT_THAT(paused.events, ElementsAre(Field(&Event::reason, "Paused")));
  expectCondition("Progressing", "Unknown", "RolloutPaused");
  expectCondition("Ready", "True", "RolloutPaused");
  EXPECT_FALSE(analysisDue(spec, status, at(1000)));
  // Even a spike is not acted on while paused.
  auto still = step(200, measured(200, 0.9));
  EXPECT_EQ(still.status.phase, CanaryPhase::Paused);
  EXPECT_EQ(still.canaryWeight, 10);

  spec.paused = false;
  generation = 3;
  auto resumed = step(300, passing(300));
  EXPECT_EQ(resumed.status.phase, CanaryPhase::Progressing);
  EXPECT_EQ(resumed.status.currentStep, 1);
  EXPECT_EQ(resumed.canaryWeight, 10);
  // The step is watched a full interval again from the resume.
  EXPECT_EQ(resumed.status.stepStartedAt, formatRfc3339(at(300)));
  EXPECT_THAT(resumed.events, ElementsAre(Field(&Event::reason, "Resumed")));
  EXPECT_EQ(step(330, passing(330)).status.currentStep, 1);
  EXPECT_EQ(step(360, passing(360)).status.currentStep, 2);
}

TEST_F(CanaryTest, PausedBeforeStartSendsNothingToCanary) {
  spec.paused = true;
  auto plan = step(0);
  EXPECT_EQ(plan.status.phase, CanaryPhase::Paused);
  EXPECT_EQ(plan.canaryWeight, 0);
  spec.paused = false;
  plan = step(10);
  EXPECT_EQ(plan.status.phase, CanaryPhase::Progressing);
  EXPECT_EQ(plan.canaryWeight, 5);
  EXPECT_EQ(plan.status.stepStartedAt, formatRfc3339(at(10)));
}

TEST_F(CanaryTest, PromoteSkipsToHundredAndFinishes) {
  step(0);
  auto plan = step(5, std::nullopt, {.promote = true});
  EXPECT_EQ(plan.status.phase, CanaryPhase::Succeeded);
  EXPECT_EQ(plan.canaryWeight, 100);
  EXPECT_THAT(plan.events, ElementsAre(Field(&Event::reason, "Promoted")));
  EXPECT_THAT(plan.consumedAnnotations, ElementsAre("sluice.dev/promote"));
  expectCondition("Ready", "True", "RolloutSucceeded");
}

TEST_F(CanaryTest, PromoteOverridesPause) {
  spec.paused = true;
  step(0);
  EXPECT_EQ(step(5, std::nullopt, {.promote = true}).status.phase, CanaryPhase::Succeeded);
}

TEST_F(CanaryTest, AbortRollsBack) {
  step(0);
  step(60, passing(60));
  auto plan = step(65, std::nullopt, {.abort = true});
  EXPECT_EQ(plan.status.phase, CanaryPhase::RolledBack);
  EXPECT_EQ(plan.canaryWeight, 0);
  EXPECT_THAT(plan.status.message, HasSubstr("aborted by sluice.dev/abort at step 2/6 (10%)"));
  EXPECT_THAT(plan.consumedAnnotations, ElementsAre("sluice.dev/abort"));
  expectCondition("Degraded", "True", "Aborted");
  // Aborting again changes nothing but still consumes the annotation.
  auto again = step(66, std::nullopt, {.abort = true});
  EXPECT_EQ(again.status, plan.status);
  EXPECT_THAT(again.events, IsEmpty());
  EXPECT_THAT(again.consumedAnnotations, ElementsAre("sluice.dev/abort"));
}

TEST_F(CanaryTest, RetryRestartsOnlyAfterRollback) {
  step(0);
  step(30, measured(30, 0.9));
  ASSERT_EQ(status.phase, CanaryPhase::RolledBack);
  // Rolled back stays rolled back with time and passing analyses.
  EXPECT_EQ(step(500, passing(500)).status.phase, CanaryPhase::RolledBack);
  auto retried = step(600, std::nullopt, {.retry = true});
  EXPECT_EQ(retried.status.phase, CanaryPhase::Progressing);
  EXPECT_EQ(retried.status.currentStep, 0);
  EXPECT_EQ(retried.canaryWeight, 5);
  EXPECT_EQ(retried.status.analysis.failures, 0);
  EXPECT_EQ(retried.status.stepStartedAt, formatRfc3339(at(600)));
  EXPECT_THAT(retried.events, ElementsAre(Field(&Event::reason, "RolloutRetried")));
  expectCondition("Degraded", "False", "AsExpected");
  // Retry while progressing is not applicable: ignored, consumed.
  auto ignored = step(610, std::nullopt, {.retry = true});
  EXPECT_EQ(ignored.status, retried.status);
  EXPECT_THAT(ignored.consumedAnnotations, ElementsAre("sluice.dev/retry"));
}

TEST_F(CanaryTest, NewRevisionRestartsFromAnyPhase) {
  for (auto setup : {+[](CanaryTest& t) { t.step(60, passing(60)); },
                     +[](CanaryTest& t) { t.step(30, measured(30, 0.9)); },
                     +[](CanaryTest& t) { t.step(1, std::nullopt, {.promote = true}); }}) {
    status = {};
    revision = "rev-1";
    step(0);
    setup(*this);
    revision = "rev-2";
    auto plan = step(700);
    EXPECT_EQ(plan.status.phase, CanaryPhase::Progressing);
    EXPECT_EQ(plan.status.currentStep, 0);
    EXPECT_EQ(plan.canaryWeight, 5);
    EXPECT_EQ(plan.status.canaryRevision, "rev-2");
    EXPECT_EQ(plan.status.analysis, api::AnalysisStatus{});
    EXPECT_THAT(plan.events, ElementsAre(Field(&Event::reason, "RolloutRestarted")));
  }
}

TEST_F(CanaryTest, NoChangeMeansIdenticalStatus) {
  step(0);
  step(30, passing(30));
  const auto before = status;
  // A reconcile with nothing new (e.g. after an operator restart) produces the same status,
  // so the controller skips the write.
  for (int s : {31, 40, 59}) {
    auto plan = step(s, passing(30));
    EXPECT_EQ(plan.status, before) << s;
    EXPECT_THAT(plan.events, IsEmpty());
  }
}

TEST_F(CanaryTest, ConditionTransitionTimeMovesOnlyOnStatusChange) {
  step(0);
  const auto readyAt = condition(status, "Ready")->lastTransitionTime;
  step(30, measured(30, 0.015));  // message changes, status stays False
  EXPECT_EQ(condition(status, "Ready")->lastTransitionTime, readyAt);
  step(45, std::nullopt, {.promote = true});
  EXPECT_EQ(condition(status, "Ready")->lastTransitionTime, formatRfc3339(at(45)));
}

TEST_F(CanaryTest, RestartSafetyReplayFromStoredStatus) {
  // Operator killed after each write: a fresh decide() from the stored status with the same
  // inputs must land at the same place as the uninterrupted run.
  step(0);
  step(30, passing(30));
  step(60, passing(60));
  const auto stored = status;
  for (int replay = 0; replay < 3; ++replay) {
    CanaryObservation obs{generation, revision, {}, passing(60), {}, {}, ""};
    auto plan = decide(spec, stored, obs, at(61));
    EXPECT_EQ(plan.status, stored);
    EXPECT_EQ(plan.status.currentStep, 1);
  }
}

TEST_F(CanaryTest, RequeueIsMinOfNextAnalysisAndStepEnd) {
  spec.stepInterval = seconds{45};
  step(0);
  // Next analysis at 30, step end at 45.
  EXPECT_EQ(step(10).requeueAfter, milliseconds{seconds{20}});
  // After the analysis at 30, next at 60, step ends at 45.
  EXPECT_EQ(step(30, passing(30)).requeueAfter, milliseconds{seconds{15}});
  // At 45 the step passed: advance, next analysis one interval into the new step.
  auto advanced = step(45);
  EXPECT_EQ(advanced.status.currentStep, 1);
  EXPECT_EQ(advanced.requeueAfter, milliseconds{seconds{30}});
  // Never below one second, even when an analysis is overdue.
  EXPECT_EQ(step(500).requeueAfter, milliseconds{seconds{1}});
}

TEST_F(CanaryTest, AnalysisDue) {
  EXPECT_FALSE(analysisDue(spec, status, at(0))) << "pending: decide() starts it first";
  step(0);
  EXPECT_FALSE(analysisDue(spec, status, at(29)));
  EXPECT_TRUE(analysisDue(spec, status, at(30)));
  step(30, passing(30));
  EXPECT_FALSE(analysisDue(spec, status, at(59)));
  EXPECT_TRUE(analysisDue(spec, status, at(60)));
  step(30, measured(30, 0.9));  // already recorded: ignored
  step(45, measured(45, 0.9));
  ASSERT_EQ(status.phase, CanaryPhase::RolledBack);
  EXPECT_FALSE(analysisDue(spec, status, at(1000)));
}

// A rollout with no Prometheus and no metrics steps on time alone: one (empty) analysis a
// step records that the step was watched; it is not run, nor status written, every interval.
TEST_F(CanaryTest, AnAnalysisThatMeasuresNothingRunsOnceAStep) {
  spec.analysis = {};
  spec.analysis.interval = seconds{30};
  spec.analysis.minRequests = 0;
  step(0);
  EXPECT_TRUE(analysisDue(spec, status, at(30)));
  AnalysisResult empty;
  empty.measuredAt = at(30);
  EXPECT_EQ(step(30, empty).requeueAfter, milliseconds{seconds{30}}) << "wakes at the step end";
  EXPECT_FALSE(analysisDue(spec, status, at(59)));
  EXPECT_FALSE(analysisDue(spec, status, at(90))) << "nothing it could measure has changed";
  auto advanced = step(60);
  EXPECT_EQ(advanced.status.currentStep, 1);
  EXPECT_FALSE(analysisDue(spec, status, at(89)));
  EXPECT_TRUE(analysisDue(spec, status, at(90))) << "once in the new step";
  // With metrics, every interval as before.
  spec = makeSpec();
  status = {};
  step(0);
  step(30, passing(30));
  EXPECT_TRUE(analysisDue(spec, status, at(60)));
}

TEST_F(CanaryTest, CorruptStepStartRestartsTheStepTimer) {
  step(0);
  status.stepStartedAt = "garbage";
  auto plan = step(100, passing(100));
  EXPECT_EQ(plan.status.currentStep, 0);
  EXPECT_EQ(plan.status.stepStartedAt, formatRfc3339(at(100)));
}

TEST(Revision, CoversSpecButNotPause) {
  auto spec = makeSpec();
  const auto base = revisionOf(spec, "pods-abc");
  EXPECT_EQ(base.size(), 16U);
  EXPECT_EQ(revisionOf(spec, "pods-abc"), base);
  EXPECT_NE(revisionOf(spec, "pods-def"), base);
  auto paused = spec;
  paused.paused = true;
  EXPECT_EQ(revisionOf(paused, "pods-abc"), base);
  auto steps = spec;
  steps.steps = {10, 50, 100};
  EXPECT_NE(revisionOf(steps, "pods-abc"), base);
  auto threshold = spec;
  threshold.analysis.metrics[0].thresholdRange.max->micros = 20'000;
  EXPECT_NE(revisionOf(threshold, "pods-abc"), base);
  auto stickiness = spec;
  stickiness.stickiness = api::Stickiness{"X-Tenant-ID"};
  EXPECT_NE(revisionOf(stickiness, "pods-abc"), base);
}

}  // namespace
}  // namespace sluice::engine
