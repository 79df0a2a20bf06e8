#include "operator/engine/traffic_policy.h"

#include <algorithm>
#include <array>
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
// HealthBased/Hybrid never score a backend below this: a poor backend keeps a trickle of
// traffic, so it is still measured and recovers by itself.
constexpr double kMinHealthFactor = 0.05;
// Latencies below this count as this: a backend reporting 0 ms must not zero the others.
constexpr double kMinLatencyMs = 1.0;
constexpr std::size_t kStrategyCount = 7;

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

BackendState healthyState(std::string name) {
  BackendState s;
  s.name = std::move(name);
  return s;
}

bool isAllocation(LoadBalancingStrategy s) {
  return s == LoadBalancingStrategy::Geographic || s == LoadBalancingStrategy::CostOptimized;
}

// What the rules read of a backend's spec and observation, gathered in one pass so the
// rules never go back to the (large) spec and observation structs.
struct Facts {
  double base = 0;
  Known errorRate;
  Known latency;
  Known rps;
  Known cost;                   // per million requests, as configured
  Known capacity;               // maxRequestsPerSecond
  std::int64_t costMicros = 0;  // the configured cost, when `cost` is known
  bool down = false;
  bool up = false;  // the health check passes
};

// The working memory of a decision, kept per thread and reused: a decision over 1,000
// backends would otherwise allocate and first touch a few hundred kilobytes each round.
// decideTraffic() never calls itself, so one per thread is enough.
struct Scratch {
  std::vector<Facts> facts;
  std::vector<double> limit;
  std::vector<double> drain;
  std::vector<std::pair<std::int64_t, std::size_t>> prices;
  std::vector<std::pair<std::int64_t, std::size_t>> partitioned;
  std::vector<double> shares;
  std::vector<double> weight;
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
  void allocationShares(LoadBalancingStrategy strategy, const std::vector<std::string>& regions);
  void fillInOrder(bool fullOnly, double mass);
  void fillCheapest(bool fullOnly, double mass);
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
  std::vector<Facts>& facts_ = scratch_.facts;
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
  // Candidates as (cost in micro-units, index), in no order: the cheapest-first fill selects
  // the marginal price instead of sorting (a sort of 1,000 was a third of a decision).
  std::vector<std::pair<std::int64_t, std::size_t>>& prices_ = scratch_.prices;
  std::vector<std::pair<std::int64_t, std::size_t>>& partitioned_ = scratch_.partitioned;

