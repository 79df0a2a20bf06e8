#include "operator/engine/canary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <utility>

#include "operator/api/conditions.h"
#include "operator/common/rfc3339.h"
#include "operator/engine/format.h"

namespace sluice::engine {
namespace {

using api::CanaryPhase;
using api::MetricResult;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<std::int32_t> stepsOf(const api::CanaryRolloutSpec& spec) {
  if (!spec.steps.empty()) {
    return spec.steps;
  }
  return {std::begin(kDefaultSteps), std::end(kDefaultSteps)};
}

TimePoint floorSeconds(TimePoint t) {
  return std::chrono::floor<seconds>(t);
}

void setCondition(std::vector<api::Condition>& conditions, const char* type, const char* status,
                  const std::string& reason, const std::string& message, std::int64_t generation,
                  TimePoint now) {
  api::setCondition(conditions, {type, status, reason, message, "", generation}, now);
}

void setDegraded(api::CanaryRolloutStatus& status, std::int64_t gen, const std::string& why,
                 TimePoint now) {
  if (why.empty()) {
    setCondition(status.conditions, api::kConditionDegraded, api::kConditionFalse, "AsExpected",
                 status.message, gen, now);
    return;
  }
  // Keeps the reason of the rollback that made it True (see decideRollout()).
  const auto* d = api::findCondition(status.conditions, api::kConditionDegraded);
  const std::string reason =
      d != nullptr && d->status == api::kConditionTrue && d->reason != "AsExpected"
          ? d->reason
          : std::string("RegionRolledBack");
  setCondition(status.conditions, api::kConditionDegraded, api::kConditionTrue, reason, why, gen,
               now);
}

std::optional<TimePoint> parsedOr(const std::string& text);
MetricResult overall(const std::vector<api::MetricStatus>& metrics);

// No Prometheus and no metrics: an analysis that measures nothing has one outcome, so once
// recorded for a step it is not run (nor its lastRunAt written) again before the step ends.
// 10,000 such rollouts used to write status every interval: 333 writes/s at the 30 s default,
// past any client rate limit, and every other change queued behind them.
bool measuresNothing(const api::CanaryAnalysis& analysis) {
  return analysis.metrics.empty() && analysis.prometheus.address.empty();
}

}  // namespace

void setRolloutConditions(api::CanaryRolloutStatus& status_, std::int64_t gen,
                          const std::string& rollbackReason_, const std::string& degradedWhy,
                          TimePoint now_) {
  const std::string& msg = status_.message;
  // Derived from status alone, so a restarted operator reports the same reason.
  const auto started = parsedOr(status_.stepStartedAt);
  const auto last = parsedOr(status_.analysis.lastRunAt);
  const bool inconclusive = started && last && *last > *started &&
                            overall(status_.analysis.metrics) == MetricResult::Inconclusive;
  switch (status_.phase) {
    case CanaryPhase::Pending:
    case CanaryPhase::Progressing:
    case CanaryPhase::Promoting:
      setCondition(status_.conditions, api::kConditionReady, api::kConditionFalse,
                   "RolloutProgressing", msg, gen, now_);
      setCondition(status_.conditions, api::kConditionProgressing, api::kConditionTrue,
                   inconclusive ? "AnalysisInconclusive" : "StepInProgress", msg, gen, now_);
      setDegraded(status_, gen, degradedWhy, now_);
      break;
    case CanaryPhase::Paused:
      // Ready: where the user asked it to be. kstatus falls back on Ready when neither
      // Reconciling nor Stalled is True, so a GitOps health check does not wait on a pause.
      setCondition(status_.conditions, api::kConditionReady, api::kConditionTrue, "RolloutPaused",
                   msg, gen, now_);
      setCondition(status_.conditions, api::kConditionProgressing, api::kConditionUnknown,
                   "RolloutPaused", msg, gen, now_);
      setDegraded(status_, gen, degradedWhy, now_);
      break;
    case CanaryPhase::Succeeded:
      setCondition(status_.conditions, api::kConditionReady, api::kConditionTrue,
                   "RolloutSucceeded", msg, gen, now_);
      setCondition(status_.conditions, api::kConditionProgressing, api::kConditionFalse,
                   "RolloutSucceeded", msg, gen, now_);
      setDegraded(status_, gen, degradedWhy, now_);
      break;
    case CanaryPhase::RolledBack:
      if (rollbackReason_.empty()) {
        break;  // rolled back earlier; conditions already say why
      }
      setCondition(status_.conditions, api::kConditionReady, api::kConditionFalse, rollbackReason_,
                   msg, gen, now_);
      setCondition(status_.conditions, api::kConditionProgressing, api::kConditionFalse,
                   "RolledBack", msg, gen, now_);
      setCondition(status_.conditions, api::kConditionDegraded, api::kConditionTrue,
                   rollbackReason_, msg, gen, now_);
      break;
    case CanaryPhase::Failed:
      break;  // owned by the controller (e.g. InvalidSpec)
  }
  for (auto& c : status_.conditions) {
    c.observedGeneration = gen;
  }
}

namespace {

// Everything one decide() call builds up; written once into the plan.
class Decision {
 public:
  Decision(const api::CanaryRolloutSpec& spec, const api::CanaryRolloutStatus& current,
           const CanaryObservation& observation, TimePoint now)
      : spec_(spec),
        observation_(observation),
        now_(now),
        steps_(stepsOf(spec)),
        status_(current) {}

