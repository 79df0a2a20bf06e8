#pragma once

// The canary state machine: a pure function of (spec, current status, observation, now) that
// returns the next status, the canary weight to apply, the Events to emit and when to look
// again. No I/O, no logging; the controller gathers the observation and applies the plan.
//
// Rules, in order of precedence (the first that applies decides):
//  1. Restart: observation.canaryRevision != status.canaryRevision (or the status was never
//     written) -> step 0 at weight steps[0], phase Progressing, failures 0. The revision must
//     cover the spec fields that matter (see revisionOf()); observation.generation alone does
//     not restart because toggling spec.paused bumps it too.
//  2. abort -> RolledBack (weight 0). Ignored when already RolledBack.
//  3. retry -> only when RolledBack: restart at step 0.
//  4. promote -> weight 100, Succeeded. Ignored when Succeeded or RolledBack.
//  5. Succeeded / RolledBack are terminal until a new revision or retry: hold their weight.
//  6. spec.paused -> phase Paused, weight held, analysis not consumed. Resuming restarts the
//     current step's timer so the step is watched a full stepInterval after the pause.
//  7. A new analysis result is evaluated: measuredAt later than status.analysis.lastRunAt and
//     than stepStartedAt (whole seconds: status times are RFC 3339 at second precision);
//     older results describe traffic from before this step and are ignored. Failures count
//     over the whole rollout (reset only by a restart or retry):
//       - any metric an error spike (see isErrorSpike) -> RolledBack at once;
//       - any metric Fail -> failures + 1; failures > failureLimit -> RolledBack;
//       - an error, too few requests (< minRequests, or unknown when minRequests > 0), NaN,
//         Inf or a missing value -> Inconclusive: hold, never promote, never a failure.
//  8. The step advances when now >= stepStartedAt + stepInterval and the latest analysis,
//     measured strictly after stepStartedAt, passed. Passing the last step -> Succeeded,
//     weight 100.
//
// Worked example (steps 5,10,25,50,75,100, stepInterval 60s, analysis interval 30s):
//   t=0   new revision            -> Progressing, step 0, weight 5, requeueAfter 30s
//   t=30  analysis Pass           -> hold (step not elapsed), requeueAfter 30s
//   t=60  analysis Pass           -> step 1, weight 10, stepStartedAt=60
//   t=90  analysis error-rate 0.5 with max 0.01 (>= 2x max) -> RolledBack, weight 0, Warning

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/api/canary_rollout.h"
#include "operator/common/clock.h"

namespace sluice::engine {

using TimePoint = Clock::TimePoint;

inline constexpr std::int32_t kDefaultSteps[] = {5, 10, 25, 50, 75, 100};

// Analysis metric entry that records the canary's request count next to the user's metrics,
// so a hold for too little traffic is visible in status. User metrics must not use this name.
inline constexpr std::string_view kRequestCountMetric = "request-count";

// A metric is an error spike when its value is this many times beyond its bound: value >=
// kSpikeFactor * max (only when max > 0), or value <= min / kSpikeFactor (only when min > 0).
// Example: max 0.01 -> 0.02 and above is a spike; min 0.99 -> 0.495 and below is a spike.
inline constexpr double kSpikeFactor = 2.0;

// One metric's measurement. `value` absent with `error` set: the query failed.
struct MetricObservation {
  std::string name;
  std::optional<double> value;
  std::string error;
};

// The result of one analysis run, as the controller measured it.
struct AnalysisResult {
  TimePoint measuredAt;
  // Set when the analysis as a whole could not run (e.g. "Prometheus unreachable").
  std::string error;
  // The canary's request count over the analysis interval; absent if unknown.
  std::optional<double> requestCount;
  std::string requestCountError;
  std::vector<MetricObservation> metrics;
};

// Human actions read from the annotations sluice.dev/promote, sluice.dev/abort,
// sluice.dev/retry.
struct RequestedActions {
  bool promote = false;
  bool abort = false;
  bool retry = false;
};

// With spec.regions an annotation's value may name regions ("eu-west,us-east"): the action
// applies to those only. Empty (also for "", "true" or "all"): every region.
struct ActionRegions {
  std::vector<std::string> promote;
  std::vector<std::string> abort;
  std::vector<std::string> retry;
};

inline constexpr const char* kPromoteAnnotation = "sluice.dev/promote";
inline constexpr const char* kAbortAnnotation = "sluice.dev/abort";
inline constexpr const char* kRetryAnnotation = "sluice.dev/retry";

struct CanaryObservation {
  std::int64_t generation = 0;  // metadata.generation, recorded as observedGeneration
  std::string canaryRevision;   // a change restarts the rollout
  RequestedActions actions;
  // The latest analysis the controller ran; a result already recorded in status (same or older
  // measuredAt) is ignored, so passing it again is harmless.
  std::optional<AnalysisResult> analysis;
  ActionRegions actionRegions;
  // With spec.regions: each region's latest analysis, by region name (`analysis` is unused).
  std::map<std::string, AnalysisResult> regionAnalyses;
  // Set by decideRollout() only: roll back now for this reason (another region rolled back
  // under spec.regionRollback: All).
  std::string forcedRollback;
};

enum class EventType { Normal, Warning };

struct Event {
  EventType type = EventType::Normal;
  std::string reason;
  std::string message;

