#include "operator/engine/traffic_policy.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "operator/api/units.h"
#include "operator/engine/format.h"
#include "operator/engine/route_plan.h"

namespace sluice::engine {
namespace {

using api::LoadBalancingStrategy;
using std::chrono::milliseconds;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kLargest = std::numeric_limits<double>::max();
// HealthBased/Hybrid never score a backend below this: a poor backend keeps a trickle of
// traffic, so it is still measured and recovers by itself.
constexpr double kMinHealthFactor = 0.05;
// Latencies below this count as this: a backend reporting 0 ms must not zero the others.
constexpr double kMinLatencyMs = 1.0;
constexpr std::size_t kStrategyCount = 7;
// Rounding histograms the remainders into this many buckets.
constexpr std::size_t kRemainderBuckets = 256;

constexpr std::array<const char*, 4> kPhaseNames = {"Healthy", "Draining", "Drained", "Recovering"};
constexpr std::array<const char*, 4> kHealthNames = {"Healthy", "Unhealthy", "Down", "Unknown"};

// NaN, infinities and negative values are as good as no answer.
std::optional<double> known(std::optional<double> v) {
  if (v && std::isfinite(*v) && *v >= 0) {
    return v;
  }
  return std::nullopt;
}

// An optional<double> in 8 bytes (NaN: unknown), so the facts of 1,000 backends take half the
// memory: a decision's time goes mostly to touching fresh memory.
class Known {
 public:
  Known() = default;
  Known(double v) : v_(v) {}  // NOLINT(google-explicit-constructor): reads like optional
  Known(std::optional<double> v) : v_(v ? *v : kUnknown) {}  // NOLINT(google-explicit-constructor)
  explicit operator bool() const { return !std::isnan(v_); }
  double operator*() const { return v_; }
  double value_or(double fallback) const { return *this ? v_ : fallback; }

 private:
  static constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
  double v_ = kUnknown;
};

// Running sums over the backends kept in four lanes, added up in a fixed order at the end:
// one sum over 1,000 backends is a chain of 1,000 dependent additions, four are a quarter
// as long. The result can differ from the serial sum in the last bits, never between runs.
class Lanes {
 public:
  double& operator[](std::size_t lane) { return lane_[lane]; }
  double sum() const { return (lane_[0] + lane_[1]) + (lane_[2] + lane_[3]); }

 private:
  std::array<double, 4> lane_{};
};

// Calls body(i, lane) for i in [0, n), four at a time with constant lanes so that Lanes stay
// in registers.
template <typename Body>
inline void forEachInLanes(std::size_t n, Body&& body) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    body(i, 0);
    body(i + 1, 1);
    body(i + 2, 2);
    body(i + 3, 3);
  }
  for (; i < n; ++i) {
    body(i, 0);
  }
}

BackendState healthyState(std::string name) {
  BackendState s;
  s.name = std::move(name);
  return s;
}

bool isAllocation(LoadBalancingStrategy s) {
  return s == LoadBalancingStrategy::Geographic || s == LoadBalancingStrategy::CostOptimized;
}

// What the rules read of the backends' specs and observations, gathered in one pass so the
// rules never go back to the (large) spec and observation structs. One array per fact: the
// rules' loops read two or three of them, and arrays of doubles are what the compiler
// vectorises.
struct Facts {
  std::vector<double> base;
  std::vector<Known> errorRate;
  std::vector<Known> latency;
  std::vector<Known> rps;
  std::vector<Known> cost;               // per million requests, as configured
  std::vector<Known> capacity;           // maxRequestsPerSecond
  std::vector<std::int64_t> costMicros;  // the configured cost, when `cost` is known
  std::vector<unsigned char> down;
  std::vector<unsigned char> up;  // the health check passes

  void resize(std::size_t n) {
    base.resize(n);
    errorRate.resize(n);
    latency.resize(n);
    rps.resize(n);
    cost.resize(n);
    capacity.resize(n);
    costMicros.resize(n);
    down.resize(n);
    up.resize(n);
  }
};

// The working memory of a decision, kept per thread and reused: a decision over 1,000
// backends would otherwise allocate and first touch a few hundred kilobytes each round.
// decideTraffic() never calls itself, so one per thread is enough.
struct Scratch {
  Facts facts;
  std::vector<double> limit;
  std::vector<double> drain;
  std::vector<std::uint64_t> keys;
  std::vector<std::uint64_t> keyBuffer;
  std::vector<std::size_t> byPrice;
  std::vector<std::size_t> priceGroupEnds;
  std::vector<double> shares;
  std::vector<double> factor;
  std::vector<double> latencyFactor;
  std::vector<std::size_t> order;
  std::vector<std::size_t> groupEnds;
  std::vector<std::size_t> members;
  std::vector<std::size_t> active;
  std::vector<std::size_t> next;
  std::vector<double> remainder;
  std::vector<double> ranked;
  std::vector<unsigned char> capped;
};

Scratch& scratchOfThisThread() {
  thread_local Scratch scratch;
  return scratch;
}

// Everything one decideTraffic() call builds up. Per-backend facts are computed once and shared
// by every rule; a rule's weights depend only on its strategy (and, for Geographic, its
// regions), so each distinct one is computed once.
class Decider {
 public:
  explicit Decider(const TrafficInputs& in)
      : in_(in),
        spec_(*in.spec),
        failover_(spec_.failover.value_or(api::FailoverSpec{})),
        n_(spec_.backends.size()),
        steps_(std::max<std::int32_t>(1, failover_.shift.steps)),
        errorThreshold_(failover_.errorRateThreshold.toDouble()),
        latencyThreshold_(static_cast<double>(failover_.latencyThresholdMilliseconds)) {}

  TrafficDecision run();

 private:
  void emit(EventType type, const char* reason, std::string message) {
    out_.events.push_back({type, reason, std::move(message)});
  }
  std::string who(std::size_t i) const { return "backend " + spec_.backends[i].name; }

