// decideRollout(): a rollout with spec.regions as one decide() per region (see canary.h).

#include <algorithm>

#include "operator/api/conditions.h"
#include "operator/engine/canary.h"  // IWYU pragma: associated

namespace sluice::engine {
namespace {

using api::CanaryPhase;

bool names(const std::vector<std::string>& regions, const std::string& region) {
  return regions.empty() || std::find(regions.begin(), regions.end(), region) != regions.end();
}

CanaryObservation regionObservation(const CanaryObservation& all, const std::string& region) {
  CanaryObservation out;
  out.generation = all.generation;
  out.canaryRevision = all.canaryRevision;
  const auto& a = all.actions;
  const auto& in = all.actionRegions;
  out.actions.promote = a.promote && names(in.promote, region);
  out.actions.abort = a.abort && names(in.abort, region);
  out.actions.retry = a.retry && names(in.retry, region);
  if (auto it = all.regionAnalyses.find(region); it != all.regionAnalyses.end()) {
    out.analysis = it->second;
  }
  return out;
}

std::optional<api::TenantStatus> tenantStatusOf(const api::CanaryRolloutSpec& spec,
                                                const api::CanaryRolloutStatus& status) {
  if (!spec.tenants) {
    return std::nullopt;
  }
  std::int32_t anywhere = status.canaryWeight;
  for (const auto& g : status.regions) {
    anywhere = std::max(anywhere, g.canaryWeight);
  }
  return api::TenantStatus{
      anywhere > 0 ? static_cast<std::int32_t>(spec.tenants->canary.size()) : 0,
      static_cast<std::int32_t>(spec.tenants->stable.size())};
}

bool going(CanaryPhase phase) {
  return phase == CanaryPhase::Pending || phase == CanaryPhase::Progressing ||
         phase == CanaryPhase::Promoting || phase == CanaryPhase::Paused;
}

}  // namespace

api::CanaryRolloutSpec regionSpec(const api::CanaryRolloutSpec& spec, const api::Region& region) {
  api::CanaryRolloutSpec out = spec;
  if (!region.steps.empty()) {
    out.steps = region.steps;
  }
  out.regions.clear();
  return out;
}

api::CanaryRolloutStatus regionStatus(const api::CanaryRolloutStatus& status,
                                      const std::string& region) {
  api::CanaryRolloutStatus out;
  for (const auto& g : status.regions) {
    if (g.name != region) {
      continue;
    }
    out.observedGeneration = status.observedGeneration;
    out.canaryRevision = status.canaryRevision;
    out.phase = g.phase;
    out.currentStep = g.currentStep;
    out.canaryWeight = g.canaryWeight;
    out.stepStartedAt = g.stepStartedAt;
    out.message = g.message;
    out.analysis = g.analysis;
  }
  return out;
}

CanaryPlan decideRollout(const api::CanaryRolloutSpec& spec,
                         const api::CanaryRolloutStatus& current,
                         const CanaryObservation& observation, TimePoint now) {
  if (spec.regions.empty()) {
    CanaryPlan plan = decide(spec, current, observation, now);
    plan.status.regions.clear();
    plan.status.tenants = tenantStatusOf(spec, plan.status);
    return plan;
  }
  std::vector<CanaryPlan> plans;
  std::vector<api::CanaryRolloutStatus> before;
  for (const auto& g : spec.regions) {
    before.push_back(regionStatus(current, g.name));
    plans.push_back(
        decide(regionSpec(spec, g), before.back(), regionObservation(observation, g.name), now));
  }
  // The first region that rolled back in this call: its reason is the rollout's.
  std::string rollbackReason;
  std::string firstRolledBack;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (plans[i].status.phase == CanaryPhase::RolledBack &&
        before[i].phase != CanaryPhase::RolledBack) {
      const auto* ready = api::findCondition(plans[i].status.conditions, api::kConditionReady);
      rollbackReason = ready != nullptr ? ready->reason : "RolledBack";
      firstRolledBack = spec.regions[i].name;
      break;
    }
  }
  if (!firstRolledBack.empty() && spec.regionRollback == api::RegionRollback::All) {
    for (std::size_t i = 0; i < plans.size(); ++i) {
      if (plans[i].status.phase == CanaryPhase::RolledBack) {
        continue;
      }
      auto forced = regionObservation(observation, spec.regions[i].name);
      forced.forcedRollback =
          "region " + firstRolledBack + " rolled back and spec.regionRollback is All";
      plans[i] = decide(regionSpec(spec, spec.regions[i]), before[i], forced, now);
    }
  }

