#include "operator/api/status_json.h"

#include "operator/api/units.h"

namespace sluice::api {

using nlohmann::json;

// Empty strings and absent optionals are left out, as Go's omitempty does, so a status written
// here and read by kubectl, kstatus or Argo CD has no "" timestamps to trip over.
namespace {

void putString(json& out, const char* key, const std::string& value) {
  if (!value.empty()) {
    out[key] = value;
  }
}

}  // namespace

json toJson(const Condition& condition) {
  json out = json::object();
  out["type"] = condition.type;
  out["status"] = condition.status;
  putString(out, "reason", condition.reason);
  putString(out, "message", condition.message);
  putString(out, "lastTransitionTime", condition.lastTransitionTime);
  out["observedGeneration"] = condition.observedGeneration;
  return out;
}

json toJson(const std::vector<Condition>& conditions) {
  json out = json::array();
  for (const auto& c : conditions) {
    out.push_back(toJson(c));
  }
  return out;
}

namespace {

json toJson(const AnalysisStatus& status) {
  json analysis = json::object();
  putString(analysis, "lastRunAt", status.lastRunAt);
  analysis["failures"] = status.failures;
  json metrics = json::array();
  for (const auto& m : status.metrics) {
    json metric = json::object();
    metric["name"] = m.name;
    if (m.value) {
      metric["value"] = *m.value;
    }
    metric["result"] = toString(m.result);
    putString(metric, "message", m.message);
    metrics.push_back(std::move(metric));
  }
  analysis["metrics"] = std::move(metrics);
  return analysis;
}

// The step progress of a rollout or one of its regions (same field names in both).
template <class Progress>
void putProgress(json& out, const Progress& p) {
  out["phase"] = toString(p.phase);
  out["currentStep"] = p.currentStep;
  out["canaryWeight"] = p.canaryWeight;
  putString(out, "stepStartedAt", p.stepStartedAt);
  putString(out, "message", p.message);
  out["analysis"] = toJson(p.analysis);
}

}  // namespace

json toJson(const CanaryRolloutStatus& status) {
  json out = json::object();
  out["observedGeneration"] = status.observedGeneration;
  putProgress(out, status);
  putString(out, "canaryRevision", status.canaryRevision);
  if (status.tenants) {
    out["tenants"] = {{"canary", status.tenants->canary}, {"stable", status.tenants->stable}};
  }
  if (!status.regions.empty()) {
    json regions = json::array();
    for (const auto& g : status.regions) {
      json region{{"name", g.name}};
      putProgress(region, g);
      regions.push_back(std::move(region));
    }
    out["regions"] = std::move(regions);
  }
  out["conditions"] = toJson(status.conditions);
  return out;
}

json toJson(const TrafficPolicyStatus& status) {
  json out = json::object();
  out["observedGeneration"] = status.observedGeneration;
  out["activeBackends"] = status.activeBackends;
  putString(out, "message", status.message);
  json backends = json::array();
  for (const auto& b : status.backends) {
    json backend = json::object();
    backend["name"] = b.name;
    backend["weight"] = b.weight;
    backend["healthy"] = b.healthy;
    if (b.errorRate) {
      backend["errorRate"] = *b.errorRate;
    }
    if (b.latencyP99Milliseconds) {
      backend["latencyP99Milliseconds"] = *b.latencyP99Milliseconds;
    }
    if (b.costPerHour) {
      backend["costPerHour"] = formatDecimal(b.costPerHour->micros);
    }
    backend["state"] = b.state;
    if (b.step != 0) {
      backend["step"] = b.step;
    }
    putString(backend, "stepAt", b.stepAt);
    putString(backend, "healthySince", b.healthySince);
    putString(backend, "reason", b.reason);
    backends.push_back(std::move(backend));
  }
  out["backends"] = std::move(backends);
  if (status.decision) {
    json decision = json::object();
    putString(decision, "strategy", status.decision->strategy);
    putString(decision, "decidedAt", status.decision->decidedAt);
    decision["durationMicroseconds"] = status.decision->durationMicroseconds;
    out["decision"] = std::move(decision);
  }
  if (status.shift) {
    json shift = json::object();
    putString(shift, "reason", status.shift->reason);
    putString(shift, "from", status.shift->from);
    putString(shift, "to", status.shift->to);
    putString(shift, "startedAt", status.shift->startedAt);
    shift["step"] = status.shift->step;
    out["shift"] = std::move(shift);
  }
  if (status.estimatedCostPerHour) {
    out["estimatedCostPerHour"] = formatDecimal(status.estimatedCostPerHour->micros);
  }
  out["conditions"] = toJson(status.conditions);
  return out;
}

json toJson(const TierLimitStatus& status) {
  json out = json::object();
  out["observedGeneration"] = status.observedGeneration;
  putString(out, "message", status.message);
  if (status.hpa) {
    json hpa = json::object();
    putString(hpa, "name", status.hpa->name);
    hpa["minReplicas"] = status.hpa->minReplicas;
    putString(hpa, "activeSchedule", status.hpa->activeSchedule);
    putString(hpa, "nextChange", status.hpa->nextChange);
    out["hpa"] = std::move(hpa);
  }
  out["conditions"] = toJson(status.conditions);
  return out;
}

}  // namespace sluice::api