  void normalizeStates();
  bool observe();
  void holdWeights();
  BackendHealth verdict(std::size_t i) const;
  std::string causeOf(std::size_t i) const;
  void advance(std::size_t i, BackendHealth health);
  void startDraining(std::size_t i, const std::string& cause);
  void drained(std::size_t i);
  void startRecovery(std::size_t i);
  void recovered(std::size_t i);
  bool stepDue(const BackendState& s) const {
    return !s.stepAt || in_.now >= *s.stepAt + failover_.shift.interval;
  }
  void decidePanic(std::int32_t healthy, bool anyShare);
  void decideBudget();
  void decideRules();

  const std::vector<std::int32_t>& weightsFor(LoadBalancingStrategy strategy,
                                              const std::vector<std::string>& regions);
  double computeShares(LoadBalancingStrategy strategy, const std::vector<std::string>& regions);
  double factorShares(LoadBalancingStrategy strategy);
  const double* latencyFactors();
  double spread(const double* factor);
  void allocationShares(LoadBalancingStrategy strategy, const std::vector<std::string>& regions);
  void sortByPrice();
  void fillInOrder(bool fullOnly, bool byCost, double mass);
  void waterFill(const std::vector<std::size_t>& members, const std::vector<double>& weights,
                 double mass);
  void toWeights(std::vector<std::int32_t>& weights, double total);
  std::vector<std::int32_t> baselineWeights();

  const TrafficInputs& in_;
  const api::TrafficPolicySpec& spec_;
  const api::FailoverSpec failover_;
  const std::size_t n_;
  const std::int32_t steps_;
  const double errorThreshold_;
  const double latencyThreshold_;

  TrafficDecision out_;
  Scratch& scratch_ = scratchOfThisThread();
  Facts& facts_ = scratch_.facts;
  // Read by every rule, so apart from the facts: capacity as a fraction of the observed
  // traffic, and the share the incident shift leaves a backend.
  std::vector<double>& limit_ = scratch_.limit;
  std::vector<double>& drain_ = scratch_.drain;
  double traffic_ = 0;  // T: the sum of the known requests per second
  double cost_ = 0;     // the estimated cost per hour of the known traffic
  bool anyEstimate_ = false;
  bool everyBackendDown_ = false;

  // Per-strategy factor inputs, computed once.
  double fastest_ = kInfinity;
  double leastInFlight_ = kInfinity;
  double cheapest_ = kInfinity;
  double dearest_ = 0;
  bool anyCost_ = false;
  std::int64_t dearestMicros_ = 0;  // the dearest configured cost, 0 without one
  bool latencyFactorsKnown_ = false;
  // The backends that can take traffic, cheapest first (ties: the earlier backend), and where
  // each price's group ends in that order: sorted once per decision, shared by every
  // CostOptimized fill.
  std::vector<std::size_t>& byPrice_ = scratch_.byPrice;
  std::vector<std::size_t>& priceGroupEnds_ = scratch_.priceGroupEnds;

  // Scratch space reused by every rule.
  std::vector<double>& shares_ = scratch_.shares;
  std::vector<std::size_t>& order_ = scratch_.order;
  std::vector<std::size_t>& groupEnds_ = scratch_.groupEnds;
  std::vector<std::size_t>& members_ = scratch_.members;
  std::vector<std::size_t>& active_ = scratch_.active;
  std::vector<std::size_t>& next_ = scratch_.next;
  std::vector<double>& remainder_ = scratch_.remainder;
  std::vector<double>& ranked_ = scratch_.ranked;
  std::vector<unsigned char>& capped_ = scratch_.capped;

  std::array<std::optional<std::vector<std::int32_t>>, kStrategyCount> memo_;
  std::vector<std::pair<const std::vector<std::string>*, std::vector<std::int32_t>>> geoMemo_;
};

void Decider::normalizeStates() {
  // A state written under another shift.steps (or by hand) is brought into range, so the
  // share it implies stays between 0 and 1.
  auto clamp = [&](BackendState& s) {
    switch (s.phase) {
      case BackendPhase::Healthy:
        s.step = 0;
        break;
      case BackendPhase::Drained:
        s.step = steps_;
        break;
      case BackendPhase::Draining:
        s.step = std::max<std::int32_t>(1, s.step);
        if (s.step >= steps_) {
          s.phase = BackendPhase::Drained;
          s.step = steps_;
        }
        break;
      case BackendPhase::Recovering:
        s.step = std::min<std::int32_t>(s.step, steps_ - 1);
        if (s.step <= 0) {
          s = healthyState(std::move(s.name));
        }
        break;
    }
  };
  // Status lists the states in spec order: copy while the names agree (each state is read
  // and brought into range once), and only fall back to matching by name when they do not.
  out_.backends.reserve(n_);
  bool aligned = in_.states.size() >= n_;
  for (std::size_t i = 0; aligned && i < n_; ++i) {
    aligned = in_.states[i].name == spec_.backends[i].name;
    if (aligned) {
      clamp(out_.backends.emplace_back(in_.states[i]));
    }
  }
  if (aligned) {
    return;
  }
  out_.backends.clear();
  out_.backends.resize(n_);
  std::unordered_map<std::string_view, const BackendState*> byName;
  byName.reserve(in_.states.size());
  for (const auto& s : in_.states) {
    byName.emplace(s.name, &s);  // the first of duplicates wins
  }
  for (std::size_t i = 0; i < n_; ++i) {
    auto it = byName.find(spec_.backends[i].name);
    if (it != byName.end()) {
      out_.backends[i] = *it->second;
    } else {
      out_.backends[i] = healthyState(spec_.backends[i].name);
    }
    clamp(out_.backends[i]);
  }
}