  CanaryPlan run();

 private:
  std::int32_t stepCount() const { return static_cast<std::int32_t>(steps_.size()); }
  std::string stepLabel() const {
    return "step " + std::to_string(status_.currentStep + 1) + "/" + std::to_string(stepCount()) +
           " (" + std::to_string(status_.canaryWeight) + "%)";
  }
  void emit(EventType type, std::string reason, std::string message) {
    events_.push_back({type, std::move(reason), std::move(message)});
  }

  void start(const char* eventReason, const std::string& why);
  void rollback(std::string reason, std::string message);
  void succeed(const char* eventReason, const std::string& message);
  void pause();
  void resume();
  void consumeAnalysis();
  void maybeAdvance();
  void applyConditions();
  std::optional<milliseconds> requeueAfter() const;

  const api::CanaryRolloutSpec& spec_;
  const CanaryObservation& observation_;
  TimePoint now_;
  std::vector<std::int32_t> steps_;
  api::CanaryRolloutStatus status_;
  std::vector<Event> events_;
  // Reason for Degraded/Ready after a rollback in this call.
  std::string rollbackReason_;
};

void Decision::start(const char* eventReason, const std::string& why) {
  status_.canaryRevision = observation_.canaryRevision;
  status_.currentStep = 0;
  status_.analysis = {};
  if (spec_.paused) {
    // Nothing reaches the canary until someone resumes; resume() starts step 0 then.
    status_.phase = CanaryPhase::Paused;
    status_.canaryWeight = 0;
    status_.stepStartedAt.clear();
    status_.message = "paused before the first step (spec.paused)";
    emit(EventType::Normal, eventReason, why + "; paused before the first step");
    return;
  }
  status_.phase = CanaryPhase::Progressing;
  status_.canaryWeight = steps_.front();
  status_.stepStartedAt = formatRfc3339(now_);
  status_.message = stepLabel() + ": watching the canary";
  emit(EventType::Normal, eventReason, why + "; " + stepLabel());
}

void Decision::rollback(std::string reason, std::string message) {
  status_.phase = CanaryPhase::RolledBack;
  status_.canaryWeight = 0;
  status_.message = "rolled back: " + message;
  rollbackReason_ = reason;
  emit(EventType::Warning, "RolledBack", reason + ": " + message);
}

void Decision::succeed(const char* eventReason, const std::string& message) {
  status_.phase = CanaryPhase::Succeeded;
  status_.canaryWeight = 100;
  status_.message = message;
  emit(EventType::Normal, eventReason, message);
}

void Decision::pause() {
  if (status_.phase == CanaryPhase::Paused) {
    return;
  }
  status_.phase = CanaryPhase::Paused;
  status_.message = "paused at " + stepLabel() + " (spec.paused)";
  emit(EventType::Normal, "Paused", status_.message);
}

void Decision::resume() {
  status_.phase = CanaryPhase::Progressing;
  status_.canaryWeight = steps_[static_cast<std::size_t>(status_.currentStep)];
  status_.stepStartedAt = formatRfc3339(now_);
  status_.message = stepLabel() + ": watching the canary";
  emit(EventType::Normal, "Resumed", "resumed at " + stepLabel());
}

struct Evaluation {
  std::vector<api::MetricStatus> metrics;
  std::string inconclusiveWhy;
  std::string failures;  // "error-rate 0.02 above max 0.01; ..."
  std::string spike;
};

std::string describeViolation(double value, const api::ThresholdRange& range) {
  if (range.max && value > range.max->toDouble()) {
    return formatNumber(value) + " above max " + formatDecimal(*range.max);
  }
  if (range.min) {
    return formatNumber(value) + " below min " + formatDecimal(*range.min);
  }
  return formatNumber(value);
}

void appendPart(std::string& to, const std::string& part) {
  if (!to.empty()) {
    to += "; ";
  }
  to += part;
}

Evaluation evaluate(const api::CanaryAnalysis& analysis, const AnalysisResult& result) {
  Evaluation out;
  const bool needRequests = analysis.minRequests > 0;
  if (!result.error.empty()) {
    out.inconclusiveWhy = result.error;
    for (const auto& metric : analysis.metrics) {
      out.metrics.push_back({metric.name, std::nullopt, MetricResult::Inconclusive, result.error});
    }
    if (needRequests || analysis.metrics.empty()) {
      out.metrics.insert(out.metrics.begin(), {std::string(kRequestCountMetric), std::nullopt,
                                               MetricResult::Inconclusive, result.error});
    }
    return out;
  }

  bool enoughRequests = true;
  if (needRequests) {
    api::MetricStatus entry{std::string(kRequestCountMetric), std::nullopt,
                            MetricResult::Inconclusive, ""};
    const auto& count = result.requestCount;
    if (!count || !std::isfinite(*count)) {
      entry.message =
          "request count unknown" +
          (result.requestCountError.empty() ? std::string() : ": " + result.requestCountError);
    } else {
      entry.value = *count;
      if (*count < static_cast<double>(analysis.minRequests)) {
        entry.message = "too few requests: " + formatNumber(*count) + " < minRequests " +
                        std::to_string(analysis.minRequests);
      } else {
        entry.result = MetricResult::Pass;
      }
    }
    if (entry.result != MetricResult::Pass) {
      enoughRequests = false;
      appendPart(out.inconclusiveWhy, entry.message);
    }
    out.metrics.push_back(std::move(entry));
  }

  for (const auto& metric : analysis.metrics) {
    api::MetricStatus entry{metric.name, std::nullopt, MetricResult::Inconclusive, ""};
    auto found = std::find_if(result.metrics.begin(), result.metrics.end(),
                              [&](const MetricObservation& m) { return m.name == metric.name; });
    if (found == result.metrics.end()) {
      entry.message = "not measured";
    } else if (!found->value) {
      entry.message = found->error.empty() ? "no value" : found->error;
    } else if (!std::isfinite(*found->value)) {
      entry.message = "value is " + formatNumber(*found->value);
    } else {
      entry.value = *found->value;
      entry.result = verdict(found->value, metric.thresholdRange);
      if (entry.result == MetricResult::Fail) {
        entry.message = describeViolation(*found->value, metric.thresholdRange);
      }
      if (!enoughRequests) {
        // Too little traffic proves nothing either way, spikes included.
        entry.result = MetricResult::Inconclusive;
        entry.message = "too few requests to judge";
      } else if (isErrorSpike(found->value, metric.thresholdRange)) {
        appendPart(out.spike, metric.name + " " + entry.message);
      } else if (entry.result == MetricResult::Fail) {
        appendPart(out.failures, metric.name + " " + entry.message);
      }
    }
    if (entry.result == MetricResult::Inconclusive && enoughRequests) {
      appendPart(out.inconclusiveWhy, metric.name + ": " + entry.message);
    }
    out.metrics.push_back(std::move(entry));
  }
  return out;
}

MetricResult overall(const std::vector<api::MetricStatus>& metrics) {
  MetricResult result = MetricResult::Pass;
  for (const auto& m : metrics) {
    if (m.result == MetricResult::Fail) {
      return MetricResult::Fail;
    }
    if (m.result == MetricResult::Inconclusive) {
      result = MetricResult::Inconclusive;
    }
  }
  return result;
}

std::optional<TimePoint> parsedOr(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  // A malformed timestamp (e.g. hand-edited status) is treated like an absent one.
  auto parsed = parseRfc3339(text);
  return parsed ? std::optional<TimePoint>(*parsed) : std::nullopt;
}

void Decision::consumeAnalysis() {
  if (!observation_.analysis) {
    return;
  }
  const AnalysisResult& result = *observation_.analysis;
  const TimePoint measured = floorSeconds(result.measuredAt);
  if (auto last = parsedOr(status_.analysis.lastRunAt); last && measured <= *last) {
    return;  // already recorded
  }
  if (auto started = parsedOr(status_.stepStartedAt); started && measured <= *started) {
    return;  // describes traffic from before this step
  }
  Evaluation eval = evaluate(spec_.analysis, result);
  status_.analysis.lastRunAt = formatRfc3339(measured);
  status_.analysis.metrics = std::move(eval.metrics);

  if (!eval.spike.empty()) {
    rollback("ErrorSpike", "error spike at " + stepLabel() + ": " + eval.spike);
    return;
  }
  if (!eval.failures.empty()) {
    status_.analysis.failures += 1;
    const std::string count = std::to_string(status_.analysis.failures) + " (failureLimit " +
                              std::to_string(spec_.analysis.failureLimit) + ")";
    if (status_.analysis.failures > spec_.analysis.failureLimit) {
      rollback("AnalysisFailed",
               "analysis failed at " + stepLabel() + ", failures " + count + ": " + eval.failures);
      return;
    }
    status_.message = stepLabel() + ": analysis failed, failures " + count + ": " + eval.failures;
    emit(EventType::Warning, "AnalysisFailed", status_.message);
    return;
  }
  if (!eval.inconclusiveWhy.empty()) {
    status_.message = stepLabel() + ": holding, analysis inconclusive: " + eval.inconclusiveWhy;
    return;
  }
  status_.message = stepLabel() + ": analysis passed";
}

void Decision::maybeAdvance() {
  auto started = parsedOr(status_.stepStartedAt);
  if (!started) {
    // A lost or corrupted timestamp: watch this step a full interval from now.
    status_.stepStartedAt = formatRfc3339(now_);
    return;
  }
  if (now_ < *started + spec_.stepInterval) {
    return;
  }
  auto last = parsedOr(status_.analysis.lastRunAt);
  if (!last || *last <= *started || overall(status_.analysis.metrics) != MetricResult::Pass) {
    return;
  }
  if (status_.currentStep + 1 >= stepCount()) {
    succeed("RolloutSucceeded",
            "all " + std::to_string(stepCount()) + " steps passed analysis; canary at 100%");
    return;
  }
  const std::int32_t from = status_.canaryWeight;
  status_.currentStep += 1;
  status_.canaryWeight = steps_[static_cast<std::size_t>(status_.currentStep)];
  status_.stepStartedAt = formatRfc3339(now_);
  status_.message = stepLabel() + ": watching the canary";
  emit(EventType::Normal, "StepAdvanced",
       "canary weight " + std::to_string(from) + "% -> " + std::to_string(status_.canaryWeight) +
           "% (" + stepLabel() + ")");
}

void Decision::applyConditions() {
  setRolloutConditions(status_, observation_.generation, rollbackReason_, "", now_);
}

std::optional<milliseconds> Decision::requeueAfter() const {
  if (status_.phase != CanaryPhase::Progressing && status_.phase != CanaryPhase::Promoting) {
    return std::nullopt;
  }
  const TimePoint started = parsedOr(status_.stepStartedAt).value_or(now_);
  TimePoint nextAnalysis = started + spec_.analysis.interval;
  const TimePoint stepEnd = started + spec_.stepInterval;
  if (auto last = parsedOr(status_.analysis.lastRunAt); last && *last > started) {
    nextAnalysis = measuresNothing(spec_.analysis) ? stepEnd : *last + spec_.analysis.interval;
  }
  TimePoint wake = nextAnalysis;
  if (stepEnd > now_) {
    wake = std::min(wake, stepEnd);
  }
  auto wait = std::chrono::ceil<milliseconds>(wake - now_);
  return std::max(wait, milliseconds{seconds{1}});
}

CanaryPlan Decision::run() {
  std::vector<std::string> consumed;
  const auto& actions = observation_.actions;
  if (actions.promote) {
    consumed.emplace_back(kPromoteAnnotation);
  }
  if (actions.abort) {
    consumed.emplace_back(kAbortAnnotation);
  }
  if (actions.retry) {
    consumed.emplace_back(kRetryAnnotation);
  }

  status_.observedGeneration = observation_.generation;
  if (status_.phase == CanaryPhase::Pending || status_.canaryRevision.empty()) {
    start("RolloutStarted", "canary revision " + observation_.canaryRevision);
  } else if (status_.canaryRevision != observation_.canaryRevision) {
    start("RolloutRestarted", "new canary revision " + observation_.canaryRevision + " (was " +
                                  status_.canaryRevision + ")");
  }
  if (status_.currentStep < 0 || status_.currentStep >= stepCount()) {
    // The steps changed under a stored index (cannot happen without a revision change, but a
    // hand-edited status must not index out of range).
    status_.currentStep = std::clamp(status_.currentStep, 0, stepCount() - 1);
  }

  if (!observation_.forcedRollback.empty()) {
    if (status_.phase != CanaryPhase::RolledBack) {
      rollback("RegionRolledBack", observation_.forcedRollback + " at " + stepLabel());
    }
  } else if (actions.abort) {
    if (status_.phase != CanaryPhase::RolledBack) {
      rollback("Aborted", "aborted by " + std::string(kAbortAnnotation) + " at " + stepLabel());
    }
  } else if (actions.retry && status_.phase == CanaryPhase::RolledBack) {
    start("RolloutRetried", "retry requested by " + std::string(kRetryAnnotation));
  } else if (actions.promote && status_.phase != CanaryPhase::Succeeded &&
             status_.phase != CanaryPhase::RolledBack) {
    succeed("Promoted", "promoted by " + std::string(kPromoteAnnotation) + " from " + stepLabel() +
                            "; canary at 100%");
  }

  switch (status_.phase) {
    case CanaryPhase::Succeeded:
    case CanaryPhase::RolledBack:
    case CanaryPhase::Failed:
      break;
    case CanaryPhase::Paused:
      if (spec_.paused) {
        break;
      }
      resume();
      break;
    case CanaryPhase::Pending:
    case CanaryPhase::Progressing:
    case CanaryPhase::Promoting:
      if (spec_.paused) {
        pause();
        break;
      }
      consumeAnalysis();
      if (status_.phase == CanaryPhase::Progressing || status_.phase == CanaryPhase::Promoting) {
        maybeAdvance();
      }
      break;
  }
  applyConditions();

  CanaryPlan plan;
  plan.canaryWeight = std::clamp(status_.canaryWeight, 0, 100);
  plan.requeueAfter = requeueAfter();
  plan.events = std::move(events_);
  plan.consumedAnnotations = std::move(consumed);
  plan.status = std::move(status_);
  return plan;
}

// FNV-1a 64: stable across processes and builds, unlike std::hash.
class Fingerprint {
 public:
  Fingerprint& add(std::string_view field) {
    // Length-prefixed so ("ab","c") and ("a","bc") differ.
    mix(std::to_string(field.size()));
    mix(":");
    mix(field);
    return *this;
  }
  Fingerprint& add(std::int64_t number) { return add(std::to_string(number)); }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash_));
    return buf;
  }

 private:
  void mix(std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 1099511628211ULL;
    }
  }
  std::uint64_t hash_ = 14695981039346656037ULL;
};

}  // namespace

