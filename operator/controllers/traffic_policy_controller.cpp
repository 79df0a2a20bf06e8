#include "operator/controllers/traffic_policy_controller.h"

#include <algorithm>
#include <cmath>

#include "operator/api/conditions.h"
#include "operator/api/parse.h"
#include "operator/api/units.h"
#include "operator/common/rfc3339.h"
#include "operator/controllers/indexes.h"
#include "operator/controllers/plan_ops.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/tier_limit_target.h"
#include "operator/engine/canary_route.h"
#include "operator/engine/rate_limits.h"
#include "operator/engine/traffic_policy_route.h"

namespace sluice::controllers {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr const char* kReasonTrafficProviderError = "TrafficProviderError";
constexpr const char* kKind = "TrafficPolicy";

// Without spec.metrics there is nothing to poll; a Service appearing or the spec changing
// wakes the policy anyway, so this only bounds how stale a shift schedule can get.
constexpr milliseconds kIdleRecheck = 60s;

api::TrafficPolicyStatus statusOf(const kube::Object& object) {
  const auto* status = findPath(object, {"status"});
  if (status == nullptr || !status->is_object()) {
    return {};
  }
  auto parsed = api::parseTrafficPolicyStatus(*status);
  return parsed ? *parsed : api::TrafficPolicyStatus{};
}

bool meansUnreachable(prometheus::QueryErrorKind kind) {
  return kind == prometheus::QueryErrorKind::Unreachable ||
         kind == prometheus::QueryErrorKind::Timeout ||
         kind == prometheus::QueryErrorKind::InvalidAddress;
}

// An answer that is no measurement at all: Prometheus refused the query (4xx/5xx, "status":
// "error") or sent what is not its API's shape (HTML, truncated JSON, a matrix or a string where
// one number belongs). Unlike no series or NaN (an idle backend's 0/0), nothing about the
// backend can be read from it.
bool meansBadAnswer(prometheus::QueryErrorKind kind) {
  return kind == prometheus::QueryErrorKind::HttpStatus ||
         kind == prometheus::QueryErrorKind::PrometheusError ||
         kind == prometheus::QueryErrorKind::BadResponse ||
         kind == prometheus::QueryErrorKind::NotScalar;
}

std::optional<engine::TimePoint> timeOf(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  auto t = parseRfc3339(text);
  return t ? std::optional<engine::TimePoint>(*t) : std::nullopt;
}

std::string textOf(const std::optional<engine::TimePoint>& t) {
  return t ? formatRfc3339(*t) : std::string();
}

engine::BackendState stateOf(const api::BackendStatus& b) {
  engine::BackendState s;
  s.name = b.name;
  s.phase = engine::parseBackendPhase(b.state).value_or(engine::BackendPhase::Healthy);
  s.step = b.step;
  s.stepAt = timeOf(b.stepAt);
  s.healthySince = timeOf(b.healthySince);
  s.reason = b.reason;
  return s;
}

double roundTo(double value, double unit) {
  return std::round(value / unit) * unit;
}

engine::BudgetState budgetOf(const std::vector<api::Condition>& conditions) {
  const auto* c = api::findCondition(conditions, kConditionOverBudget);
  if (c == nullptr) {
    return engine::BudgetState::None;
  }
  if (c->reason == "MaximumExceeded") {
    return engine::BudgetState::Over;
  }
  if (c->reason == "AlertThreshold") {
    return engine::BudgetState::Alert;
  }
  return engine::BudgetState::Ok;
}

std::string joined(const std::vector<std::string>& names, std::size_t maxLength) {
  std::string out;
  for (const auto& n : names) {
    const std::string next = out.empty() ? n : out + "," + n;
    if (next.size() > maxLength) {
      break;
    }
    out = next;
  }
  return out;
}

}  // namespace

TrafficPolicyReconciler::TrafficPolicyReconciler(TrafficPolicyDeps deps, engine::ZoneLoader zones)
    : deps_(deps),
      zones_(zones ? std::move(zones) : engine::systemZones()),
      status_(deps.statusWriter, deps.events, deps.clock) {}

std::vector<kube::ObjectKey> TrafficPolicyReconciler::policiesOfTierLimit(
    const kube::Object& tierLimit) {
  const auto ns = kube::ObjectKey::of(tierLimit).ns;
  std::vector<kube::ObjectKey> out;
  for (auto& name : targetPolicies(tierLimit)) {
    out.push_back({ns, std::move(name)});
  }
  return out;
}