// Gathers the facts, the observed traffic and the cost estimate in one pass; returns whether
// any metric is known at all.
bool Decider::observe() {
  Facts& f = facts_;
  f.resize(n_);
  limit_.resize(n_);
  drain_.assign(n_, 1);
  const auto& observed = in_.observation.backends;
  bool anyKnown = false;
  for (std::size_t i = 0; i < n_; ++i) {
    const api::Backend& b = spec_.backends[i];
    f.base[i] = std::max<double>(0, b.weight);
    f.cost[i] = Known();
    f.costMicros[i] = 0;
    if (b.cost.perMillionRequests && b.cost.perMillionRequests->micros >= 0) {
      f.cost[i] = b.cost.perMillionRequests->toDouble();
      f.costMicros[i] = b.cost.perMillionRequests->micros;
      dearestMicros_ = std::max(dearestMicros_, f.costMicros[i]);
    }
    f.capacity[i] = b.capacity.maxRequestsPerSecond
                        ? Known(static_cast<double>(*b.capacity.maxRequestsPerSecond))
                        : Known();
    if (i >= observed.size()) {
      f.errorRate[i] = f.latency[i] = f.rps[i] = Known();
      f.down[i] = f.up[i] = 0;
      continue;
    }
    const BackendObservation& o = observed[i];
    const Known errorRate = known(o.errorRate);
    const Known latency = known(o.latencyP99Ms);
    const Known rps = known(o.requestsPerSecond);
    f.errorRate[i] = errorRate;
    f.latency[i] = latency;
    f.rps[i] = rps;
    f.down[i] = o.down || (o.up && !*o.up);
    f.up[i] = o.up.value_or(false);
    anyKnown = anyKnown || o.down || o.up || errorRate || latency || rps;
    if (rps) {
      traffic_ += *rps;
      if (f.cost[i]) {
        cost_ += *rps * *f.cost[i] * (3600.0 / 1e6);
        anyEstimate_ = true;
      }
    }
  }
  return anyKnown;
}

std::vector<std::int32_t> Decider::baselineWeights() {
  drain_.assign(n_, 1);
  shares_.assign(n_, 0);
  double total = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    shares_[i] = facts_.base[i];
    total += shares_[i];
  }
  std::vector<std::int32_t> weights;
  toWeights(weights, total);
  return weights;
}

// Nothing to decide from: the data plane keeps what it has, so a Prometheus outage never moves
// traffic. Panic and budget verdicts hold too, so their Events do not repeat when it returns.
void Decider::holdWeights() {
  out_.held = true;
  out_.health.assign(n_, BackendHealth::Unknown);
  out_.panic = in_.wasPanic;
  out_.budget = spec_.budget ? in_.budgetBefore : BudgetState::None;
  const auto& prev = in_.previous;
  bool usable = prev && prev->size() == spec_.tiers.size() + 1;
  for (std::size_t r = 0; usable && r < prev->size(); ++r) {
    const RuleWeights& rule = (*prev)[r];
    const std::string& tier = r < spec_.tiers.size() ? spec_.tiers[r].name : std::string();
    std::int64_t sum = 0;
    for (auto w : rule.weights) {
      usable = usable && w >= 0;
      sum += w;
    }
    usable = usable && rule.tier == tier && rule.weights.size() == n_ &&
             (sum == kWeightScale || n_ == 0);
  }
  if (usable) {
    out_.rules = *prev;
    return;
  }
  const auto weights = baselineWeights();
  for (const auto& tier : spec_.tiers) {
    out_.rules.push_back({tier.name, LoadBalancingStrategy::RoundRobin, weights});
  }
  out_.rules.push_back({"", LoadBalancingStrategy::RoundRobin, weights});
}

BackendHealth Decider::verdict(std::size_t i) const {
  if (facts_.down[i]) {
    return BackendHealth::Down;
  }
  // An unknown (NaN) value is above no threshold.
  const Known errorRate = facts_.errorRate[i];
  if (*errorRate > errorThreshold_ || *facts_.latency[i] > latencyThreshold_) {
    return BackendHealth::Unhealthy;
  }
  if (errorRate || facts_.up[i]) {
    return BackendHealth::Healthy;
  }
  return BackendHealth::Unknown;
}

// Formatted only on a transition: a backend failing for hours costs nothing per round.
std::string Decider::causeOf(std::size_t i) const {
  const Known errorRate = facts_.errorRate[i];
  const Known latency = facts_.latency[i];
  if (facts_.down[i]) {
    const auto& o = in_.observation.backends[i];
    return !o.downReason.empty() ? o.downReason
           : (o.up && !*o.up)    ? "health check failing"
                                 : "down";
  }
  std::string cause;
  if (errorRate && *errorRate > errorThreshold_) {
    cause = "error rate " + formatNumber(*errorRate) + " above " +
            formatDecimal(failover_.errorRateThreshold);
  }
  if (latency && *latency > latencyThreshold_) {
    cause += cause.empty() ? "" : ", ";
    cause += "p99 latency " + formatNumber(*latency) + " ms above " +
             std::to_string(failover_.latencyThresholdMilliseconds) + " ms";
  }
  return cause;
}

void Decider::startDraining(std::size_t i, const std::string& cause) {
  BackendState& s = out_.backends[i];
  const bool resumed = s.phase == BackendPhase::Recovering;
  s.phase = BackendPhase::Draining;
  s.step = resumed ? s.step : 1;
  s.stepAt = in_.now;
  s.reason = cause;
  const std::string pace = std::to_string(steps_) + (steps_ == 1 ? " step" : " steps") + " of " +
                           api::formatDuration(failover_.shift.interval);
  emit(EventType::Warning, "DrainStarted",
       who(i) + ": " + cause + "; " +
           (resumed ? "recovery interrupted, draining from step " + std::to_string(s.step) +
                          " of " + pace
                    : "draining in " + pace));
  if (s.step >= steps_) {
    drained(i);
  }
}

void Decider::drained(std::size_t i) {
  BackendState& s = out_.backends[i];
  s.phase = BackendPhase::Drained;
  s.step = steps_;
  emit(EventType::Warning, "Drained", who(i) + ": no traffic (" + s.reason + ")");
}

void Decider::startRecovery(std::size_t i) {
  BackendState& s = out_.backends[i];
  s.step = s.phase == BackendPhase::Drained ? steps_ - 1 : s.step - 1;
  s.phase = BackendPhase::Recovering;
  s.stepAt = in_.now;
  emit(EventType::Normal, "RecoveryStarted",
       who(i) + ": healthy for " + api::formatDuration(failover_.recovery.healthyFor) +
           "; returning in steps of " + api::formatDuration(failover_.shift.interval) + ", " +
           std::to_string(s.step) + " to go");
  if (s.step <= 0) {
    recovered(i);
  }
}