  // Scratch space reused by every rule.
  std::vector<double>& shares_ = scratch_.shares;
  std::vector<double>& weight_ = scratch_.weight;
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
  facts_.resize(n_);
  limit_.assign(n_, kInfinity);
  drain_.assign(n_, 1);
  const auto& observed = in_.observation.backends;
  bool anyKnown = false;
  for (std::size_t i = 0; i < n_; ++i) {
    const api::Backend& b = spec_.backends[i];
    Facts& f = facts_[i];
    f = Facts{};
    f.base = std::max<double>(0, b.weight);
    if (b.cost.perMillionRequests && b.cost.perMillionRequests->micros >= 0) {
      f.cost = b.cost.perMillionRequests->toDouble();
      f.costMicros = b.cost.perMillionRequests->micros;
    }
    if (b.capacity.maxRequestsPerSecond) {
      f.capacity = static_cast<double>(*b.capacity.maxRequestsPerSecond);
    }
    if (i >= observed.size()) {
      continue;
    }
    const BackendObservation& o = observed[i];
    f.errorRate = known(o.errorRate);
    f.latency = known(o.latencyP99Ms);
    f.rps = known(o.requestsPerSecond);
    f.down = o.down || (o.up && !*o.up);
    f.up = o.up.value_or(false);
    anyKnown = anyKnown || o.down || o.up || f.errorRate || f.latency || f.rps;
    if (f.rps) {
      traffic_ += *f.rps;
      if (f.cost) {
        cost_ += *f.rps * *f.cost * (3600.0 / 1e6);
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
    shares_[i] = facts_[i].base;
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
  const Facts& f = facts_[i];
  if (f.down) {
    return BackendHealth::Down;
  }
  if ((f.errorRate && *f.errorRate > errorThreshold_) ||
      (f.latency && *f.latency > latencyThreshold_)) {
    return BackendHealth::Unhealthy;
  }
  if (f.errorRate || f.up) {
    return BackendHealth::Healthy;
  }
  return BackendHealth::Unknown;
}

// Formatted only on a transition: a backend failing for hours costs nothing per round.
std::string Decider::causeOf(std::size_t i) const {
  const Facts& f = facts_[i];
  if (f.down) {
    const auto& o = in_.observation.backends[i];
    return !o.downReason.empty() ? o.downReason
           : (o.up && !*o.up)    ? "health check failing"
                                 : "down";
  }
  std::string cause;
  if (f.errorRate && *f.errorRate > errorThreshold_) {
    cause = "error rate " + formatNumber(*f.errorRate) + " above " +
            formatDecimal(failover_.errorRateThreshold);
  }
  if (f.latency && *f.latency > latencyThreshold_) {
    cause += cause.empty() ? "" : ", ";
    cause += "p99 latency " + formatNumber(*f.latency) + " ms above " +
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
      drain_[i] = facts_[i].down && !everyBackendDown_ ? 0.0 : 1.0;
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
  shares_.assign(n_, 0);
  double total = 0;
  if (isAllocation(strategy) &&
      !(strategy == LoadBalancingStrategy::Geographic && regions.empty())) {
    allocationShares(strategy, regions);
    for (double share : shares_) {
      total += share;
    }
  } else {
    total = factorShares(strategy);
  }
  // Capacity last: nobody above its cap while others have room; every one at its cap: shares
  // follow capacity (the caps are all that is handed out; the normalisation scales them up).
  // In place, in share units: a cap is limit × total. Each pass caps at the current level and
  // sums what stays uncapped for the next one: the sums are the same, in the same order, as
  // one pass for each, and a pass over 1,000 backends is bound by its chain of additions.
  if (!(total > 0)) {
    return total;  // every share is 0: nothing is over its cap
  }
  capped_.assign(n_, 0);
  double mass = total;
  double uncapped = total;
  double level = 1;
  for (bool first = true;; first = false) {
    if (uncapped <= 0) {
      break;
    }
    // The first level is total / total, exactly 1: its test is "any share above its cap".
    level = mass / uncapped;
    double next = 0;
    bool more = false;
    for (std::size_t i = 0; i < n_; ++i) {
      if (capped_[i]) {
        continue;
      }
      const double cap = limit_[i] * total;
      if (shares_[i] * level > cap) {
        capped_[i] = 1;
        mass -= cap;
        more = true;
      } else {
        next += shares_[i];
      }
    }
    if (!more) {
      if (first) {
        return total;
      }
      break;
    }
    uncapped = next;
  }
  double sum = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    shares_[i] = capped_[i] ? limit_[i] * total : shares_[i] * level;
    sum += shares_[i];
  }
  return sum;
}

double Decider::factorShares(LoadBalancingStrategy strategy) {
  using S = LoadBalancingStrategy;
  auto healthFactor = [&](const Facts& f) {
    double h = 1;
    if (f.errorRate) {
      h *= std::max(kMinHealthFactor, 1 - *f.errorRate / errorThreshold_);
    }
    if (f.latency) {
      h *= std::max(kMinHealthFactor, 1 - *f.latency / latencyThreshold_);
    }
    return h;
  };
  // Within kLatencySensitivityMs of the fastest is the fastest: noise does not move traffic.
  auto latencyFactor = [&](const Facts& f) {
    if (!f.latency || *f.latency <= fastest_ + kLatencySensitivityMs) {
      return 1.0;
    }
    return std::max(fastest_, kMinLatencyMs) / *f.latency;
  };
  double total = 0;
  double full = 0;   // the part held by backends at their full share
  double freed = 0;  // what draining backends give up
  for (std::size_t i = 0; i < n_; ++i) {
    const Facts& f = facts_[i];
    const double drain = drain_[i];
    if (f.base <= 0 || drain <= 0) {
      continue;
    }
    double factor = 1;
    switch (strategy) {
      case S::RoundRobin:
      case S::Geographic:
      case S::CostOptimized:
        break;
      case S::LeastRequest:
        if (f.rps && f.latency) {
          factor = (1 + leastInFlight_) / (1 + *f.rps * *f.latency / 1000.0);
        }
        break;
      case S::WeightedResponseTime:
        factor = latencyFactor(f);
        break;
      case S::HealthBased:
        factor = healthFactor(f);
        break;
      case S::Hybrid: {
        const double headroom =
            f.rps && f.capacity ? std::clamp(1 - *f.rps / *f.capacity, 0.0, 1.0) : 1.0;
        double cost = 1;
        if (anyCost_) {
          const double own = f.cost.value_or(dearest_);
          cost = own <= 0 ? 1.0 : cheapest_ / own;
        }
        factor = 0.4 * healthFactor(f) + 0.2 * headroom + 0.2 * cost + 0.2 * latencyFactor(f);
        break;
      }
    }
    shares_[i] = f.base * factor;
    total += shares_[i];
    full += drain >= 1 ? shares_[i] : 0;
    freed += shares_[i] * (1 - drain);  // the skipped add 0: the same sum
  }
  if (total <= 0) {
    return 0;  // every share is 0
  }
  // A draining backend keeps drain × the share it would have; what it gives up goes to the
  // backends at full share in proportion to theirs (nowhere else to go: back to the drainers).
  const double boost = (full > 0 ? 1 + freed / full : 1) / total;
  const double perTotal = 1 / total;
  double sum = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    if (shares_[i] > 0) {
      shares_[i] *= drain_[i] >= 1 ? boost : drain_[i] * perTotal;
    }
    sum += shares_[i];
  }
  return sum;
}

// Geographic and CostOptimized are orders, not factors: groups of backends (a region, a price)
// take traffic up to their capacity, the rest spills to the next group.
void Decider::allocationShares(LoadBalancingStrategy strategy,
                               const std::vector<std::string>& regions) {
  order_.clear();
  groupEnds_.clear();
  const bool byCost = strategy == LoadBalancingStrategy::CostOptimized;
  if (byCost) {
    for (const auto& price : prices_) {
      order_.push_back(price.second);
    }
  } else {
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
        if (members_[i] == r && facts_[i].base > 0 && drain_[i] > 0) {
          order_.push_back(i);
        }
      }
      if (groupEnds_.empty() || groupEnds_.back() != order_.size()) {
        groupEnds_.push_back(order_.size());
      }
    }
  }
  weight_.assign(n_, 0);
  for (std::size_t i : order_) {
    weight_[i] = facts_[i].base;
  }
  auto fill = [&](bool fullOnly, double mass) {
    byCost ? fillCheapest(fullOnly, mass) : fillInOrder(fullOnly, mass);
  };
  fill(false, 1.0);
  // Draining backends keep drain × what they would have; the rest is filled again in order by
  // the backends at full share.
  double kept = 0;
  bool draining = false;
  for (std::size_t i : order_) {
    if (drain_[i] < 1) {
      draining = true;
      shares_[i] *= drain_[i];
      kept += shares_[i];
    }
  }
  if (draining) {
    for (std::size_t i : order_) {
      if (drain_[i] >= 1) {
        shares_[i] = 0;
      }
    }
    fill(true, 1.0 - kept);
  }
}