std::vector<kube::ObjectKey> TrafficPolicyReconciler::policiesUsingService(
    const kube::Object& service) {
  const auto key = kube::ObjectKey::of(service);
  return indexes::keysReferring(*deps_.cache, resources::trafficPolicies(),
                                indexes::policiesByService(), key.ns, key.name);
}

std::vector<kube::ObjectKey> TrafficPolicyReconciler::policyOfRollout(const kube::Object& rollout) {
  const std::string name = stringAt(rollout, {"spec", "trafficPolicyRef", "name"});
  if (name.empty()) {
    return {};
  }
  return {{kube::ObjectKey::of(rollout).ns, name}};
}

std::vector<engine::CanarySplit> TrafficPolicyReconciler::canarySplits(
    const api::TrafficPolicy& policy) {
  std::vector<engine::CanarySplit> out;
  const auto& ns = policy.metadata.namespace_;
  auto list = deps_.cache->listIndexed(resources::canaryRollouts(), ns, indexes::rolloutsByPolicy(),
                                       indexes::ref(ns, policy.metadata.name));
  if (!list) {
    return out;
  }
  // One split per backend, the first rollout by name (a second one reports itself blocked
  // through its own status: it never reaches traffic).
  std::vector<api::CanaryRollout> rollouts;
  for (const auto& object : list->items) {
    if (stringAt(object, {"spec", "trafficPolicyRef", "name"}) != policy.metadata.name ||
        findPath(object, {"metadata", "deletionTimestamp"}) != nullptr) {
      continue;
    }
    if (auto rollout = api::parseCanaryRollout(object)) {
      rollouts.push_back(std::move(*rollout));
    }
  }
  std::sort(rollouts.begin(), rollouts.end(),
            [](const auto& a, const auto& b) { return a.metadata.name < b.metadata.name; });
  for (const auto& rollout : rollouts) {
    for (const auto& want : engine::policyCanarySplits(rollout)) {
      for (std::size_t i = 0; i < policy.spec.backends.size(); ++i) {
        if (policy.spec.backends[i].name != want.backend ||
            std::any_of(out.begin(), out.end(),
                        [&](const engine::CanarySplit& c) { return c.backend == i; })) {
          continue;
        }
        engine::ServiceTarget canary{ns, want.canary.name, want.canary.port, ""};
        if (auto service = deps_.cache->get(kube::resources::services(), {ns, want.canary.name})) {
          canary = targetOf(*service, want.canary, ns);
        }
        out.push_back({i, canary, want.percent, want.stableHeaders, want.canaryHeaders});
      }
    }
  }
  return out;
}

std::vector<kube::ObjectKey> TrafficPolicyReconciler::ownersInDataPlanes() {
  return controllers::ownersInDataPlanes(*deps_.providers, kKind);
}