void Decider::recovered(std::size_t i) {
  out_.backends[i] = healthyState(std::move(out_.backends[i].name));
  emit(EventType::Normal, "Recovered", who(i) + ": back to its full share");
}

void Decider::advance(std::size_t i, BackendHealth health) {
  BackendState& s = out_.backends[i];
  switch (health) {
    case BackendHealth::Down:
      s.healthySince.reset();
      if (s.phase != BackendPhase::Drained) {
        s.phase = BackendPhase::Drained;
        s.step = steps_;
        s.stepAt = in_.now;
        s.reason = causeOf(i);
        emit(EventType::Warning, "BackendDown", who(i) + ": " + s.reason + "; drained at once");
      }
      return;
    case BackendHealth::Unknown:
      s.healthySince.reset();
      return;
    case BackendHealth::Unhealthy:
      s.healthySince.reset();
      switch (s.phase) {
        case BackendPhase::Healthy:
        case BackendPhase::Recovering:
          startDraining(i, causeOf(i));
          return;
        case BackendPhase::Draining:
          if (stepDue(s)) {
            ++s.step;
            s.stepAt = in_.now;
            if (s.step >= steps_) {
              drained(i);
            }
          }
          return;
        case BackendPhase::Drained:
          return;
      }
      return;
    case BackendHealth::Healthy:
      switch (s.phase) {
        case BackendPhase::Healthy:
          return;
        case BackendPhase::Draining:
        case BackendPhase::Drained:
          if (!s.healthySince) {
            s.healthySince = in_.now;
          }
          if (in_.now >= *s.healthySince + failover_.recovery.healthyFor) {
            startRecovery(i);
          }
          return;
        case BackendPhase::Recovering:
          if (stepDue(s)) {
            --s.step;
            s.stepAt = in_.now;
            if (s.step <= 0) {
              recovered(i);
            }
          }
          return;
      }
      return;
  }
}

// `healthy`: the backends Healthy or Recovering; `anyShare`: one with a weight above 0 that
// the shift leaves a share.
void Decider::decidePanic(std::int32_t healthy, bool anyShare) {
  if (n_ == 0) {
    return;
  }
  if (healthy < failover_.minHealthyBackends) {
    out_.panic = true;
    out_.panicReason = std::to_string(healthy) + " of " + std::to_string(n_) +
                       " backends healthy, minHealthyBackends " +
                       std::to_string(failover_.minHealthyBackends);
  } else if (!anyShare) {
    out_.panic = true;
    out_.panicReason = "no backend with a weight above 0 can take traffic";
  }
  if (out_.panic) {
    for (std::size_t i = 0; i < n_; ++i) {
      drain_[i] = facts_.down[i] && !everyBackendDown_ ? 0.0 : 1.0;
    }
    if (!in_.wasPanic) {
      emit(EventType::Warning, "Panic",
           out_.panicReason + "; spreading traffic over every backend that is not down");
    }
  } else if (in_.wasPanic) {
    emit(EventType::Normal, "PanicOver", "enough healthy backends again; health decides again");
  }
}

void Decider::decideBudget() {
  const double cost = cost_;
  const bool anyEstimate = anyEstimate_;
  if (anyEstimate) {
    out_.estimatedCostPerHour = cost;
  }
  if (!spec_.budget) {
    out_.budget = BudgetState::None;
    return;
  }
  if (!anyEstimate) {
    // No cost to judge: keep the last verdict rather than announce a recovery that may not be.
    out_.budget = in_.budgetBefore == BudgetState::None ? BudgetState::Ok : in_.budgetBefore;
    return;
  }
  const double maximum = spec_.budget->maxCostPerHour.toDouble();
  const double alertAt = maximum * spec_.budget->alertAtPercent / 100.0;
  out_.budget = cost > maximum    ? BudgetState::Over
                : cost >= alertAt ? BudgetState::Alert
                                  : BudgetState::Ok;
  if (out_.budget == in_.budgetBefore) {
    return;
  }
  const std::string figures = "estimated cost " + formatNumber(cost) + " per hour, maximum " +
                              formatDecimal(spec_.budget->maxCostPerHour);
  if (out_.budget == BudgetState::Alert) {
    emit(EventType::Warning, "BudgetAlert",
         figures + " (alert at " + std::to_string(spec_.budget->alertAtPercent) + "%)");
  } else if (out_.budget == BudgetState::Over) {
    emit(EventType::Warning, "BudgetExceeded",
         figures + "; every tier but the most important moves to the cheapest backends");
  }
}

