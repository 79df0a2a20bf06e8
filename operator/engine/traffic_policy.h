#pragma once

// The TrafficPolicy decision: a pure function of (spec, the backends' states from status, what
// Prometheus said this round, now) that returns the next backend states, the weights of every
// rule (one per tier, then the default rule), the Events to emit and when to look again. No
// I/O, no logging; the controller gathers the observations and applies the weights.
//
// 1. Health of a backend this round (failover thresholds; defaults when spec.failover is unset):
//      Down      - observation.down (its Service is missing, its health check query says 0,
//                  or every request failed);
//      Unhealthy - a known error rate above errorRateThreshold, or a known p99 latency above
//                  latencyThresholdMilliseconds;
//      Healthy   - a known error rate within the threshold and no known latency above it; or
//                  no traffic to judge (error rate unknown) while observation.up says 1;
//      Unknown   - anything else (Prometheus down, no series). Unknown never counts as healthy
//                  or dead: the backend's state and step hold, and its healthy run restarts.
//
// 2. Incident shifting, per backend (BackendState; persisted in status so a restart resumes at
//    the same step). `steps` and `interval` are failover.shift, `healthyFor` failover.recovery.
//      Healthy    --Unhealthy-->  Draining step 1 (share 1 - 1/steps of its strategy weight)
//      any        --Down------->  Drained (share 0) at once
//      Draining   --Unhealthy, interval since the last step--> step + 1; step == steps: Drained
//      Draining/Drained --Healthy for healthyFor--> Recovering at step = steps - share already
//                                                   kept, moving one step back per interval
//      Recovering --Healthy, interval since the last step--> step - 1; 0: Healthy
//      Recovering --Unhealthy--> Draining from the share it had (no jump, no reset)
//    A backend's share is its strategy weight × (1 - step/steps) while Draining or Recovering.
//    Hysteresis: recovery needs healthyFor of uninterrupted health (any Unhealthy or Unknown
//    round restarts the clock), and each direction moves at most one step per interval, so a
//    flapping backend (healthy one round, failing the next) drains slowly and never comes back
//    until it stays healthy: weights do not oscillate.
//
// 3. Panic (Envoy's panic threshold): when fewer than failover.minHealthyBackends backends are
//    Healthy or Recovering, or every share above is 0, the decision ignores health: every
//    backend that is not Down gets its strategy weight (if every backend is Down: all of them by
//    baseline weight). decision.panic is set; the controller reports Degraded=True and a
//    Warning Event. Spreading over all beats sending everything to one or to none.
//
// 4. Strategy weights, per rule. A tier's `strategy` overrides spec.strategy; the default rule
//    uses spec.strategy. Every strategy starts from the backend's baseline `weight` (0 stays 0)
//    and multiplies by a factor in (0, 1]; a metric a strategy needs that is unknown for a
//    backend gives it the neutral factor 1.
//      RoundRobin           factor 1.
//      LeastRequest         in-flight requests by Little's law (rps × p99 seconds): factor
//                           (1 + min in-flight) / (1 + in-flight).
//      WeightedResponseTime p99 latency; latencies within kLatencySensitivityMs of the fastest
//                           count as the fastest (traffic does not chase noise): factor
//                           fastest / max(latency, fastest).
//      Geographic           the tier's preferredRegions in order (nearest first): the first
//                           region with a backend that can take traffic gets it all, the next
//                           regions only what exceeds the first's capacity (fallback). No
//                           preferredRegions: like RoundRobin.
//      CostOptimized        cost per request (cost.perMillionRequests; none: the most
//                           expensive known): cheapest first, each filled to its capacity
//                           (observed total rps × share ≤ maxRequestsPerSecond), the rest
//                           spills to the next cheapest. No observed traffic: the cheapest takes
//                           all.
//      HealthBased          factor max(0.05, (1 - errorRate / threshold)) ×
//                           max(0.05, (1 - p99 / latencyThreshold)).
//      Hybrid               factor 0.4 × health (as HealthBased) + 0.2 × headroom
//                           (1 - rps / maxRequestsPerSecond, 1 without a capacity) + 0.2 ×
//                           cost (cheapest / own cost per request, 1 without costs) + 0.2 ×
//                           latency (fastest / own p99, 1 unknown).
//    Then the drain shares (2), then capacity: with observed traffic T (sum of known rps), no
//    backend gets a share above maxRequestsPerSecond / T while others have room (water-filling:
//    the excess goes to uncapped backends in proportion to their weights; if every backend is
//    at its cap, shares follow capacity). Finally the weights are scaled to kWeightScale
//    (largest remainder, deterministic: ties to the earlier backend).
//
// 5. Metrics hold: when no backend has any known metric (Prometheus unreachable), nothing is
//    decided from metrics: states hold, and every rule keeps `previous` weights if given
//    (the data plane's current weights) else the baseline. decision.held is set.
//
// 6. Budget (spec.budget): estimated cost per hour = Σ known rps × 3600 × perMillionRequests
//    / 1e6. At or above alertAtPercent of maxCostPerHour: budget Alert. Above the maximum:
//    budget Over, and every tier except the most important (lowest `priority` number, all tiers
//    sharing it) and the default rule use CostOptimized: free traffic moves to the cheapest
//    backends first; premium is never degraded for cost.
//
// Complexity: O(rules × backends × capacity passes), plus one radix sort of the backends by
// price when a rule is CostOptimized (a few linear passes; a comparison sort only for prices
// above 10^12 per million requests). 1,000 backends × 3 tiers take about 86 µs (median, a
// shared 2-core machine); the benchmark target is 50 µs (bench/engine/traffic_policy_bench).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/traffic_policy.h"
#include "operator/common/clock.h"
#include "operator/engine/canary.h"  // EventType, Event