// The cheapest-first fill without sorting: every backend cheaper than the marginal price runs
// at its cap, those at the marginal price share what is left by weight, dearer ones get
// nothing. The marginal price is found by quickselect on price (expected linear); the
// partitions are deterministic, so the result is too.
void Decider::fillCheapest(bool fullOnly, double mass) {
  partitioned_.clear();
  for (const auto& price : prices_) {
    if (!fullOnly || drain_[price.second] >= 1) {
      partitioned_.push_back(price);
    }
  }
  auto first = partitioned_.begin();
  auto last = partitioned_.end();
  while (first != last && mass > 1e-12) {
    const std::int64_t pivot = (first + (last - first) / 2)->first;
    const auto cheaperEnd =
        std::partition(first, last, [&](const auto& p) { return p.first < pivot; });
    const auto pivotEnd =
        std::partition(cheaperEnd, last, [&](const auto& p) { return p.first == pivot; });
    double cheaperRoom = 0;
    for (auto it = first; it != cheaperEnd; ++it) {
      cheaperRoom += limit_[it->second];
    }
    if (cheaperRoom >= mass) {
      last = cheaperEnd;  // the marginal price is below the pivot
      continue;
    }
    for (auto it = first; it != cheaperEnd; ++it) {
      shares_[it->second] += limit_[it->second];
    }
    mass -= cheaperRoom;
    members_.clear();
    double room = 0;
    for (auto it = cheaperEnd; it != pivotEnd; ++it) {
      members_.push_back(it->second);
      room += limit_[it->second];
    }
    const double take = std::min(mass, room);
    waterFill(members_, weight_, take);
    mass -= take;
    first = pivotEnd;
  }
}