// Every share of a rule before capacity is a fraction of its traffic; `shares_` ends summing
// to 1 (or 0 when nothing can take traffic). Returns that sum as toWeights() adds it up.
double Decider::computeShares(LoadBalancingStrategy strategy,
                              const std::vector<std::string>& regions) {
  double total = 0;
  if (isAllocation(strategy) &&
      !(strategy == LoadBalancingStrategy::Geographic && regions.empty())) {
    shares_.assign(n_, 0);
    allocationShares(strategy, regions);
    for (double share : shares_) {
      total += share;
    }
    // A fill that placed everything kept every share within its cap: the capacity passes
    // would only move the last bits. One that could not (every backend full) still needs them.
    if (total >= 1 - 1e-9) {
      return total;
    }
  } else {
    shares_.resize(n_);
    scratch_.factor.resize(n_);
    total = factorShares(strategy);
  }
  // Capacity last: nobody above its cap while others have room; every one at its cap: shares
  // follow capacity (the caps are all that is handed out; the normalisation scales them up).
  // In place, in share units: a cap is limit × total. Each pass caps at the current level and
  // sums what stays uncapped for the next one, without branches (whether a backend is capped
  // is a coin toss) and in lanes.
  if (!(total > 0)) {
    return total;  // every share is 0: nothing is over its cap
  }
  capped_.assign(n_, 0);
  const double* limit = limit_.data();
  double* shares = shares_.data();
  unsigned char* capped = capped_.data();
  double mass = total;
  double uncapped = total;
  double level = 1;
  for (bool first = true;; first = false) {
    if (uncapped <= 0) {
      break;
    }
    // The first level is total / total, exactly 1: its test is "any share above its cap".
    level = mass / uncapped;
    Lanes next;
    Lanes capping;
    unsigned char more = 0;
    forEachInLanes(n_, [&](std::size_t i, std::size_t lane) {
      // Products with 0 and 1 instead of choices: no branch. An uncapped limit is infinite
      // and never over; the min keeps 0 × it from being NaN.
      const double cap = limit[i] * total;
      const unsigned char over = !capped[i] & (shares[i] * level > cap);
      capped[i] |= over;
      more |= over;
      capping[lane] += static_cast<double>(over) * std::min(cap, kLargest);
      next[lane] += static_cast<double>(!capped[i]) * shares[i];
    });
    if (!more) {
      if (first) {
        return total;
      }
      break;
    }
    mass -= capping.sum();
    uncapped = next.sum();
  }
  Lanes sum;
  forEachInLanes(n_, [&](std::size_t i, std::size_t lane) {
    shares[i] = capped[i] ? limit[i] * total : shares[i] * level;
    sum[lane] += shares[i];
  });
  return sum.sum();
}

double Decider::factorShares(LoadBalancingStrategy strategy) {
  using S = LoadBalancingStrategy;
  const Known* errorRate = facts_.errorRate.data();
  const Known* latency = facts_.latency.data();
  const Known* rps = facts_.rps.data();
  double* factor = scratch_.factor.data();
  // An unknown metric is NaN, for which every comparison is false: the factors below are
  // the neutral 1 for it without asking first. Thresholds are divided by once: a division
  // per backend and metric was most of a Hybrid rule.
  const double perErrorRate = 1 / errorThreshold_;
  const double perLatency = 1 / latencyThreshold_;
  auto healthFactor = [&](std::size_t i) {
    const double e = *errorRate[i];
    const double l = *latency[i];
    const double byErrors = e == e ? std::max(kMinHealthFactor, 1 - e * perErrorRate) : 1.0;
    const double byLatency = l == l ? std::max(kMinHealthFactor, 1 - l * perLatency) : 1.0;
    return byErrors * byLatency;
  };
  switch (strategy) {
    case S::RoundRobin:
    case S::Geographic:
    case S::CostOptimized:
      return spread(nullptr);
    case S::LeastRequest:
      for (std::size_t i = 0; i < n_; ++i) {
        const double inFlight = *rps[i] * *latency[i] / 1000.0;
        factor[i] = inFlight == inFlight ? (1 + leastInFlight_) / (1 + inFlight) : 1.0;
      }
      return spread(factor);
    case S::WeightedResponseTime:
      return spread(latencyFactors());
    case S::HealthBased:
      for (std::size_t i = 0; i < n_; ++i) {
        factor[i] = healthFactor(i);
      }
      return spread(factor);
    case S::Hybrid: {
      const Known* capacity = facts_.capacity.data();
      const Known* cost = facts_.cost.data();
      const double* byLatency = latencyFactors();
      for (std::size_t i = 0; i < n_; ++i) {
        const double headroom =
            rps[i] && capacity[i] ? std::clamp(1 - *rps[i] / *capacity[i], 0.0, 1.0) : 1.0;
        const double own = cost[i].value_or(dearest_);
        const double byCost = !anyCost_ || own <= 0 ? 1.0 : cheapest_ / own;
        factor[i] = 0.4 * healthFactor(i) + 0.2 * headroom + 0.2 * byCost + 0.2 * byLatency[i];
      }
      return spread(factor);
    }
  }
  return 0;
}

// fastest / latency per backend, shared by WeightedResponseTime and Hybrid. Within
// kLatencySensitivityMs of the fastest is the fastest: noise does not move traffic.
const double* Decider::latencyFactors() {
  auto& factors = scratch_.latencyFactor;
  if (!latencyFactorsKnown_) {
    latencyFactorsKnown_ = true;
    const Known* latency = facts_.latency.data();
    const double slowAbove = fastest_ + kLatencySensitivityMs;
    const double fastest = std::max(fastest_, kMinLatencyMs);
    factors.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      const double l = *latency[i];
      factors[i] = l > slowAbove ? fastest / l : 1.0;
    }
  }
  return factors.data();
}

// Shares in proportion to base × factor (nullptr: 1) over the backends that can take traffic.
double Decider::spread(const double* factor) {
  const double* base = facts_.base.data();
  const double* drain = drain_.data();
  double* shares = shares_.data();
  Lanes total;
  Lanes full;   // the part held by backends at their full share
  Lanes freed;  // what draining backends give up
  forEachInLanes(n_, [&](std::size_t i, std::size_t lane) {
    const double d = drain[i];
    const double weighted = factor ? base[i] * factor[i] : base[i];
    const double share = base[i] > 0 && d > 0 ? weighted : 0.0;
    shares[i] = share;
    total[lane] += share;
    full[lane] += d >= 1 ? share : 0.0;
    freed[lane] += share * (1 - d);
  });
  const double sumTotal = total.sum();
  if (sumTotal <= 0) {
    return 0;  // every share is 0
  }
  // A draining backend keeps drain × the share it would have; what it gives up goes to the
  // backends at full share in proportion to theirs (nowhere else to go: back to the drainers).
  const double sumFull = full.sum();
  const double boost = (sumFull > 0 ? 1 + freed.sum() / sumFull : 1) / sumTotal;
  const double perTotal = 1 / sumTotal;
  Lanes sum;
  forEachInLanes(n_, [&](std::size_t i, std::size_t lane) {
    const double share = shares[i];
    shares[i] = share > 0 ? share * (drain[i] >= 1 ? boost : drain[i] * perTotal) : share;
    sum[lane] += shares[i];
  });
  return sum.sum();
}