engine::TrafficObservation TrafficPolicyReconciler::observe(
    const api::TrafficPolicy& policy, const render::TrafficProvider& provider,
    std::vector<bool>& serviceFound, std::vector<engine::ServiceTarget>& targets,
    std::string& metricsError, std::string& metricsReason, std::string& noSeriesYet) {
  const auto& spec = policy.spec;
  const auto& ns = policy.metadata.namespace_;
  engine::TrafficObservation observation;
  observation.backends.resize(spec.backends.size());
  serviceFound.assign(spec.backends.size(), false);
  targets.clear();
  for (std::size_t i = 0; i < spec.backends.size(); ++i) {
    const auto& ref = spec.backends[i].serviceRef;
    auto service = deps_.cache->get(kube::resources::services(), {ns, ref.name});
    serviceFound[i] = service.hasValue();
    // A missing Service is still a destination (at weight 0), so the topology stays put.
    targets.push_back(serviceFound[i] ? targetOf(*service, ref, ns)
                                      : engine::ServiceTarget{ns, ref.name, ref.port, ""});
    if (!serviceFound[i]) {
      observation.backends[i].down = true;
      observation.backends[i].downReason = "Service " + ns + "/" + ref.name + " not found";
    }
  }
  if (!spec.metrics) {
    return observation;
  }
  // The address as status and Events show it (no user:password@), said once per message.
  const auto failure = [shown = prometheus::redactAddress(spec.metrics->prometheus.address)](
                           const std::string& message) {
    return message.find(shown) != std::string::npos ? message : shown + ": " + message;
  };
  auto client = deps_.prometheus->get(spec.metrics->prometheus.address);
  if (!client) {
    metricsError = failure(client.error().describe());
    return observation;
  }
  // The rate window for built-in queries: four metrics intervals (Prometheus wants at least
  // four scrapes in a rate(), and the policy is polled no faster than it is scraped).
  const auto window = 4 * spec.metrics->interval;
  const auto owner = engine::ownerOf(policy);
  const auto& queries = spec.metrics->queries;
  int queried = 0;
  int answered = 0;     // queries that returned a number (a series, not "none, so 0")
  std::string unknown;  // the first query that returned no series or NaN, and why
  for (std::size_t i = 0; i < spec.backends.size(); ++i) {
    const auto& backend = spec.backends[i];
    const auto builtin = provider.destinationQueries(owner, policy.metadata.name, backend.name);
    const prometheus::Placeholders values{{"backend", backend.name},
                                          {"service", backend.serviceRef.name},
                                          {"namespace", ns},
                                          {"interval", prometheus::formatDuration(window)}};
    auto run = [&](const std::string& own, const std::string& fallback, bool noDataIsZero,
                   const char* what) -> std::optional<double> {
      const std::string& text = own.empty() ? fallback : own;
      if (text.empty() || !metricsError.empty()) {
        return std::nullopt;
      }
      ++queried;
      auto promql = prometheus::renderQuery(text, values);
      if (!promql) {
        metricsReason = "InvalidQuery";
        metricsError =
            std::string("spec.metrics.queries.") + what + ": " + promql.error().describe();
        return std::nullopt;
      }
      auto value = (*client)->query(*promql);
      if (value) {
        ++answered;
        return *value;
      }
      const auto kind = value.error().kind;
      const std::string query =
          (own.empty() ? std::string("the provider's built-in ") + what + " query"
                       : std::string("spec.metrics.queries.") + what) +
          " for backend " + backend.name;
      if (meansUnreachable(kind)) {
        // One unreachable answer is enough: the rest would wait for the same timeout.
        metricsReason = "PrometheusUnavailable";
        metricsError = failure(value.error().describe());
      } else if (meansBadAnswer(kind)) {
        // Not a picture of the backend, and the next answer is as likely to be bad: the whole
        // round is discarded below, so the rest need not be asked.
        metricsReason = "QueryFailed";
        metricsError = query + ": " + failure(value.error().describe());
      } else if (unknown.empty()) {
        unknown = query + ": " + value.error().describe();
      }
      if (kind == prometheus::QueryErrorKind::NoData && noDataIsZero) {
        return 0.0;  // no series yet: nothing was served
      }
      return std::nullopt;
    };
    auto& o = observation.backends[i];
    o.requestsPerSecond =
        run(queries.requestsPerSecond, builtin.requestsPerSecond, true, "requestsPerSecond");
    o.errorRate = run(queries.errorRate, builtin.errorRate, false, "errorRate");
    o.latencyP99Ms = run(queries.latencyP99Milliseconds, builtin.latencyP99Milliseconds, false,
                         "latencyP99Milliseconds");
    if (auto up = run(queries.up, builtin.up, false, "up")) {
      o.up = *up >= 0.5;
    }
    if (o.down) {
      continue;
    }
    if (o.up && !*o.up) {
      o.down = true;
      o.downReason = "its health check query says 0";
    } else if (o.errorRate && *o.errorRate >= 0.999) {
      o.down = true;
      o.downReason = "every request failed";
    }
  }
  if (metricsError.empty() && queried == 0 && !spec.backends.empty()) {
    metricsReason = "NoQueries";
    metricsError = "spec.metrics.queries: none given, and the " + spec.provider +
                   " provider has no built-in queries to fall back on";
  }
  if (metricsError.empty() && queried > 0 && answered == 0) {
    // Not one series or number for any backend: Prometheus knows nothing about them (an empty
    // answer for every query, NaN everywhere). For a policy that was measured before (or is
    // already holding) that is a fault of the measurement: reading "no series" as 0 requests
    // would let the strategies decide on traffic nobody measured, so the round holds. A new
    // policy whose backends have no series yet decides on "no traffic" (CostOptimized: the
    // cheapest takes all) and says so.
    const auto* before = api::findCondition(policy.status.conditions, kConditionMetricsAvailable);
    const bool measuredBefore =
        before != nullptr &&
        (before->status == api::kConditionTrue || before->reason == "NoData" ||
         before->reason == "QueryFailed" || before->reason == "PrometheusUnavailable");
    if (measuredBefore) {
      metricsReason = "NoData";
      metricsError = "no query returned a value; first: " + unknown;
    } else {
      noSeriesYet = "no query returned a value yet, deciding on no traffic; first: " + unknown;
    }
  }
  if (!metricsError.empty()) {
    // A half-answered round is not a picture of the backends: keep only what the cache knows
    // (which Services are missing, recorded before any query).
    for (std::size_t i = 0; i < observation.backends.size(); ++i) {
      auto& o = observation.backends[i];
      if (serviceFound[i]) {
        o = {};
      } else {
        o = {std::nullopt, std::nullopt, std::nullopt, std::nullopt, true, o.downReason};
      }
    }
  }
  return observation;
}