CanaryPlan decide(const api::CanaryRolloutSpec& spec, const api::CanaryRolloutStatus& current,
                  const CanaryObservation& observation, TimePoint now) {
  return Decision(spec, current, observation, now).run();
}

bool analysisDue(const api::CanaryRolloutSpec& spec, const api::CanaryRolloutStatus& status,
                 TimePoint now) {
  if (status.phase != CanaryPhase::Progressing && status.phase != CanaryPhase::Promoting) {
    return false;
  }
  if (spec.paused) {
    return false;
  }
  auto started = parsedOr(status.stepStartedAt);
  if (!started) {
    return false;  // decide() first fixes the step start
  }
  TimePoint from = *started;
  if (auto last = parsedOr(status.analysis.lastRunAt); last && *last > from) {
    if (measuresNothing(spec.analysis)) {
      return false;
    }
    from = *last;
  }
  return now >= from + spec.analysis.interval;
}

api::MetricResult verdict(std::optional<double> value, const api::ThresholdRange& range) {
  if (!value || !std::isfinite(*value)) {
    return MetricResult::Inconclusive;
  }
  if (range.min && *value < range.min->toDouble()) {
    return MetricResult::Fail;
  }
  if (range.max && *value > range.max->toDouble()) {
    return MetricResult::Fail;
  }
  return MetricResult::Pass;
}