// Geographic and CostOptimized are orders, not factors: groups of backends (a region, a price)
// take traffic up to their capacity, the rest spills to the next group.
void Decider::allocationShares(LoadBalancingStrategy strategy,
                               const std::vector<std::string>& regions) {
  const bool byCost = strategy == LoadBalancingStrategy::CostOptimized;
  if (!byCost) {
    order_.clear();
    groupEnds_.clear();
    // Regions nearest first, then every backend of no listed region as the last fallback.
    members_.assign(n_, regions.size());
    for (std::size_t i = 0; i < n_; ++i) {
      for (std::size_t r = 0; r < regions.size(); ++r) {
        if (spec_.backends[i].region == regions[r]) {
          members_[i] = r;
          break;
        }
      }
    }
    for (std::size_t r = 0; r <= regions.size(); ++r) {
      for (std::size_t i = 0; i < n_; ++i) {
        if (members_[i] == r && facts_.base[i] > 0 && drain_[i] > 0) {
          order_.push_back(i);
        }
      }
      if (groupEnds_.empty() || groupEnds_.back() != order_.size()) {
        groupEnds_.push_back(order_.size());
      }
    }
  }
  fillInOrder(false, byCost, 1.0);
  // Draining backends keep drain × what they would have; the rest is filled again in order by
  // the backends at full share.
  const auto& order = byCost ? byPrice_ : order_;
  double kept = 0;
  bool draining = false;
  for (std::size_t i : order) {
    if (drain_[i] < 1) {
      draining = true;
      shares_[i] *= drain_[i];
      kept += shares_[i];
    }
  }
  if (draining) {
    for (std::size_t i : order) {
      if (drain_[i] >= 1) {
        shares_[i] = 0;
      }
    }
    fillInOrder(true, byCost, 1.0 - kept);
  }
}

// The backends that can take traffic by price (an unknown cost: the dearest known), earlier
// backends first among equals. A least-significant-digit radix sort on the bytes in which the
// prices differ: stable, so ties keep backend order, and a few linear passes where a
// comparison sort of 1,000 was a third of a decision.
void Decider::sortByPrice() {
  // A negative configured cost counts as none; it never raises the dearest above 0.
  const std::int64_t dearest = dearestMicros_;
  auto priceOf = [&](std::size_t i) { return facts_.cost[i] ? facts_.costMicros[i] : dearest; };
  auto& keys = scratch_.keys;
  keys.clear();
  byPrice_.clear();
  priceGroupEnds_.clear();
  // Each candidate as one word, its price above its index: a pass moves one word, and equal
  // prices stay in index order. Prices too large to leave room for the index (over 10^12 per
  // million requests) take a comparison sort.
  const int indexBits = std::bit_width(n_);
  if ((static_cast<std::uint64_t>(dearest) >> (63 - indexBits) >> 1) != 0) {
    for (std::size_t i = 0; i < n_; ++i) {
      if (facts_.base[i] > 0 && drain_[i] > 0) {
        byPrice_.push_back(i);
      }
    }
    std::sort(byPrice_.begin(), byPrice_.end(), [&](std::size_t a, std::size_t b) {
      return std::pair(priceOf(a), a) < std::pair(priceOf(b), b);
    });
    for (std::size_t k = 1; k < byPrice_.size(); ++k) {
      if (priceOf(byPrice_[k]) != priceOf(byPrice_[k - 1])) {
        priceGroupEnds_.push_back(k);
      }
    }
    if (!byPrice_.empty()) {
      priceGroupEnds_.push_back(byPrice_.size());
    }
    return;
  }
  // Least significant digit first, stable: the keys start in index order, so only the bytes
  // of the price need a pass, and only those in which the prices differ. The counts of every
  // pass come from the read that gathers the keys.
  const std::size_t bytes =
      (static_cast<std::size_t>(std::bit_width(static_cast<std::uint64_t>(dearest))) + 7) / 8;
  std::array<std::array<std::uint32_t, 256>, 8> counts;
  for (std::size_t p = 0; p < bytes; ++p) {
    counts[p].fill(0);
  }
  for (std::size_t i = 0; i < n_; ++i) {
    if (facts_.base[i] > 0 && drain_[i] > 0) {
      const auto price = static_cast<std::uint64_t>(priceOf(i));
      keys.push_back(price << indexBits | i);
      for (std::size_t p = 0; p < bytes; ++p) {
        ++counts[p][(price >> (8 * p)) & 0xff];
      }
    }
  }
  const std::size_t m = keys.size();
  auto& buffer = scratch_.keyBuffer;
  buffer.resize(m);
  for (std::size_t p = 0; p < bytes; ++p) {
    const unsigned shift = indexBits + 8 * p;
    if (m == 0 || counts[p][(keys[0] >> shift) & 0xff] == m) {
      continue;  // every price has this byte
    }
    std::uint32_t at = 0;
    for (auto& count : counts[p]) {
      at += std::exchange(count, at);
    }
    for (std::uint64_t key : keys) {
      buffer[counts[p][(key >> shift) & 0xff]++] = key;
    }
    std::swap(keys, buffer);
  }
  const std::uint64_t indexMask = (std::uint64_t{1} << indexBits) - 1;
  byPrice_.resize(m);
  for (std::size_t k = 0; k < m; ++k) {
    byPrice_[k] = keys[k] & indexMask;
    if (k > 0 && (keys[k] >> indexBits) != (keys[k - 1] >> indexBits)) {
      priceGroupEnds_.push_back(k);
    }
  }
  if (m > 0) {
    priceGroupEnds_.push_back(m);
  }
}