void TrafficPolicyReconciler::exportRequestRate(const kube::ObjectKey& key,
                                                const std::string& tierLimit,
                                                std::optional<double> requestsPerSecond) {
  if (deps_.metrics == nullptr) {
    return;
  }
  const auto labelsFor = [&](const std::string& name) {
    return kube::Labels{{"namespace", key.ns}, {"tierlimit", name}, {"trafficpolicy", key.name}};
  };
  std::lock_guard lock(rateMu_);
  auto it = rateSeries_.find(key.str());
  if (it != rateSeries_.end() && (it->second != tierLimit || !requestsPerSecond)) {
    deps_.metrics->gaugeRemove(kMetricTierLimitRequestRate, labelsFor(it->second));
    rateSeries_.erase(it);
  }
  if (tierLimit.empty() || !requestsPerSecond) {
    return;
  }
  deps_.metrics->gaugeSet(kMetricTierLimitRequestRate,
                          "Requests per second the backends of a TrafficPolicy serve, for the "
                          "TierLimit attached to it (its HPA's External metric)",
                          labelsFor(tierLimit), *requestsPerSecond);
  rateSeries_[key.str()] = tierLimit;
}

void TrafficPolicyReconciler::exportGauges(const kube::ObjectKey& key, const PolicyGauges* gauges) {
  if (deps_.metrics == nullptr) {
    return;
  }
  const kube::Labels labels{{"namespace", key.ns}, {"name", key.name}};
  struct Gauge {
    const char* name;
    const char* help;
    double value;
  };
  const Gauge all[] = {
      {kMetricShifting, "1 while a TrafficPolicy shifts traffic off or back onto a backend",
       gauges ? gauges->shifting : 0},
      {kMetricHealthyBackends, "Backends of a TrafficPolicy that are healthy",
       gauges ? gauges->healthy : 0},
      {kMetricBackends, "Backends of a TrafficPolicy", gauges ? gauges->backends : 0},
      {kMetricPanic, "1 while a TrafficPolicy spreads traffic over unhealthy backends (panic)",
       gauges ? gauges->panic : 0},
      {kMetricBudgetState,
       "A TrafficPolicy's budget: 0 within it, 1 at or above alertAtPercent, 2 above the maximum",
       gauges ? gauges->budget : 0},
  };
  for (const auto& g : all) {
    if (gauges != nullptr) {
      deps_.metrics->gaugeSet(g.name, g.help, labels, g.value);
    } else {
      deps_.metrics->gaugeRemove(g.name, labels);
    }
  }
}