  friend bool operator==(const Event&, const Event&) = default;
};

struct CanaryPlan {
  api::CanaryRolloutStatus status;  // write only if != the current status
  std::int32_t canaryWeight = 0;    // 0..100; equals status.canaryWeight
  std::vector<Event> events;
  // When to reconcile again: min(next analysis due, step end), at least 1s so a controller
  // that cannot analyse never loops hot. Absent in Succeeded, RolledBack, Failed and Paused
  // (nothing changes with time there).
  std::optional<std::chrono::milliseconds> requeueAfter;
  // Annotations the controller should remove: every present action is consumed (acted on or,
  // when not applicable in the current phase, ignored) so it does not fire twice.
  std::vector<std::string> consumedAnnotations;
};

CanaryPlan decide(const api::CanaryRolloutSpec& spec, const api::CanaryRolloutStatus& current,
                  const CanaryObservation& observation, TimePoint now);

// The whole rollout: decide() as it is without spec.regions; with them, decide() once per
// region (regionSpec(), regionStatus(), the region's analysis and the actions that name it),
// and the top level aggregated:
//   phase         Paused if paused; Progressing while any region is still going; then
//                 Succeeded when every region succeeded, RolledBack when any rolled back
//   canaryWeight  the lowest region's (what requests of no listed region get), currentStep too
//   message       each region's message; Events are prefixed "region <name>: "
//   Degraded      True (reason of the region's rollback) while any region is rolled back
// A region's rollback moves no other region unless spec.regionRollback is All: then every
// other region rolls back in the same call ("RegionRolledBack"). status.tenants counts the
// tenant overrides in force (tenants-canary only while the canary has weight anywhere).
CanaryPlan decideRollout(const api::CanaryRolloutSpec& spec,
                         const api::CanaryRolloutStatus& current,
                         const CanaryObservation& observation, TimePoint now);

// Ready, Progressing and Degraded from status.phase and status.message. `rollbackReason`: the
// reason of a rollback decided in this call (empty: RolledBack keeps its conditions);
// `degradedWhy`: while not rolled back as a whole, Degraded is True with this message (a
// region rolled back), False when empty.
void setRolloutConditions(api::CanaryRolloutStatus& status, std::int64_t generation,
                          const std::string& rollbackReason, const std::string& degradedWhy,
                          TimePoint now);

// The spec one region runs on: its own steps (spec.steps when it has none).
api::CanaryRolloutSpec regionSpec(const api::CanaryRolloutSpec& spec, const api::Region& region);
// A region's status as a rollout status (empty, so the region starts, when it has none yet).
api::CanaryRolloutStatus regionStatus(const api::CanaryRolloutStatus& status,
                                      const std::string& region);

// Whether the controller should run an analysis now: the rollout is Progressing (or
// Promoting) and now >= max(lastRunAt, stepStartedAt) + analysis.interval, so each step's
// first analysis covers a full interval of that step's traffic.
bool analysisDue(const api::CanaryRolloutSpec& spec, const api::CanaryRolloutStatus& status,
                 TimePoint now);

// Metric value vs its range, bounds inclusive. Absent, NaN or infinite -> Inconclusive.
// Examples with {max: 0.01}: 0.005 -> Pass, 0.01 -> Pass, 0.02 -> Fail, NaN -> Inconclusive.
api::MetricResult verdict(std::optional<double> value, const api::ThresholdRange& range);

// See kSpikeFactor. False for absent/NaN/Inf values.
bool isErrorSpike(std::optional<double> value, const api::ThresholdRange& range);

// A stable fingerprint of the spec fields whose change restarts a rollout (everything except
// `paused`), combined with the canary workload's identity (e.g. its pod-template-hash).
// 16 hex digits.
std::string revisionOf(const api::CanaryRolloutSpec& spec, std::string_view canaryPodsIdentity);

// The canary weight of a step index, clamped to the spec's steps (defaults when empty).
std::int32_t stepWeight(const api::CanaryRolloutSpec& spec, std::int32_t stepIndex);

const char* toString(EventType type);

}  // namespace sluice::engine