// Fills the groups in order (regions, or prices cheapest first), each up to its capacity.
// Among prices, a group with room for less than what is left runs every member at its cap;
// the marginal group shares what is left by weight; dearer ones get nothing.
void Decider::fillInOrder(bool fullOnly, bool byCost, double mass) {
  const auto& order = byCost ? byPrice_ : order_;
  const auto& groupEnds = byCost ? priceGroupEnds_ : groupEnds_;
  std::size_t begin = 0;
  for (std::size_t end : groupEnds) {
    if (mass <= 1e-12) {
      break;
    }
    members_.clear();
    double room = 0;
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t i = order[k];
      if (!fullOnly || drain_[i] >= 1) {
        members_.push_back(i);
        room += limit_[i];
      }
    }
    begin = end;
    if (members_.empty()) {
      continue;
    }
    if (byCost && room < mass) {
      for (std::size_t i : members_) {
        shares_[i] += limit_[i];
      }
      mass -= room;
      continue;
    }
    const double take = std::min(mass, room);
    waterFill(members_, facts_.base, take);
    mass -= take;
  }
}

// Spreads `mass` over `members` in proportion to `weights`, none above its limit; adds to
// shares_. Each round caps every member above its limit at the current level: capping only
// raises the level for the rest, so a capped member stays capped.
void Decider::waterFill(const std::vector<std::size_t>& members, const std::vector<double>& weights,
                        double mass) {
  if (members.size() == 1) {
    shares_[members[0]] += std::min(mass, limit_[members[0]]);
    return;
  }
  double total = 0;
  for (std::size_t i : members) {
    total += weights[i];
  }
  if (total <= 0) {
    return;
  }
  const bool anyCapped = std::any_of(members.begin(), members.end(), [&](std::size_t i) {
    return weights[i] * (mass / total) > limit_[i];
  });
  if (!anyCapped) {
    for (std::size_t i : members) {
      shares_[i] += weights[i] * (mass / total);
    }
    return;
  }
  active_ = members;
  while (!active_.empty() && mass > 0) {
    double uncapped = 0;
    for (std::size_t i : active_) {
      uncapped += weights[i];
    }
    if (uncapped <= 0) {
      return;
    }
    const double level = mass / uncapped;
    next_.clear();
    for (std::size_t i : active_) {
      if (weights[i] * level > limit_[i]) {
        shares_[i] += limit_[i];
        mass -= limit_[i];
      } else {
        next_.push_back(i);
      }
    }
    if (next_.size() == active_.size()) {
      for (std::size_t i : active_) {
        shares_[i] += weights[i] * level;
      }
      return;
    }
    std::swap(active_, next_);
  }
}

// Largest remainder onto kWeightScale, ties to the earlier backend; a zero share stays 0, so
// a drained or down backend never gets a rounding unit. `total` is the sum of shares_.
void Decider::toWeights(std::vector<std::int32_t>& weights, double total) {
  weights.assign(n_, 0);
  if (!(total > 0)) {
    // Nothing computed (the live backends all have weight 0): equal shares over those not
    // down, or over all of them when every one is down.
    total = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      shares_[i] = facts_.down[i] && !everyBackendDown_ ? 0.0 : 1.0;
      total += shares_[i];
    }
    if (total <= 0) {
      return;
    }
  }
  // The units left go to the largest remainders. Without sorting, in two passes: the first
  // takes the floors and a histogram of the remainders, which names the bucket the count-th
  // largest is in; the second gives a unit to every remainder above that bucket and collects
  // the bucket's few members, among which the units left are selected. A zero share has
  // remainder -1 and a bucket below every real one, so no pass needs to skip it.
  std::array<std::uint32_t, kRemainderBuckets + 1>
      histogram{};  // [0]: zero shares; [b + 1]: bucket b
  auto bucketOf = [](double remainder) {
    return remainder >= 0 ? std::min(kRemainderBuckets,
                                     static_cast<std::size_t>(remainder * kRemainderBuckets) + 1)
                          : std::size_t{0};
  };
  const double scale = kWeightScale / total;
  std::int64_t assigned = 0;
  remainder_.resize(n_);
  for (std::size_t i = 0; i < n_; ++i) {
    const double share = shares_[i];
    const bool positive = share > 0;
    const double exact = share * scale;
    // A positive share is at least 0 exact units: truncation is the floor.
    const std::int32_t whole = positive ? static_cast<std::int32_t>(exact) : 0;
    const double remainder = positive ? exact - whole : -1.0;
    weights[i] = whole;
    assigned += whole;
    remainder_[i] = remainder;
    ++histogram[bucketOf(remainder)];
  }
  const std::size_t positive = n_ - histogram[0];
  std::int64_t left = kWeightScale - assigned;
  if (left > 0 && positive > 0) {
    const auto count = std::min<std::int64_t>(left, static_cast<std::int64_t>(positive));
    std::size_t bucket = kRemainderBuckets + 1;
    std::int64_t above = 0;  // remainders in the buckets above the threshold's
    while (above + histogram[bucket - 1] < count) {
      above += histogram[--bucket];
    }
    --bucket;
    members_.clear();
    for (std::size_t i = 0; i < n_; ++i) {
      const std::size_t b = bucketOf(remainder_[i]);
      weights[i] += b > bucket ? 1 : 0;
      if (b == bucket) {
        members_.push_back(i);
      }
    }
    left -= above;
    std::int64_t need = count - above;
    ranked_.clear();
    for (std::size_t i : members_) {
      ranked_.push_back(remainder_[i]);
    }
    auto nth = ranked_.begin() + (need - 1);
    std::nth_element(ranked_.begin(), nth, ranked_.end(), std::greater<>());
    const double threshold = *nth;
    for (double r : ranked_) {
      need -= r > threshold ? 1 : 0;
    }
    // At the threshold remainder, the units go to the earliest backends.
    for (std::size_t i : members_) {
      const double r = remainder_[i];
      const bool unit = r > threshold || (r == threshold && need-- > 0);
      weights[i] += unit ? 1 : 0;
      left -= unit ? 1 : 0;
    }
    // Only float error leaves more units than backends: spread them in order.
    for (std::size_t i = 0; left > 0; i = (i + 1) % n_) {
      if (shares_[i] > 0) {
        ++weights[i];
        --left;
      }
    }
  }
  // Rounding of the floors themselves can overshoot by a unit or so: taken from the largest.
  while (left < 0) {
    auto largest = std::max_element(weights.begin(), weights.end());
    --*largest;
    ++left;
  }
}