bool isErrorSpike(std::optional<double> value, const api::ThresholdRange& range) {
  if (!value || !std::isfinite(*value)) {
    return false;
  }
  if (range.max && range.max->micros > 0 && *value >= kSpikeFactor * range.max->toDouble()) {
    return true;
  }
  if (range.min && range.min->micros > 0 && *value <= range.min->toDouble() / kSpikeFactor) {
    return true;
  }
  return false;
}

std::string revisionOf(const api::CanaryRolloutSpec& spec, std::string_view canaryPodsIdentity) {
  Fingerprint f;
  f.add(canaryPodsIdentity);
  f.add(spec.stable.name).add(spec.stable.port).add(spec.canary.name).add(spec.canary.port);
  if (spec.trafficPolicyRef) {
    f.add("trafficPolicyRef").add(spec.trafficPolicyRef->name).add(spec.trafficPolicyRef->backend);
  }
  if (spec.route) {
    f.add("route").add(spec.route->provider);
    for (const auto& p : spec.route->parentRefs) {
      f.add(p.name).add(p.namespace_).add(p.sectionName);
    }
    f.add(static_cast<std::int64_t>(spec.route->hostnames.size()));
    for (const auto& h : spec.route->hostnames) {
      f.add(h);
    }
  }
  f.add("steps");
  for (auto s : stepsOf(spec)) {
    f.add(s);
  }
  f.add(spec.stepInterval.count());
  f.add(spec.stickiness ? spec.stickiness->header : std::string("-"));
  f.add("match").add(static_cast<std::int64_t>(spec.match.size()));
  for (const auto& m : spec.match) {
    f.add(static_cast<std::int64_t>(m.headers.size()));
    for (const auto& h : m.headers) {
      f.add(h.name).add(h.value).add(h.type);
    }
  }
  const auto& a = spec.analysis;
  f.add("analysis").add(a.prometheus.address).add(a.interval.count()).add(a.failureLimit);
  f.add(a.minRequests).add(a.requestCountQuery);
  f.add(static_cast<std::int64_t>(a.metrics.size()));
  for (const auto& m : a.metrics) {
    f.add(m.name).add(m.query);
    f.add(m.thresholdRange.min ? std::to_string(m.thresholdRange.min->micros) : "-");
    f.add(m.thresholdRange.max ? std::to_string(m.thresholdRange.max->micros) : "-");
  }
  f.add(spec.autoscaling.mirrorStableHPA ? 1 : 0);
  return f.hex();
}

std::int32_t stepWeight(const api::CanaryRolloutSpec& spec, std::int32_t stepIndex) {
  const auto steps = stepsOf(spec);
  const auto last = static_cast<std::int32_t>(steps.size()) - 1;
  return steps[static_cast<std::size_t>(std::clamp(stepIndex, 0, last))];
}

const char* toString(EventType type) {
  return type == EventType::Normal ? "Normal" : "Warning";
}

}  // namespace sluice::engine