kube::ReconcileOutcome TrafficPolicyReconciler::reconcile(const kube::ObjectKey& key) {
  const auto& kind = resources::trafficPolicies();
  engine::Owner gone{api::kApiVersion, kKind, key.ns, key.name, ""};
  auto object = deps_.cache->get(kind, key);
  if (!object) {
    if (object.error().isNotFound()) {
      exportGauges(key, nullptr);
      exportRequestRate(key, "", std::nullopt);
      return removeEverywhere(*deps_.providers, gone);
    }
    return Unexpected(kube::ReconcileError{"reading from cache: " + object.error().describe()});
  }
  if (findPath(*object, {"metadata", "deletionTimestamp"}) != nullptr) {
    exportGauges(key, nullptr);
    exportRequestRate(key, "", std::nullopt);
    return removeEverywhere(*deps_.providers, gone);
  }
  std::int64_t generation = 0;
  if (const auto* g = findPath(*object, {"metadata", "generation"}); g && g->is_number()) {
    generation = g->get<std::int64_t>();
  }
  auto policy = api::parseTrafficPolicy(*object);
  if (!policy) {
    return status_.blocked(kind, *object, statusOf(*object), generation, api::kReasonInvalidSpec,
                           policy.error().toString(), std::nullopt);
  }
  const auto& spec = policy->spec;
  const api::TrafficPolicyStatus& current = policy->status;
  render::TrafficProvider* provider = deps_.providers->find(spec.provider);
  if (provider == nullptr) {
    return status_.blocked(
        kind, *object, current, generation, kReasonTrafficProviderError,
        "spec.provider: " + spec.provider +
            " is not configured in this operator (configured: " + deps_.providers->names() + ")",
        std::nullopt);
  }
  const auto owner = engine::ownerOf(*policy);
  const auto now = deps_.clock->now();

  std::vector<bool> serviceFound;
  std::vector<engine::ServiceTarget> targets;
  std::string metricsError;
  std::string metricsReason;
  std::string noSeriesYet;
  engine::TrafficInputs inputs;
  inputs.spec = &spec;
  inputs.observation =
      observe(*policy, *provider, serviceFound, targets, metricsError, metricsReason, noSeriesYet);
  for (const auto& b : current.backends) {
    inputs.states.push_back(stateOf(b));
  }
  const auto splits = canarySplits(*policy);
  if (auto running = provider->verify(owner); running && *running) {
    inputs.previous = engine::ruleWeightsOf(spec, **running, splits);
  }
  const auto* degraded = api::findCondition(current.conditions, api::kConditionDegraded);
  inputs.wasPanic = degraded != nullptr && degraded->status == api::kConditionTrue;
  inputs.budgetBefore = budgetOf(current.conditions);
  inputs.now = now;

  const auto started = std::chrono::steady_clock::now();
  engine::TrafficDecision decision = engine::decideTraffic(inputs);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  if (deps_.metrics != nullptr) {
    deps_.metrics->histogramObserve("sluice_trafficpolicy_decision_seconds",
                                    "Time decideTraffic() took for one TrafficPolicy", {},
                                    static_cast<double>(took.count()) / 1e6);
  }

  auto plan = engine::trafficPolicyRoutePlan(*policy, decision.rules, targets, splits);
  // The attached TierLimit's limits ride on the route. One its own controller finds invalid
  // (an unknown quota time zone) is left off: its status says why.
  std::optional<Clock::TimePoint> limitsChangeAt;
  auto tierLimit = tierLimitFor(*deps_.cache, key.ns, key.name);
  {
    // What the backends serve, for the TierLimit's HPA: known only when every backend's rate is.
    std::optional<double> served = 0.0;
    for (const auto& b : inputs.observation.backends) {
      served = b.requestsPerSecond && served ? std::optional(*served + *b.requestsPerSecond)
                                             : std::nullopt;
    }
    exportRequestRate(key, tierLimit ? tierLimit->metadata.name : std::string(),
                      spec.metrics ? served : std::nullopt);
  }
  if (tierLimit) {
    if (auto limits = engine::rateLimitsOf(*tierLimit, now, zones_)) {
      for (auto& route : plan.routes) {
        route.rateLimits = limits->limits;
      }
      limitsChangeAt = limits->offsetChangesAt;
    }
  }
  const Applied applied = applyPlan(*deps_.providers, *provider, plan);
  if (!applied.ok) {
    // The data plane did not take the decision: status keeps the states it has (a retry
    // decides again from them), says why, and the queue retries with backoff.
    api::TrafficPolicyStatus failed = current;
    failed.observedGeneration = generation;
    failed.message = applied.message;
    api::setCondition(failed.conditions,
                      {api::kConditionReady, api::kConditionFalse, kReasonTrafficProviderError,
                       applied.message, "", generation},
                      now);
    if (auto w = status_.writeThen(
            kind, *object, current, failed,
            {{kube::EventType::Warning, kReasonTrafficProviderError, applied.message}});
        !w) {
      return Unexpected(kube::ReconcileError{"writing status: " + w.error().describe()});
    }
    return Unexpected(kube::ReconcileError{applied.message});
  }

  // ---- status ----
  api::TrafficPolicyStatus next = current;
  std::vector<StatusReporter::PendingEvent> events;
  next.observedGeneration = generation;
  const auto& defaults = decision.rules.back().weights;
  const auto& failover = spec.failover ? *spec.failover : api::FailoverSpec{};
  next.backends.clear();
  next.activeBackends = 0;
  std::vector<std::string> receiving;
  for (std::size_t i = 0; i < spec.backends.size(); ++i) {
    const auto& b = spec.backends[i];
    const auto& o = inputs.observation.backends[i];
    const auto& s = decision.backends[i];
    api::BackendStatus out;
    out.name = b.name;
    out.weight = i < defaults.size() ? defaults[i] : 0;
    const auto health = decision.health[i];
    out.healthy =
        health == engine::BackendHealth::Healthy ||
        (health == engine::BackendHealth::Unknown && s.phase == engine::BackendPhase::Healthy);
    if (o.errorRate) {
      out.errorRate = roundTo(*o.errorRate, 0.001);
    }
    if (o.latencyP99Ms) {
      out.latencyP99Milliseconds = roundTo(*o.latencyP99Ms, 1.0);
    }
    if (o.requestsPerSecond && b.cost.perMillionRequests) {
      const double perHour =
          *o.requestsPerSecond * 3600.0 * b.cost.perMillionRequests->toDouble() / 1e6;
      out.costPerHour = api::decimalFromMicros(
          static_cast<std::int64_t>(std::llround(roundTo(perHour, 0.0001) * 1e6)));
    }
    out.state = engine::toString(s.phase);
    out.step = s.step;
    out.stepAt = textOf(s.stepAt);
    out.healthySince = textOf(s.healthySince);
    out.reason = s.reason;
    if (out.weight > 0) {
      ++next.activeBackends;
      receiving.push_back(b.name);
    }
    next.backends.push_back(std::move(out));
  }
  if (decision.estimatedCostPerHour) {
    next.estimatedCostPerHour = api::decimalFromMicros(static_cast<std::int64_t>(
        std::llround(roundTo(*decision.estimatedCostPerHour, 0.0001) * 1e6)));
  } else {
    next.estimatedCostPerHour.reset();
  }
  const bool weightsMoved = !inputs.previous || *inputs.previous != decision.rules;
  if (weightsMoved || !current.decision) {
    next.decision =
        api::DecisionStatus{api::toString(spec.strategy), formatRfc3339(now), took.count()};
  }
  next.shift.reset();
  for (std::size_t i = 0; i < spec.backends.size(); ++i) {
    const auto& s = decision.backends[i];
    if (s.phase != engine::BackendPhase::Draining && s.phase != engine::BackendPhase::Recovering) {
      continue;
    }
    const bool draining = s.phase == engine::BackendPhase::Draining;
    const std::int32_t taken = draining ? s.step : failover.shift.steps - s.step;
    api::ShiftStatus shift;
    shift.reason = draining ? s.reason
                            : "healthy for " + api::formatDuration(failover.recovery.healthyFor) +
                                  ": shifting back";
    std::vector<std::string> others;
    for (const auto& name : receiving) {
      if (name != spec.backends[i].name) {
        others.push_back(name);
      }
    }
    shift.from = draining ? spec.backends[i].name : joined(others, 63);
    shift.to = draining ? joined(others, 63) : spec.backends[i].name;
    if (s.stepAt) {
      shift.startedAt = formatRfc3339(*s.stepAt - (taken - 1) * failover.shift.interval);
    }
    shift.step = taken;
    next.shift = std::move(shift);
    break;
  }

  std::string message;
  api::setCondition(
      next.conditions,
      {api::kConditionReady, api::kConditionTrue, "WeightsApplied",
       std::to_string(next.activeBackends) + " of " + std::to_string(spec.backends.size()) +
           " backends receive traffic through " + spec.provider,
       "", generation},
      now);
  if (next.shift) {
    api::setCondition(
        next.conditions,
        {api::kConditionProgressing, api::kConditionTrue, "Shifting",
         "shifting traffic from " + next.shift->from + " to " + next.shift->to + ", step " +
             std::to_string(next.shift->step) + " of " + std::to_string(failover.shift.steps),
         "", generation},
        now);
  } else {
    api::setCondition(next.conditions,
                      {api::kConditionProgressing, api::kConditionFalse, "Stable",
                       "no shift in progress", "", generation},
                      now);
  }
  if (decision.panic) {
    if (message.empty()) {
      message = decision.panicReason;
    }
    api::setCondition(next.conditions,
                      {api::kConditionDegraded, api::kConditionTrue, "Panic",
                       decision.panicReason + ": traffic is spread over every backend whose "
                                              "Service exists",
                       "", generation},
                      now);
  } else {
    api::setCondition(next.conditions,
                      {api::kConditionDegraded, api::kConditionFalse, "EnoughHealthyBackends",
                       "at least failover.minHealthyBackends backends are healthy", "", generation},
                      now);
  }
  if (spec.metrics) {
    const auto* before = api::findCondition(current.conditions, kConditionMetricsAvailable);
    if (!metricsError.empty()) {
      if (message.empty()) {
        message = "metrics unavailable, weights held: " + metricsError;
      }
      if (before == nullptr || before->status != api::kConditionFalse) {
        events.push_back({kube::EventType::Warning, "MetricsUnavailable",
                          metricsError + "; weights and shift states hold until metrics return"});
      }
      api::setCondition(next.conditions,
                        {kConditionMetricsAvailable, api::kConditionFalse,
                         metricsReason.empty() ? "PrometheusUnavailable" : metricsReason,
                         metricsError, "", generation},
                        now);
    } else if (!noSeriesYet.empty()) {
      api::setCondition(next.conditions,
                        {kConditionMetricsAvailable, api::kConditionFalse, "NoSeriesYet",
                         noSeriesYet, "", generation},
                        now);
    } else {
      api::setCondition(next.conditions,
                        {kConditionMetricsAvailable, api::kConditionTrue, "MetricsQueried",
                         "every backend was queried", "", generation},
                        now);
    }
  } else {
    api::removeCondition(next.conditions, kConditionMetricsAvailable);
  }
  if (spec.budget) {
    const char* reason = "WithinBudget";
    const char* state = api::kConditionFalse;
    std::string text = "estimated cost per hour within budget";
    if (decision.budget == engine::BudgetState::Alert ||
        decision.budget == engine::BudgetState::Over) {
      const bool over = decision.budget == engine::BudgetState::Over;
      reason = over ? "MaximumExceeded" : "AlertThreshold";
      state = api::kConditionTrue;
      text = "estimated cost " +
             (next.estimatedCostPerHour ? next.estimatedCostPerHour->text : std::string("?")) +
             " per hour is " + (over ? "above spec.budget.maxCostPerHour " : "at or above ") +
             (over ? spec.budget->maxCostPerHour.text
                   : std::to_string(spec.budget->alertAtPercent) + " % of " +
                         spec.budget->maxCostPerHour.text) +
             (over ? ": traffic below the most important tier moves to the cheapest backends" : "");
    }
    api::setCondition(next.conditions, {kConditionOverBudget, state, reason, text, "", generation},
                      now);
  } else {
    api::removeCondition(next.conditions, kConditionOverBudget);
  }
  next.message = message;

  PolicyGauges gauges;
  gauges.shifting = next.shift ? 1 : 0;
  gauges.backends = static_cast<double>(spec.backends.size());
  for (const auto& b : next.backends) {
    gauges.healthy += b.healthy ? 1 : 0;
  }
  gauges.panic = decision.panic ? 1 : 0;
  gauges.budget = decision.budget == engine::BudgetState::Over    ? 2
                  : decision.budget == engine::BudgetState::Alert ? 1
                                                                  : 0;
  exportGauges(key, &gauges);
  if (auto w = status_.writeThen(kind, *object, current, next, events); !w) {
    return Unexpected(kube::ReconcileError{"writing status: " + w.error().describe()});
  }
  // The engine's Events describe transitions the status just written records.
  for (const auto& event : decision.events) {
    status_.event(*object,
                  event.type == engine::EventType::Warning ? kube::EventType::Warning
                                                           : kube::EventType::Normal,
                  event.reason, event.message);
  }
  milliseconds after = spec.metrics ? spec.metrics->interval : kIdleRecheck;
  if (decision.requeueAfter) {
    after = std::min(after, std::max<milliseconds>(*decision.requeueAfter, 1ms));
  }
  if (limitsChangeAt) {
    after =
        std::min(after, std::max<milliseconds>(
                            std::chrono::duration_cast<milliseconds>(*limitsChangeAt - now), 1ms));
  }
  return kube::ReconcileResult{false, after};
}

}  // namespace sluice::controllers