namespace sluice::engine {

inline constexpr double kLatencySensitivityMs = 50.0;

enum class BackendPhase { Healthy, Draining, Drained, Recovering };
const char* toString(BackendPhase phase);
std::optional<BackendPhase> parseBackendPhase(std::string_view text);

enum class BackendHealth { Healthy, Unhealthy, Down, Unknown };
const char* toString(BackendHealth health);

// A backend's incident-shift state; what status.backends[] persists across restarts.
struct BackendState {
  std::string name;
  BackendPhase phase = BackendPhase::Healthy;
  std::int32_t step = 0;                  // Draining/Recovering: 1..steps-1; Drained: steps
  std::optional<TimePoint> stepAt;        // when the current step was taken
  std::optional<TimePoint> healthySince;  // start of the current uninterrupted healthy run
  std::string reason;                     // why it left Healthy ("error rate 0.31 > 0.05")
  friend bool operator==(const BackendState&, const BackendState&) = default;
};

// What Prometheus (and the cache) said about one backend this round; nullopt: unknown.
struct BackendObservation {
  std::optional<double> errorRate;  // 0..1
  std::optional<double> latencyP99Ms;
  std::optional<double> requestsPerSecond;
  std::optional<bool> up;  // the health check query: true = passing
  bool down = false;       // Service missing, up == false, or all requests fail
  std::string downReason;
};

struct TrafficObservation {
  // Aligned with spec.backends.
  std::vector<BackendObservation> backends;
};

// The weights of one rule, aligned with spec.backends, summing to kWeightScale.
struct RuleWeights {
  std::string tier;  // empty: the default rule
  api::LoadBalancingStrategy strategy = api::LoadBalancingStrategy::RoundRobin;  // in force
  std::vector<std::int32_t> weights;
  friend bool operator==(const RuleWeights&, const RuleWeights&) = default;
};

enum class BudgetState { None, Ok, Alert, Over };

struct TrafficDecision {
  std::vector<BackendState> backends;  // aligned with spec.backends
  std::vector<BackendHealth> health;   // this round's verdict, aligned with spec.backends
  std::vector<RuleWeights> rules;      // spec.tiers in order, then the default rule
  bool panic = false;
  std::string panicReason;  // "1 of 3 backends healthy, minHealthyBackends 2"
  bool held = false;        // no metric known: weights held
  std::optional<double> estimatedCostPerHour;
  BudgetState budget = BudgetState::None;
  std::vector<Event> events;  // DrainStarted, Drained, RecoveryStarted, Recovered,
                              // Panic, BudgetAlert, BudgetExceeded
  // When a step is next due (the earliest pending shift step or recovery end); none: only the
  // metrics interval.
  std::optional<std::chrono::milliseconds> requeueAfter;
};

// `states` from status (aligned with spec.backends by name; missing entries are Healthy);
// `previous`: the rules' weights now in the data plane (same order as the result), used only
// to hold when nothing is known. `wasPanic`/`budgetBefore`: last round's verdicts, so Events
// are emitted on transitions only.
struct TrafficInputs {
  const api::TrafficPolicySpec* spec = nullptr;
  std::vector<BackendState> states;
  TrafficObservation observation;
  std::optional<std::vector<RuleWeights>> previous;
  bool wasPanic = false;
  BudgetState budgetBefore = BudgetState::None;
  TimePoint now;
};

TrafficDecision decideTraffic(const TrafficInputs& inputs);

}  // namespace sluice::engine