const std::vector<std::int32_t>& Decider::weightsFor(LoadBalancingStrategy strategy,
                                                     const std::vector<std::string>& regions) {
  if (strategy == LoadBalancingStrategy::Geographic && !regions.empty()) {
    for (const auto& [key, weights] : geoMemo_) {
      if (*key == regions) {
        return weights;
      }
    }
    const double total = computeShares(strategy, regions);
    geoMemo_.emplace_back(&regions, std::vector<std::int32_t>{});
    toWeights(geoMemo_.back().second, total);
    return geoMemo_.back().second;
  }
  auto& memo = memo_[static_cast<std::size_t>(strategy)];
  if (!memo) {
    const double total = computeShares(strategy, regions);
    memo.emplace();
    toWeights(*memo, total);
  }
  return *memo;
}

void Decider::decideRules() {
  // Per-strategy inputs over the backends that can take traffic.
  const double perRps = traffic_ > 0 ? 1 / traffic_ : 0;
  for (std::size_t i = 0; i < n_; ++i) {
    const Known capacity = facts_.capacity[i];
    limit_[i] = traffic_ > 0 && capacity ? *capacity * perRps : kInfinity;
    if (const Known cost = facts_.cost[i]) {
      anyCost_ = true;
      cheapest_ = std::min(cheapest_, *cost);
      dearest_ = std::max(dearest_, *cost);
    }
    if (facts_.base[i] <= 0 || drain_[i] <= 0) {
      continue;
    }
    if (const Known latency = facts_.latency[i]) {
      fastest_ = std::min(fastest_, *latency);
      if (const Known rps = facts_.rps[i]) {
        leastInFlight_ = std::min(leastInFlight_, *rps * *latency / 1000.0);
      }
    }
  }
  const std::vector<std::string> noRegions;
  const bool allDownPanic = out_.panic && everyBackendDown_;
  auto strategyInForce = [&](LoadBalancingStrategy s) {
    // Concentrating is what panic is against: orders spread by baseline weight instead.
    if (allDownPanic || (out_.panic && isAllocation(s))) {
      return LoadBalancingStrategy::RoundRobin;
    }
    return s;
  };
  std::int32_t mostImportant = std::numeric_limits<std::int32_t>::max();
  for (const auto& tier : spec_.tiers) {
    mostImportant = std::min(mostImportant, tier.priority);
  }
  const bool over = out_.budget == BudgetState::Over;
  bool needCostOrder = false;
  out_.rules.reserve(spec_.tiers.size() + 1);
  for (const auto& tier : spec_.tiers) {
    auto s = over && tier.priority != mostImportant ? LoadBalancingStrategy::CostOptimized
                                                    : tier.strategy.value_or(spec_.strategy);
    out_.rules.push_back({tier.name, strategyInForce(s), {}});
    needCostOrder =
        needCostOrder || out_.rules.back().strategy == LoadBalancingStrategy::CostOptimized;
  }
  out_.rules.push_back(
      {"", strategyInForce(over ? LoadBalancingStrategy::CostOptimized : spec_.strategy), {}});
  needCostOrder =
      needCostOrder || out_.rules.back().strategy == LoadBalancingStrategy::CostOptimized;
  if (needCostOrder) {
    sortByPrice();
  }
  for (std::size_t r = 0; r < out_.rules.size(); ++r) {
    const auto& regions =
        r < spec_.tiers.size() ? spec_.tiers[r].preferredRegions : spec_.preferredRegions;
    out_.rules[r].weights = weightsFor(out_.rules[r].strategy, regions);
  }
}

TrafficDecision Decider::run() {
  normalizeStates();
  if (!observe()) {
    holdWeights();
    return std::move(out_);
  }
  // One pass per backend: verdict, step, what panic counts, and when the next step is due.
  out_.health.resize(n_);
  std::int32_t healthy = 0;
  bool anyShare = false;
  everyBackendDown_ = n_ > 0;
  std::optional<TimePoint> earliest;
  for (std::size_t i = 0; i < n_; ++i) {
    const BackendHealth health = verdict(i);
    out_.health[i] = health;
    advance(i, health);
    const BackendState& s = out_.backends[i];
    healthy += s.phase == BackendPhase::Healthy || s.phase == BackendPhase::Recovering ? 1 : 0;
    drain_[i] = s.phase == BackendPhase::Healthy   ? 1.0
                : s.phase == BackendPhase::Drained ? 0.0
                                                   : 1.0 - static_cast<double>(s.step) / steps_;
    anyShare = anyShare || (drain_[i] > 0 && facts_.base[i] > 0);
    everyBackendDown_ = everyBackendDown_ && facts_.down[i];
    std::optional<TimePoint> due;
    if ((s.phase == BackendPhase::Drained || s.phase == BackendPhase::Draining) && s.healthySince) {
      due = *s.healthySince + failover_.recovery.healthyFor;
    } else if ((s.phase == BackendPhase::Draining || s.phase == BackendPhase::Recovering) &&
               s.stepAt) {
      due = *s.stepAt + failover_.shift.interval;
    }
    if (due && (!earliest || *due < *earliest)) {
      earliest = due;
    }
  }
  decidePanic(healthy, anyShare);
  decideBudget();
  decideRules();
  if (earliest) {
    out_.requeueAfter =
        std::max(milliseconds{0}, std::chrono::ceil<milliseconds>(*earliest - in_.now));
  }
  return std::move(out_);
}

}  // namespace

const char* toString(BackendPhase phase) {
  return kPhaseNames[static_cast<std::size_t>(phase)];
}

std::optional<BackendPhase> parseBackendPhase(std::string_view text) {
  for (std::size_t i = 0; i < kPhaseNames.size(); ++i) {
    if (text == kPhaseNames[i]) {
      return static_cast<BackendPhase>(i);
    }
  }
  return std::nullopt;
}

const char* toString(BackendHealth health) {
  return kHealthNames[static_cast<std::size_t>(health)];
}

TrafficDecision decideTraffic(const TrafficInputs& inputs) {
  if (inputs.spec == nullptr) {
    return {};
  }
  return Decider(inputs).run();
}

}  // namespace sluice::engine
