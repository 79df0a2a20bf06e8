#include "operator/engine/traffic_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "operator/engine/route_plan.h"

namespace sluice::engine {
namespace {

using api::LoadBalancingStrategy;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

const TimePoint kT0{seconds{1'700'000'000}};
TimePoint at(int s) {
  return kT0 + seconds{s};
}

api::Backend backend(std::string name, std::string region = "", std::int32_t weight = 1) {
  api::Backend b;
  b.name = std::move(name);
  b.serviceRef.name = b.name;
  b.region = std::move(region);
  b.weight = weight;
  return b;
}

api::Backend withCapacity(api::Backend b, std::int64_t maxRps) {
  b.capacity.maxRequestsPerSecond = maxRps;
  return b;
}

api::Backend withCost(api::Backend b, std::int64_t perMillionMicros) {
  b.cost.perMillionRequests = api::Decimal{perMillionMicros, ""};
  return b;
}

api::TrafficPolicySpec specOf(std::vector<api::Backend> backends,
                              LoadBalancingStrategy strategy = LoadBalancingStrategy::RoundRobin) {
  api::TrafficPolicySpec spec;
  spec.backends = std::move(backends);
  spec.strategy = strategy;
  return spec;
}

api::TrafficTier tier(std::string name, std::int32_t priority,
                      std::optional<LoadBalancingStrategy> strategy = std::nullopt) {
  api::TrafficTier t;
  t.name = std::move(name);
  t.priority = priority;
  t.strategy = strategy;
  return t;
}

BackendObservation healthy(double rps = 100, double latency = 100, double errorRate = 0.001) {
  BackendObservation o;
  o.errorRate = errorRate;
  o.latencyP99Ms = latency;
  o.requestsPerSecond = rps;
  o.up = true;
  return o;
}

BackendObservation failing(double errorRate = 0.31) {
  return healthy(100, 100, errorRate);
}

BackendObservation unknown() {
  return {};
}

BackendObservation down(std::string reason = "Service pay/eastus not found") {
  BackendObservation o;
  o.down = true;
  o.downReason = std::move(reason);
  return o;
}

// One round of decideTraffic with last round's outputs fed back, as the controller does.
struct Policy {
  explicit Policy(api::TrafficPolicySpec s) : spec(std::move(s)) {}

  api::TrafficPolicySpec spec;
  std::vector<BackendState> states;
  std::optional<std::vector<RuleWeights>> previous;
  bool wasPanic = false;
  BudgetState budget = BudgetState::None;

  TrafficDecision round(std::vector<BackendObservation> observed, TimePoint now) {
    TrafficInputs in;
    in.spec = &spec;
    in.states = states;
    in.observation.backends = std::move(observed);
    in.previous = previous;
    in.wasPanic = wasPanic;
    in.budgetBefore = budget;
    in.now = now;
    auto d = decideTraffic(in);
    states = d.backends;
    previous = d.rules;
    wasPanic = d.panic;
    budget = d.budget;
    return d;
  }
};

TrafficDecision decideOnce(const api::TrafficPolicySpec& spec,
                           std::vector<BackendObservation> observed, TimePoint now = kT0) {
  TrafficInputs in;
  in.spec = &spec;
  in.observation.backends = std::move(observed);
  in.now = now;
  return decideTraffic(in);
}

const std::vector<std::int32_t>& defaultRule(const TrafficDecision& d) {
  return d.rules.back().weights;
}

std::int64_t sum(const std::vector<std::int32_t>& weights) {
  return std::accumulate(weights.begin(), weights.end(), std::int64_t{0});
}

long countOf(const TrafficDecision& d, const std::string& reason) {
  return std::count_if(d.events.begin(), d.events.end(),
                       [&](const Event& e) { return e.reason == reason; });
}

BackendState state(std::string name, BackendPhase phase = BackendPhase::Healthy,
                   std::int32_t step = 0) {
  BackendState s;
  s.name = std::move(name);
  s.phase = phase;
  s.step = step;
  return s;
}

std::vector<std::string> reasons(const TrafficDecision& d) {
  std::vector<std::string> out;
  for (const auto& e : d.events) {
    out.push_back(e.reason);
  }
  return out;
}

api::FailoverSpec failover(std::int32_t steps = 10, seconds interval = seconds{6},
                           seconds healthyFor = seconds{120}, std::int32_t minHealthy = 1) {
  api::FailoverSpec f;
  f.shift.steps = steps;
  f.shift.interval = interval;
  f.recovery.healthyFor = healthyFor;
  f.minHealthyBackends = minHealthy;
  return f;
}

// --- names and verdicts ---

TEST(TrafficPolicyNames, PhasesRoundTrip) {
  for (auto p : {BackendPhase::Healthy, BackendPhase::Draining, BackendPhase::Drained,
                 BackendPhase::Recovering}) {
    EXPECT_EQ(parseBackendPhase(toString(p)), p);
  }
  EXPECT_EQ(parseBackendPhase("draining"), std::nullopt);
  EXPECT_STREQ(toString(BackendHealth::Unknown), "Unknown");
  EXPECT_STREQ(toString(BackendHealth::Down), "Down");
}

TEST(TrafficPolicyHealth, VerdictTable) {
  BackendObservation errorOnly;
  errorOnly.errorRate = 0.01;
  BackendObservation upOnly;
  upOnly.up = true;
  BackendObservation upFalse;
  upFalse.up = false;
  BackendObservation latencyOnly;
  latencyOnly.latencyP99Ms = 100;
  BackendObservation slow = healthy(100, 900);
  BackendObservation nan;
  nan.errorRate = std::nan("");
  BackendObservation atThreshold = healthy(100, 500, 0.05);
  struct Case {
    const char* name;
    BackendObservation o;
    BackendHealth want;
  };
  const std::vector<Case> cases = {
      {"healthy", healthy(), BackendHealth::Healthy},
      {"error rate only, within", errorOnly, BackendHealth::Healthy},
      {"up, no traffic", upOnly, BackendHealth::Healthy},
      {"up false", upFalse, BackendHealth::Down},
      {"down", down(), BackendHealth::Down},
      {"error rate above", failing(), BackendHealth::Unhealthy},
      {"latency above", slow, BackendHealth::Unhealthy},
      {"at the thresholds", atThreshold, BackendHealth::Healthy},
      {"latency only", latencyOnly, BackendHealth::Unknown},
      {"NaN error rate", nan, BackendHealth::Unknown},
      {"nothing", unknown(), BackendHealth::Unknown},
  };
  for (const auto& c : cases) {
    // A healthy neighbour keeps the round from being held.
    auto spec = specOf({backend("a"), backend("b")});
    auto d = decideOnce(spec, {c.o, healthy()});
    EXPECT_EQ(d.health[0], c.want) << c.name;
  }
}

TEST(TrafficPolicyHealth, ReasonNamesTheCause) {
  auto spec = specOf({backend("eastus"), backend("westus")});
  auto d = decideOnce(spec, {healthy(100, 900, 0.31), healthy()});
  EXPECT_EQ(d.backends[0].reason, "error rate 0.31 above 0.05, p99 latency 900 ms above 500 ms");
}

// --- strategies ---

TEST(TrafficPolicyStrategy, RoundRobinFollowsBaselineWeights) {
  auto spec = specOf(
      {backend("a", "", 1), backend("b", "", 2), backend("c", "", 1), backend("zero", "", 0)});
  auto d = decideOnce(spec, {healthy(), healthy(), healthy(), healthy()});
  EXPECT_THAT(defaultRule(d), ElementsAre(250'000, 500'000, 250'000, 0));
  EXPECT_EQ(d.rules.back().strategy, LoadBalancingStrategy::RoundRobin);
  EXPECT_FALSE(d.panic);
  EXPECT_FALSE(d.held);
  EXPECT_THAT(d.events, IsEmpty());
  EXPECT_EQ(d.requeueAfter, std::nullopt);
}

TEST(TrafficPolicyStrategy, RoundRobinThirdsSumExactlyTiesToEarlier) {
  auto spec = specOf({backend("a"), backend("b"), backend("c")});
  auto d = decideOnce(spec, {healthy(), healthy(), healthy()});
  EXPECT_THAT(defaultRule(d), ElementsAre(333'334, 333'333, 333'333));
}

TEST(TrafficPolicyStrategy, LeastRequestFavoursFewerInFlight) {
  // In flight: a 100 rps × 0.1 s = 10, b 100 × 0.4 = 40, c 50 × 0.1 = 5.
  auto spec =
      specOf({backend("a"), backend("b"), backend("c")}, LoadBalancingStrategy::LeastRequest);
  auto d = decideOnce(spec, {healthy(100, 100), healthy(100, 400), healthy(50, 100)});
  const auto& w = defaultRule(d);
  EXPECT_GT(w[2], w[0]);
  EXPECT_GT(w[0], w[1]);
  // Factors 6/11, 6/41, 1.
  const double total = 6.0 / 11 + 6.0 / 41 + 1;
  EXPECT_NEAR(w[2], kWeightScale / total, 1);
  EXPECT_EQ(decideOnce(spec, {healthy(100, 100), healthy(100, 400), healthy(50, 100)}).rules,
            d.rules);
}

TEST(TrafficPolicyStrategy, WeightedResponseTimeIgnoresDifferencesWithin50ms) {
  auto spec = specOf({backend("a"), backend("b")}, LoadBalancingStrategy::WeightedResponseTime);
  EXPECT_THAT(defaultRule(decideOnce(spec, {healthy(100, 20), healthy(100, 60)})),
              ElementsAre(500'000, 500'000));
  EXPECT_THAT(defaultRule(decideOnce(spec, {healthy(100, 20), healthy(100, 70)})),
              ElementsAre(500'000, 500'000));
  // 200 ms: factor 20/200.
  const auto w = defaultRule(decideOnce(spec, {healthy(100, 20), healthy(100, 200)}));
  EXPECT_THAT(w, ElementsAre(909'091, 90'909));
  // Unknown latency: neutral.
  BackendObservation noLatency;
  noLatency.errorRate = 0.01;
  EXPECT_THAT(defaultRule(decideOnce(spec, {healthy(100, 20), noLatency})),
              ElementsAre(500'000, 500'000));
}

TEST(TrafficPolicyStrategy, GeographicNearestRegionFirstThenOverflow) {
  auto spec = specOf({backend("us-1", "us"), backend("eu-1", "eu"), backend("ap-1", "ap")},
                     LoadBalancingStrategy::Geographic);
  spec.preferredRegions = {"eu", "us"};
  auto eu = tier("eu-premium", 1, LoadBalancingStrategy::Geographic);
  eu.preferredRegions = {"ap"};
  spec.tiers = {eu};
  // No traffic observed: the nearest takes all.
  auto d = decideOnce(spec, {healthy(0), healthy(0), healthy(0)});
  EXPECT_THAT(d.rules[0].weights, ElementsAre(0, 0, kWeightScale));
  EXPECT_THAT(d.rules[1].weights, ElementsAre(0, kWeightScale, 0));
  EXPECT_EQ(d.rules[1].strategy, LoadBalancingStrategy::Geographic);

  // eu holds 100 of 300 rps: the rest goes to the next region, not to ap.
  spec.backends[1] = withCapacity(spec.backends[1], 100);
  d = decideOnce(spec, {healthy(100), healthy(100), healthy(100)});
  EXPECT_THAT(d.rules[1].weights, ElementsAre(666'667, 333'333, 0));

  // The nearest region draining: the next takes it.
  d = decideOnce(spec, {healthy(100), down(), healthy(100)});
  EXPECT_THAT(d.rules[1].weights, ElementsAre(kWeightScale, 0, 0));

  // No preferred regions: like RoundRobin.
  spec.preferredRegions.clear();
  spec.backends[1].capacity = {};
  d = decideOnce(spec, {healthy(0), healthy(0), healthy(0)});
  EXPECT_THAT(d.rules[1].weights, ElementsAre(333'334, 333'333, 333'333));
}

TEST(TrafficPolicyStrategy, CostOptimizedFillsCheapestFirst) {
  auto spec = specOf({withCost(backend("dear"), 3'000'000), withCost(backend("cheap"), 1'000'000),
                      withCost(backend("mid"), 2'000'000), backend("unpriced")},
                     LoadBalancingStrategy::CostOptimized);
  // No observed traffic: the cheapest takes all.
  auto d = decideOnce(spec, {healthy(0), healthy(0), healthy(0), healthy(0)});
  EXPECT_THAT(defaultRule(d), ElementsAre(0, kWeightScale, 0, 0));

  // 400 rps observed; cheap holds 100, mid 200: the rest spills to the next cheapest. The
  // unpriced one counts as the dearest (it ties with dear: the two share by weight).
  spec.backends[1] = withCapacity(spec.backends[1], 100);
  spec.backends[2] = withCapacity(spec.backends[2], 200);
  d = decideOnce(spec, {healthy(100), healthy(100), healthy(100), healthy(100)});
  EXPECT_THAT(defaultRule(d), ElementsAre(125'000, 250'000, 500'000, 125'000));
}

TEST(TrafficPolicyStrategy, HealthBasedFavoursHealthier) {
  auto spec =
      specOf({backend("a"), backend("b"), backend("c")}, LoadBalancingStrategy::HealthBased);
  // Factors (1 - e/0.05) × (1 - p99/500): a 0.9 × 0.8, b 0.5 × 0.8, c 0.9 × 0.2.
  auto d = decideOnce(
      spec, {healthy(100, 100, 0.005), healthy(100, 100, 0.025), healthy(100, 400, 0.005)});
  const auto& w = defaultRule(d);
  EXPECT_GT(w[0], w[1]);
  EXPECT_GT(w[1], w[2]);
  EXPECT_NEAR(w[0], kWeightScale * 0.72 / (0.72 + 0.4 + 0.18), 1);
}

TEST(TrafficPolicyStrategy, HybridBlendsHealthHeadroomCostLatency) {
  auto spec = specOf({withCapacity(withCost(backend("a"), 1'000'000), 1000),
                      withCapacity(withCost(backend("b"), 2'000'000), 1000),
                      withCapacity(withCost(backend("c"), 1'000'000), 1000)},
                     LoadBalancingStrategy::Hybrid);
  auto d = decideOnce(spec, {healthy(100, 50), healthy(100, 50), healthy(900, 300)});
  const auto& w = defaultRule(d);
  // b: dearer; c: slower and nearly full.
  EXPECT_GT(w[0], w[1]);
  EXPECT_GT(w[1], w[2]);
  EXPECT_GT(w[2], 0);
  EXPECT_EQ(sum(w), kWeightScale);
  EXPECT_EQ(decideOnce(spec, {healthy(100, 50), healthy(100, 50), healthy(900, 300)}).rules,
            d.rules);
}

TEST(TrafficPolicyStrategy, TierStrategyOverridesSpecStrategy) {
  auto spec = specOf({withCost(backend("a"), 2'000'000), withCost(backend("b"), 1'000'000)});
  spec.tiers = {tier("gold", 1, LoadBalancingStrategy::CostOptimized), tier("free", 2)};
  auto d = decideOnce(spec, {healthy(0), healthy(0)});
  ASSERT_EQ(d.rules.size(), 3U);
  EXPECT_EQ(d.rules[0].tier, "gold");
  EXPECT_EQ(d.rules[0].strategy, LoadBalancingStrategy::CostOptimized);
  EXPECT_THAT(d.rules[0].weights, ElementsAre(0, kWeightScale));
  EXPECT_EQ(d.rules[1].tier, "free");
  EXPECT_EQ(d.rules[1].strategy, LoadBalancingStrategy::RoundRobin);
  EXPECT_EQ(d.rules[2].tier, "");
  EXPECT_THAT(d.rules[2].weights, ElementsAre(500'000, 500'000));
}

// --- capacity ---

TEST(TrafficPolicyCapacity, CappedBackendExcessGoesToOthersByWeight) {
  // 600 rps observed; a holds 100 (1/6), b and c take the rest 1:2.
  auto spec = specOf({withCapacity(backend("a"), 100), backend("b", "", 1), backend("c", "", 2)});
  spec.backends[0].weight = 4;
  auto d = decideOnce(spec, {healthy(200), healthy(200), healthy(200)});
  const auto& w = defaultRule(d);
  EXPECT_LE(w[0], kWeightScale / 6 + 1);
  EXPECT_NEAR(w[0], kWeightScale / 6.0, 1);
  EXPECT_NEAR(w[2], 2.0 * w[1], 2);
  EXPECT_EQ(sum(w), kWeightScale);
}

TEST(TrafficPolicyCapacity, EveryBackendCappedFollowsCapacity) {
  auto spec = specOf({withCapacity(backend("a"), 100), withCapacity(backend("b"), 200),
                      withCapacity(backend("c"), 300)});
  auto d = decideOnce(spec, {healthy(400), healthy(400), healthy(400)});
  EXPECT_THAT(defaultRule(d), ElementsAre(166'667, 333'333, 500'000));
}

TEST(TrafficPolicyCapacity, NoTrafficNoCap) {
  auto spec = specOf({withCapacity(backend("a"), 1), backend("b")});
  auto d = decideOnce(spec, {healthy(0), healthy(0)});
  EXPECT_THAT(defaultRule(d), ElementsAre(500'000, 500'000));
}

// --- incident shifting ---

TEST(TrafficPolicyShift, DrainsInExactlyStepsSteps) {
  Policy p{specOf({backend("eastus"), backend("westus")})};
  p.spec.failover = failover(10, seconds{6});
  auto d = p.round({failing(), healthy()}, at(0));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Draining);
  EXPECT_EQ(d.backends[0].step, 1);
  EXPECT_EQ(d.backends[0].stepAt, at(0));
  EXPECT_EQ(d.backends[0].reason, "error rate 0.31 above 0.05");
  ASSERT_EQ(d.events.size(), 1U);
  EXPECT_EQ(d.events[0].type, EventType::Warning);
  EXPECT_EQ(d.events[0].reason, "DrainStarted");
  EXPECT_EQ(d.events[0].message,
            "backend eastus: error rate 0.31 above 0.05; draining in 10 steps of 6s");
  EXPECT_EQ(defaultRule(d)[0], 450'000);  // 1/2 × (1 - 1/10)
  EXPECT_EQ(d.requeueAfter, milliseconds{6000});

  std::int32_t last = defaultRule(d)[0];
  int drainedEvents = 0;
  for (int k = 2; k <= 10; ++k) {
    // Half an interval: nothing moves.
    auto mid = p.round({failing(), healthy()}, at(6 * (k - 1) - 3));
    EXPECT_EQ(defaultRule(mid)[0], last) << "step " << k;
    EXPECT_EQ(mid.requeueAfter, milliseconds{3000});
    d = p.round({failing(), healthy()}, at(6 * (k - 1)));
    EXPECT_LT(defaultRule(d)[0], last) << "step " << k;
    last = defaultRule(d)[0];
    EXPECT_EQ(last, 500'000 * (10 - k) / 10) << "step " << k;
    drainedEvents += static_cast<int>(countOf(d, "Drained"));
  }
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
  EXPECT_EQ(d.backends[0].step, 10);
  EXPECT_THAT(defaultRule(d), ElementsAre(0, kWeightScale));
  EXPECT_EQ(drainedEvents, 1);
  EXPECT_EQ(d.requeueAfter, std::nullopt);  // nothing pending while it keeps failing
  EXPECT_FALSE(d.panic);
  // Still failing: stays drained, no more events.
  d = p.round({failing(), healthy()}, at(600));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
  EXPECT_THAT(d.events, IsEmpty());
}

TEST(TrafficPolicyShift, OneStepDrainsAtOnce) {
  Policy p{specOf({backend("a"), backend("b")})};
  p.spec.failover = failover(1);
  auto d = p.round({failing(), healthy()}, at(0));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
  EXPECT_EQ(d.backends[0].step, 1);
  EXPECT_THAT(reasons(d), ElementsAre("DrainStarted", "Drained"));
  EXPECT_THAT(defaultRule(d), ElementsAre(0, kWeightScale));
}

TEST(TrafficPolicyShift, DownDrainsAtOnce) {
  Policy p{specOf({backend("eastus"), backend("westus")})};
  auto d = p.round({down(), healthy()}, at(0));
  EXPECT_EQ(d.health[0], BackendHealth::Down);
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
  EXPECT_EQ(d.backends[0].step, 10);
  EXPECT_EQ(d.backends[0].reason, "Service pay/eastus not found");
  ASSERT_EQ(d.events.size(), 1U);
  EXPECT_EQ(d.events[0].reason, "BackendDown");
  EXPECT_EQ(d.events[0].type, EventType::Warning);
  EXPECT_EQ(d.events[0].message, "backend eastus: Service pay/eastus not found; drained at once");
  EXPECT_THAT(defaultRule(d), ElementsAre(0, kWeightScale));
  EXPECT_THAT(p.round({down(), healthy()}, at(6)).events, IsEmpty());
}

TEST(TrafficPolicyShift, DownMidDrainDrainsAtOnce) {
  Policy p{specOf({backend("a"), backend("b")})};
  p.round({failing(), healthy()}, at(0));
  auto d = p.round({down(), healthy()}, at(1));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
  EXPECT_THAT(reasons(d), ElementsAre("BackendDown"));
}

TEST(TrafficPolicyShift, RecoversOnlyAfterHealthyForThenStepsBack) {
  Policy p{specOf({backend("a"), backend("b")})};
  p.spec.failover = failover(10, seconds{6}, seconds{120});
  p.round({down(), healthy()}, at(0));
  // The Service is back and healthy: a healthy run starts from Drained.
  auto d = p.round({healthy(0), healthy()}, at(10));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
  EXPECT_EQ(d.backends[0].healthySince, at(10));
  EXPECT_EQ(d.requeueAfter, milliseconds{120'000});
  d = p.round({healthy(0), healthy()}, at(129));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
  EXPECT_EQ(defaultRule(d)[0], 0);
  EXPECT_EQ(d.requeueAfter, milliseconds{1000});

  d = p.round({healthy(0), healthy()}, at(130));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Recovering);
  EXPECT_EQ(d.backends[0].step, 9);
  EXPECT_THAT(reasons(d), ElementsAre("RecoveryStarted"));
  EXPECT_EQ(defaultRule(d)[0], 50'000);  // 1/2 × 1/10
  EXPECT_EQ(d.requeueAfter, milliseconds{6000});

  std::int32_t last = defaultRule(d)[0];
  for (int k = 1; k <= 9; ++k) {
    auto mid = p.round({healthy(0), healthy()}, at(130 + 6 * k - 1));
    EXPECT_EQ(defaultRule(mid)[0], last);
    d = p.round({healthy(0), healthy()}, at(130 + 6 * k));
    EXPECT_GT(defaultRule(d)[0], last);
    last = defaultRule(d)[0];
  }
  EXPECT_EQ(d.backends[0], state("a"));
  EXPECT_THAT(reasons(d), ElementsAre("Recovered"));
  EXPECT_THAT(defaultRule(d), ElementsAre(500'000, 500'000));
  EXPECT_EQ(d.requeueAfter, std::nullopt);
}

TEST(TrafficPolicyShift, UnhealthyRoundRestartsTheHealthyRun) {
  Policy p{specOf({backend("a"), backend("b")})};
  p.round({down(), healthy()}, at(0));
  p.round({healthy(0), healthy()}, at(10));
  auto d = p.round({failing(), healthy()}, at(100));
  EXPECT_EQ(d.backends[0].healthySince, std::nullopt);
  d = p.round({healthy(0), healthy()}, at(110));
  EXPECT_EQ(d.backends[0].healthySince, at(110));
  d = p.round({healthy(0), healthy()}, at(200));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
  d = p.round({healthy(0), healthy()}, at(230));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Recovering);
}

TEST(TrafficPolicyShift, DrainingThatHealsHoldsThenStepsBackFromItsStep) {
  Policy p{specOf({backend("a"), backend("b")})};
  p.round({failing(), healthy()}, at(0));
  p.round({failing(), healthy()}, at(6));
  auto d = p.round({failing(), healthy()}, at(12));
  ASSERT_EQ(d.backends[0].step, 3);
  const auto held = defaultRule(d);
  for (int s = 18; s < 138; s += 6) {
    d = p.round({healthy(), healthy()}, at(s));
    EXPECT_EQ(d.backends[0].phase, BackendPhase::Draining) << s;
    EXPECT_EQ(d.backends[0].step, 3) << s;
    EXPECT_EQ(defaultRule(d), held) << s;
  }
  EXPECT_EQ(d.requeueAfter, milliseconds{6000});  // healthy since 18, healthyFor 120
  d = p.round({healthy(), healthy()}, at(138));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Recovering);
  EXPECT_EQ(d.backends[0].step, 2);
  EXPECT_THAT(reasons(d), ElementsAre("RecoveryStarted"));
}

TEST(TrafficPolicyShift, UnhealthyDuringRecoveryDrainsFromTheSameShare) {
  Policy p{specOf({backend("a"), backend("b")})};
  p.round({down(), healthy()}, at(0));
  p.round({healthy(0), healthy()}, at(1));
  p.round({healthy(0), healthy()}, at(121));                // Recovering, step 9
  p.round({healthy(0), healthy()}, at(127));                // step 8
  auto before = p.round({healthy(0), healthy()}, at(133));  // step 7
  ASSERT_EQ(before.backends[0].step, 7);
  auto d = p.round({failing(), healthy()}, at(134));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Draining);
  EXPECT_EQ(d.backends[0].step, 7);
  EXPECT_EQ(defaultRule(d), defaultRule(before));
  EXPECT_THAT(reasons(d), ElementsAre("DrainStarted"));
  d = p.round({failing(), healthy()}, at(140));
  EXPECT_EQ(d.backends[0].step, 8);
}

TEST(TrafficPolicyShift, FlappingNeverMovesWeightUpBeforeHealthyFor) {
  Policy p{specOf({backend("a"), backend("b")})};
  p.spec.failover = failover(10, seconds{6}, seconds{120});
  std::int32_t last = kWeightScale;
  for (int k = 0; k < 200; ++k) {
    auto d = p.round({k % 2 == 0 ? failing() : healthy(), healthy()}, at(6 * k));
    EXPECT_LE(defaultRule(d)[0], last) << "round " << k;
    last = defaultRule(d)[0];
    EXPECT_NE(d.backends[0].phase, BackendPhase::Recovering) << "round " << k;
  }
  EXPECT_EQ(last, 0);
}

TEST(TrafficPolicyShift, UnknownHoldsStateAndRestartsHealthyRun) {
  Policy p{specOf({backend("a"), backend("b")})};
  p.round({failing(), healthy()}, at(0));
  auto d = p.round({failing(), healthy()}, at(6));
  ASSERT_EQ(d.backends[0].step, 2);
  const auto weights = defaultRule(d);
  for (int s = 12; s < 300; s += 6) {
    d = p.round({unknown(), healthy()}, at(s));
    EXPECT_EQ(d.health[0], BackendHealth::Unknown);
    EXPECT_EQ(d.backends[0].phase, BackendPhase::Draining);
    EXPECT_EQ(d.backends[0].step, 2);
    EXPECT_EQ(defaultRule(d), weights);
    EXPECT_THAT(d.events, IsEmpty());
  }
  d = p.round({healthy(), healthy()}, at(300));
  EXPECT_EQ(d.backends[0].healthySince, at(300));
  d = p.round({unknown(), healthy()}, at(306));
  EXPECT_EQ(d.backends[0].healthySince, std::nullopt);
}

TEST(TrafficPolicyShift, RestartResumesAtTheSameStepAndTime) {
  // The uninterrupted run, and one whose process restarts mid-drain (the states round-trip
  // through status, shuffled, with a stale entry) and reconciles at other moments.
  Policy straight{specOf({backend("a"), backend("b"), backend("c")})};
  Policy restarted = straight;
  straight.round({failing(), healthy(), healthy()}, at(0));
  restarted.round({failing(), healthy(), healthy()}, at(0));
  straight.round({failing(), healthy(), healthy()}, at(6));
  restarted.round({failing(), healthy(), healthy()}, at(6));

  auto persisted = restarted.states;
  std::reverse(persisted.begin(), persisted.end());
  persisted.push_back(state("removed-backend", BackendPhase::Drained, 10));
  Policy fresh{restarted.spec};
  fresh.states = persisted;
  auto d = fresh.round({failing(), healthy(), healthy()}, at(9));
  EXPECT_EQ(d.backends, straight.states);  // no step before its time
  EXPECT_EQ(d.requeueAfter, milliseconds{3000});
  d = fresh.round({failing(), healthy(), healthy()}, at(12));
  auto want = straight.round({failing(), healthy(), healthy()}, at(12));
  EXPECT_EQ(d.backends, want.backends);
  EXPECT_EQ(d.rules, want.rules);
  EXPECT_EQ(d.backends[0].step, 3);
}

TEST(TrafficPolicyShift, StatesAlignByName) {
  auto spec = specOf({backend("a"), backend("b"), backend("c")});
  TrafficInputs in;
  in.spec = &spec;
  BackendState drained = state("c", BackendPhase::Drained, 10);
  drained.reason = "down";
  in.states = {state("ghost", BackendPhase::Draining, 3), drained};
  in.observation.backends = {healthy(), healthy(), unknown()};
  in.now = kT0;
  auto d = decideTraffic(in);
  ASSERT_EQ(d.backends.size(), 3U);
  EXPECT_THAT(d.backends, ElementsAre(Field(&BackendState::name, "a"),
                                      Field(&BackendState::name, "b"), drained));
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Healthy);
  EXPECT_EQ(defaultRule(d)[2], 0);
}

// --- panic ---

TEST(TrafficPolicyPanic, BelowMinHealthyBackendsSpreadsOverAllNotDown) {
  Policy p{specOf({backend("a"), backend("b"), backend("c"), backend("d")})};
  p.spec.failover = failover(10, seconds{6}, seconds{120}, 2);
  auto d = p.round({failing(), failing(), healthy(), down()}, at(0));
  EXPECT_TRUE(d.panic);
  EXPECT_EQ(d.panicReason, "1 of 4 backends healthy, minHealthyBackends 2");
  EXPECT_THAT(defaultRule(d), ElementsAre(333'334, 333'333, 333'333, 0));
  EXPECT_EQ(countOf(d, "Panic"), 1);
  // The shift still runs underneath; no second Panic Event.
  d = p.round({failing(), failing(), healthy(), down()}, at(6));
  EXPECT_TRUE(d.panic);
  EXPECT_EQ(d.backends[0].step, 2);
  EXPECT_EQ(countOf(d, "Panic"), 0);
  // One healthy backend is enough once minHealthyBackends is lowered to 1.
  p.spec.failover->minHealthyBackends = 1;
  d = p.round({failing(), failing(), healthy(), down()}, at(12));
  EXPECT_FALSE(d.panic);
  EXPECT_THAT(reasons(d), ElementsAre("PanicOver"));
  EXPECT_EQ(d.events.back().type, EventType::Normal);
}

TEST(TrafficPolicyPanic, EveryBackendUnhealthySpreadsNotConcentrates) {
  for (auto strategy : {LoadBalancingStrategy::RoundRobin, LoadBalancingStrategy::CostOptimized,
                        LoadBalancingStrategy::Geographic, LoadBalancingStrategy::Hybrid}) {
    Policy p{
        specOf({withCost(backend("a", "eu"), 1'000'000), withCost(backend("b", "us"), 2'000'000),
                withCost(backend("c", "us"), 3'000'000)},
               strategy)};
    p.spec.preferredRegions = {"eu"};
    p.spec.failover = failover(1);
    auto d = p.round({failing(), failing(), failing()}, at(0));
    EXPECT_TRUE(d.panic) << toString(strategy);
    for (auto w : defaultRule(d)) {
      EXPECT_GT(w, 0) << toString(strategy);
    }
    EXPECT_EQ(sum(defaultRule(d)), kWeightScale);
  }
}

TEST(TrafficPolicyPanic, EveryBackendDownUsesBaseline) {
  Policy p{specOf({backend("a", "", 1), backend("b", "", 3)})};
  auto d = p.round({down(), down()}, at(0));
  EXPECT_TRUE(d.panic);
  EXPECT_THAT(defaultRule(d), ElementsAre(250'000, 750'000));
}

TEST(TrafficPolicyPanic, LiveBackendsWithoutWeightGetEqualShares) {
  Policy p{specOf({backend("a", "", 5), backend("b", "", 0), backend("c", "", 0)})};
  auto d = p.round({down(), healthy(), healthy()}, at(0));
  EXPECT_TRUE(d.panic);
  EXPECT_THAT(defaultRule(d), ElementsAre(0, 500'000, 500'000));
}

// --- metrics hold ---

TEST(TrafficPolicyHold, PrometheusDownKeepsPreviousWeightsExactly) {
  Policy p{specOf({backend("a"), backend("b"), backend("c")}, LoadBalancingStrategy::HealthBased)};
  p.spec.tiers = {tier("gold", 1)};
  p.round({failing(), healthy(), healthy(100, 300)}, at(0));
  const auto states = p.states;
  const auto rules = *p.previous;
  auto d = p.round({unknown(), unknown(), unknown()}, at(600));
  EXPECT_TRUE(d.held);
  EXPECT_EQ(d.rules, rules);
  EXPECT_EQ(d.backends, states);
  EXPECT_THAT(d.events, IsEmpty());
  EXPECT_EQ(d.requeueAfter, std::nullopt);
  // Empty observation vector: the same.
  d = p.round({}, at(700));
  EXPECT_TRUE(d.held);
  EXPECT_EQ(d.rules, rules);
}

TEST(TrafficPolicyHold, WithoutUsablePreviousUsesBaseline) {
  auto spec = specOf({backend("a", "", 1), backend("b", "", 3)});
  spec.tiers = {tier("gold", 1)};
  TrafficInputs in;
  in.spec = &spec;
  in.observation.backends = {unknown(), unknown()};
  in.now = kT0;
  auto d = decideTraffic(in);
  EXPECT_TRUE(d.held);
  ASSERT_EQ(d.rules.size(), 2U);
  EXPECT_THAT(d.rules[0].weights, ElementsAre(250'000, 750'000));
  EXPECT_EQ(d.rules[0].tier, "gold");
  // A previous of another shape (a tier was added since) is not used.
  in.previous = std::vector<RuleWeights>{{"", LoadBalancingStrategy::RoundRobin, {1, 999'999}}};
  EXPECT_THAT(decideTraffic(in).rules[1].weights, ElementsAre(250'000, 750'000));
}

TEST(TrafficPolicyHold, AnyDownIsNotAHold) {
  auto spec = specOf({backend("a"), backend("b")});
  auto d = decideOnce(spec, {down(), unknown()});
  EXPECT_FALSE(d.held);
  EXPECT_EQ(d.backends[0].phase, BackendPhase::Drained);
}

// --- budget ---

TEST(TrafficPolicyBudget, AlertAndOverTransitionsOnceOverMovesFreeTiersToCheapest) {
  // 1,000 rps per backend: a 3.6/h, b 36/h (cost per million 1 and 10).
  Policy p{specOf({withCost(backend("cheap"), 1'000'000), withCost(backend("dear"), 10'000'000)})};
  p.spec.tiers = {tier("premium", 1), tier("standard", 2), tier("free", 3)};
  p.spec.budget = api::BudgetSpec{api::Decimal{50'000'000, "50"}, 80};
  auto d = p.round({healthy(500), healthy(500)}, at(0));  // 1.8 + 18 = 19.8/h
  EXPECT_EQ(d.budget, BudgetState::Ok);
  ASSERT_TRUE(d.estimatedCostPerHour);
  EXPECT_NEAR(*d.estimatedCostPerHour, 19.8, 1e-9);
  EXPECT_THAT(d.events, IsEmpty());
  const auto premium = d.rules[0];

  d = p.round({healthy(1000), healthy(1100)}, at(15));  // 3.6 + 39.6 = 43.2 >= 40
  EXPECT_EQ(d.budget, BudgetState::Alert);
  EXPECT_THAT(reasons(d), ElementsAre("BudgetAlert"));
  EXPECT_EQ(d.events[0].type, EventType::Warning);
  d = p.round({healthy(1000), healthy(1100)}, at(30));
  EXPECT_THAT(d.events, IsEmpty());

  d = p.round({healthy(1000), healthy(1300)}, at(45));  // 3.6 + 46.8 = 50.4 > 50
  EXPECT_EQ(d.budget, BudgetState::Over);
  EXPECT_THAT(reasons(d), ElementsAre("BudgetExceeded"));
  EXPECT_EQ(d.rules[0], premium);
  for (std::size_t r = 1; r < d.rules.size(); ++r) {
    EXPECT_EQ(d.rules[r].strategy, LoadBalancingStrategy::CostOptimized) << r;
    EXPECT_THAT(d.rules[r].weights, ElementsAre(kWeightScale, 0)) << r;
  }
  d = p.round({healthy(1000), healthy(1300)}, at(60));
  EXPECT_THAT(d.events, IsEmpty());
  d = p.round({healthy(100), healthy(100)}, at(75));
  EXPECT_EQ(d.budget, BudgetState::Ok);
  EXPECT_THAT(d.events, IsEmpty());
  EXPECT_EQ(d.rules[1].strategy, LoadBalancingStrategy::RoundRobin);
}

TEST(TrafficPolicyBudget, TiersSharingTheTopPriorityAreAllKept) {
  auto spec =
      specOf({withCost(backend("cheap"), 1'000'000), withCost(backend("dear"), 10'000'000)});
  spec.tiers = {tier("gold", 2), tier("platinum", 2), tier("free", 5)};
  spec.budget = api::BudgetSpec{api::Decimal{1'000'000, "1"}, 80};
  auto d = decideOnce(spec, {healthy(1000), healthy(1000)});
  EXPECT_EQ(d.budget, BudgetState::Over);
  EXPECT_EQ(d.rules[0].strategy, LoadBalancingStrategy::RoundRobin);
  EXPECT_EQ(d.rules[1].strategy, LoadBalancingStrategy::RoundRobin);
  EXPECT_EQ(d.rules[2].strategy, LoadBalancingStrategy::CostOptimized);
  EXPECT_EQ(d.rules[3].strategy, LoadBalancingStrategy::CostOptimized);
}

TEST(TrafficPolicyBudget, NoBudgetNoVerdictButAnEstimate) {
  auto spec = specOf({withCost(backend("a"), 2'000'000), backend("b")});
  auto d = decideOnce(spec, {healthy(1000), healthy(1000)});
  EXPECT_EQ(d.budget, BudgetState::None);
  ASSERT_TRUE(d.estimatedCostPerHour);
  EXPECT_NEAR(*d.estimatedCostPerHour, 7.2, 1e-9);
  spec.backends[0].cost = {};
  EXPECT_EQ(decideOnce(spec, {healthy(1000), healthy(1000)}).estimatedCostPerHour, std::nullopt);
}

// --- invariants over random inputs ---

std::optional<double> maybe(std::mt19937& rng, double lo, double hi, double knownPercent = 80) {
  std::uniform_real_distribution<double> pct(0, 100);
  if (pct(rng) >= knownPercent) {
    return std::nullopt;
  }
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

TEST(TrafficPolicyProperty, RandomSpecsKeepTheInvariants) {
  std::mt19937 rng(20240611);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const std::vector<std::string> regions = {"eu", "us", "ap"};
  int panics = 0, holds = 0, downWithLive = 0, overs = 0, shifting = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    api::TrafficPolicySpec spec;
    spec.strategy = static_cast<LoadBalancingStrategy>(pick(7));
    const int n = 1 + pick(8);
    for (int i = 0; i < n; ++i) {
      auto b = backend("b" + std::to_string(i), regions[static_cast<std::size_t>(pick(3))],
                       pick(4) == 0 ? 0 : 1 + pick(100));
      if (pick(2) == 0) {
        b.capacity.maxRequestsPerSecond = 1 + pick(500);
      }
      if (pick(2) == 0) {
        b.cost.perMillionRequests = api::Decimal{pick(5'000'000), ""};
      }
      spec.backends.push_back(b);
    }
    if (pick(10) == 0) {
      for (auto& b : spec.backends) {
        b.weight = 0;
      }
      spec.backends[0].weight = 1;
    }
    for (int t = pick(3); t > 0; --t) {
      auto tr = tier("t" + std::to_string(t), 1 + pick(3));
      if (pick(2) == 0) {
        tr.strategy = static_cast<LoadBalancingStrategy>(pick(7));
      }
      tr.preferredRegions = {regions[static_cast<std::size_t>(pick(3))]};
      spec.tiers.push_back(tr);
    }
    spec.preferredRegions = {regions[static_cast<std::size_t>(pick(3))], "nowhere"};
    if (pick(2) == 0) {
      spec.failover = failover(1 + pick(5), seconds{1 + pick(10)}, seconds{pick(30)}, pick(3));
    }
    if (pick(2) == 0) {
      spec.budget = api::BudgetSpec{api::Decimal{pick(2'000'000'000), ""}, 1 + pick(100)};
    }

    TrafficInputs in;
    in.spec = &spec;
    in.now = at(pick(1000));
    in.wasPanic = pick(2) == 0;
    in.budgetBefore = static_cast<BudgetState>(pick(4));
    for (int i = 0; i < n; ++i) {
      if (pick(2) == 0) {
        BackendState s;
        s.name = "b" + std::to_string(i);
        s.phase = static_cast<BackendPhase>(pick(4));
        s.step = pick(12);
        if (pick(3) > 0) {
          s.stepAt = at(pick(1000));
        }
        if (pick(2) == 0) {
          s.healthySince = at(pick(1000));
        }
        in.states.push_back(s);
      }
      BackendObservation o;
      const bool silent = pick(4) == 0;
      if (!silent) {
        o.errorRate = maybe(rng, 0, 0.2);
        o.latencyP99Ms = maybe(rng, 0, 900);
        o.requestsPerSecond = maybe(rng, 0, 1000);
        o.up = pick(3) == 0 ? std::optional<bool>(pick(5) > 0) : std::nullopt;
        o.down = pick(8) == 0;
      }
      in.observation.backends.push_back(o);
    }
    std::shuffle(in.states.begin(), in.states.end(), rng);

    const auto d = decideTraffic(in);
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    ASSERT_EQ(d.backends.size(), spec.backends.size());
    ASSERT_EQ(d.rules.size(), spec.tiers.size() + 1);
    std::vector<bool> isDown(spec.backends.size(), false);
    bool anyLive = false;
    for (std::size_t i = 0; i < spec.backends.size(); ++i) {
      EXPECT_EQ(d.backends[i].name, spec.backends[i].name);
      isDown[i] = !d.held && d.health[i] == BackendHealth::Down;
      anyLive = anyLive || !isDown[i];
    }
    for (const auto& rule : d.rules) {
      ASSERT_EQ(rule.weights.size(), spec.backends.size());
      EXPECT_EQ(sum(rule.weights), kWeightScale);
      for (std::size_t i = 0; i < rule.weights.size(); ++i) {
        EXPECT_GE(rule.weights[i], 0);
        if (anyLive && isDown[i]) {
          EXPECT_EQ(rule.weights[i], 0) << "down backend " << i << " weighted";
        }
      }
    }
    if (d.requeueAfter) {
      EXPECT_GE(d.requeueAfter->count(), 0);
    }
    panics += d.panic ? 1 : 0;
    holds += d.held ? 1 : 0;
    overs += d.budget == BudgetState::Over ? 1 : 0;
    downWithLive += anyLive && std::find(isDown.begin(), isDown.end(), true) != isDown.end();
    shifting += std::any_of(d.backends.begin(), d.backends.end(), [](const BackendState& s) {
      return s.phase == BackendPhase::Draining || s.phase == BackendPhase::Recovering;
    });
    const auto again = decideTraffic(in);
    EXPECT_EQ(again.rules, d.rules);
    EXPECT_EQ(again.backends, d.backends);
    EXPECT_EQ(again.events, d.events);
    EXPECT_EQ(again.requeueAfter, d.requeueAfter);
    // Persisting and feeding back is stable: a second round at the same instant with the
    // same observation takes no further step.
    TrafficInputs next = in;
    next.states = d.backends;
    next.wasPanic = d.panic;
    next.budgetBefore = d.budget;
    const auto second = decideTraffic(next);
    EXPECT_EQ(second.rules, d.rules);
  }
  // The random inputs reach every path the invariants are about.
  EXPECT_GT(panics, 100);
  EXPECT_GT(holds, 10);
  EXPECT_GT(downWithLive, 100);
  EXPECT_GT(overs, 50);
  EXPECT_GT(shifting, 100);
}

}  // namespace
}  // namespace sluice::engine