void Decider::fillInOrder(bool fullOnly, double mass) {
  std::size_t begin = 0;
  for (std::size_t end : groupEnds_) {
    if (mass <= 1e-12) {
      break;
    }
    members_.clear();
    double room = 0;
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t i = order_[k];
      if (!fullOnly || drain_[i] >= 1) {
        members_.push_back(i);
        room += limit_[i];
      }
    }
    begin = end;
    if (members_.empty()) {
      continue;
    }
    const double take = std::min(mass, room);
    waterFill(members_, weight_, take);
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
      shares_[i] = facts_[i].down && !everyBackendDown_ ? 0.0 : 1.0;
      total += shares_[i];
    }
    if (total <= 0) {
      return;
    }
  }
  // The units left go to the largest remainders. Their threshold (the count-th largest) is
  // found without sorting: a histogram of the remainders names the bucket it is in, and only
  // that bucket's few values are selected from.
  constexpr std::size_t kBuckets = 256;
  std::array<std::uint32_t, kBuckets> histogram{};
  auto bucketOf = [](double remainder) {
    return remainder > 0 ? std::min(kBuckets - 1, static_cast<std::size_t>(remainder * kBuckets))
                         : std::size_t{0};
  };
  const double scale = kWeightScale / total;
  std::int64_t assigned = 0;
  order_.resize(n_);
  remainder_.resize(n_);
  std::size_t positive = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    if (shares_[i] <= 0) {
      continue;
    }
    const double exact = shares_[i] * scale;
    const double whole = std::floor(exact);
    weights[i] = static_cast<std::int32_t>(whole);
    assigned += weights[i];
    order_[positive] = i;
    remainder_[positive] = exact - whole;
    ++histogram[bucketOf(exact - whole)];
    ++positive;
  }
  order_.resize(positive);
  remainder_.resize(positive);
  std::int64_t left = kWeightScale - assigned;
  if (left > 0 && !order_.empty()) {
    const auto count = std::min<std::int64_t>(left, static_cast<std::int64_t>(order_.size()));
    std::size_t bucket = kBuckets;
    std::int64_t above = 0;  // remainders in the buckets above the threshold's
    while (above + histogram[bucket - 1] < count) {
      above += histogram[--bucket];
    }
    --bucket;
    ranked_.clear();
    for (double r : remainder_) {
      if (bucketOf(r) == bucket) {
        ranked_.push_back(r);
      }
    }
    auto nth = ranked_.begin() + (count - above - 1);
    std::nth_element(ranked_.begin(), nth, ranked_.end(), std::greater<>());
    const double threshold = *nth;
    for (double r : ranked_) {
      above += r > threshold ? 1 : 0;
    }
    // At the threshold remainder, the units go to the earliest backends. Without branches:
    // which side of the threshold a remainder falls on is a coin toss.
    std::int64_t atThreshold = count - above;
    for (std::size_t k = 0; k < order_.size(); ++k) {
      const double r = remainder_[k];
      const bool tie = r == threshold;
      const std::int32_t unit = (r > threshold) | (tie & (atThreshold > 0));
      atThreshold -= tie;
      weights[order_[k]] += unit;
      left -= unit;
    }
    // Only float error leaves more units than backends: spread them in order.
    for (std::size_t k = 0; left > 0; k = (k + 1) % order_.size(), --left) {
      ++weights[order_[k]];
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
    const Facts& f = facts_[i];
    limit_[i] = traffic_ > 0 && f.capacity ? *f.capacity * perRps : kInfinity;
    if (f.cost) {
      anyCost_ = true;
      cheapest_ = std::min(cheapest_, *f.cost);
      dearest_ = std::max(dearest_, *f.cost);
    }
    if (f.base <= 0 || drain_[i] <= 0) {
      continue;
    }
    if (f.latency) {
      fastest_ = std::min(fastest_, *f.latency);
      if (f.rps) {
        leastInFlight_ = std::min(leastInFlight_, *f.rps * *f.latency / 1000.0);
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
    // A negative configured cost counts as none; it never raises the dearest above 0.
    std::int64_t dearest = 0;
    for (const auto& f : facts_) {
      if (f.cost) {
        dearest = std::max(dearest, f.costMicros);
      }
    }
    prices_.reserve(n_);
    partitioned_.reserve(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      if (facts_[i].base > 0 && drain_[i] > 0) {
        prices_.emplace_back(facts_[i].cost ? facts_[i].costMicros : dearest, i);
      }
    }
  }
  for (std::size_t r = 0; r < out_.rules.size(); ++r) {
    const auto& regions =
        r < spec_.tiers.size() ? spec_.tiers[r].preferredRegions : spec_.preferredRegions;
    out_.rules[r].weights = weightsFor(out_.rules[r].strategy, regions);
  }
}

TrafficDecision Decider::run() {
  prices_.clear();
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
    const Facts& f = facts_[i];
    healthy += s.phase == BackendPhase::Healthy || s.phase == BackendPhase::Recovering ? 1 : 0;
    drain_[i] = s.phase == BackendPhase::Healthy   ? 1.0
                : s.phase == BackendPhase::Drained ? 0.0
                                                   : 1.0 - static_cast<double>(s.step) / steps_;
    anyShare = anyShare || (drain_[i] > 0 && f.base > 0);
    everyBackendDown_ = everyBackendDown_ && f.down;
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