  CanaryPlan out;
  api::CanaryRolloutStatus& status = out.status;
  status = current;
  status.observedGeneration = observation.generation;
  status.canaryRevision = observation.canaryRevision;
  status.analysis = {};
  status.stepStartedAt.clear();
  status.regions.clear();
  status.message.clear();
  bool anyGoing = false;
  bool anyPaused = false;
  bool allSucceeded = true;
  std::string rolledBack;
  status.canaryWeight = 100;
  status.currentStep = 0;
  bool first = true;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& name = spec.regions[i].name;
    const auto& s = plans[i].status;
    status.regions.push_back(
        {name, s.phase, s.currentStep, s.canaryWeight, s.stepStartedAt, s.message, s.analysis});
    status.canaryWeight = std::min(status.canaryWeight, s.canaryWeight);
    status.currentStep = first ? s.currentStep : std::min(status.currentStep, s.currentStep);
    first = false;
    anyGoing |= going(s.phase);
    anyPaused |= s.phase == CanaryPhase::Paused;
    allSucceeded &= s.phase == CanaryPhase::Succeeded;
    if (s.phase == CanaryPhase::RolledBack) {
      rolledBack += (rolledBack.empty() ? "" : ", ") + name;
    }
    status.message += (status.message.empty() ? "" : "; ") + name + ": " + s.message;
    for (const auto& e : plans[i].events) {
      out.events.push_back({e.type, e.reason, "region " + name + ": " + e.message});
    }
    for (const auto& a : plans[i].consumedAnnotations) {
      if (std::find(out.consumedAnnotations.begin(), out.consumedAnnotations.end(), a) ==
          out.consumedAnnotations.end()) {
        out.consumedAnnotations.push_back(a);
      }
    }
    if (plans[i].requeueAfter) {
      out.requeueAfter = out.requeueAfter ? std::min(*out.requeueAfter, *plans[i].requeueAfter)
                                          : *plans[i].requeueAfter;
    }
  }
  // Every action present is consumed even when it named no region of this rollout.
  const auto& a = observation.actions;
  const auto& in = observation.actionRegions;
  const std::pair<bool, std::pair<const char*, const std::vector<std::string>*>> actions[] = {
      {a.promote, {kPromoteAnnotation, &in.promote}},
      {a.abort, {kAbortAnnotation, &in.abort}},
      {a.retry, {kRetryAnnotation, &in.retry}}};
  for (const auto& [present, what] : actions) {
    if (!present) {
      continue;
    }
    if (std::find(out.consumedAnnotations.begin(), out.consumedAnnotations.end(), what.first) ==
        out.consumedAnnotations.end()) {
      out.consumedAnnotations.emplace_back(what.first);
    }
    for (const auto& named : *what.second) {
      if (std::none_of(spec.regions.begin(), spec.regions.end(),
                       [&](const api::Region& g) { return g.name == named; })) {
        out.events.push_back({EventType::Warning, "UnknownRegion",
                              std::string(what.first) + " names region \"" + named +
                                  "\", which is not in spec.regions; ignored"});
      }
    }
  }
  status.phase = anyPaused      ? CanaryPhase::Paused
                 : anyGoing     ? CanaryPhase::Progressing
                 : allSucceeded ? CanaryPhase::Succeeded
                                : CanaryPhase::RolledBack;
  const std::string degradedWhy = rolledBack.empty() ? "" : "rolled back in " + rolledBack;
  if (status.phase == CanaryPhase::RolledBack && rollbackReason.empty() &&
      current.phase != CanaryPhase::RolledBack) {
    rollbackReason = "RegionRolledBack";  // the last region still going has just finished
  }
  setRolloutConditions(status, observation.generation,
                       status.phase == CanaryPhase::RolledBack ? rollbackReason : "", degradedWhy,
                       now);
  status.tenants = tenantStatusOf(spec, status);
  out.canaryWeight = std::clamp(status.canaryWeight, 0, 100);
  return out;
}

}  // namespace sluice::engine
