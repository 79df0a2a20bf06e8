#include "operator/controllers/tier_limit_controller.h"

#include <algorithm>

#include "operator/api/conditions.h"
#include "operator/api/parse.h"
#include "operator/common/rfc3339.h"
#include "operator/controllers/indexes.h"
#include "operator/controllers/plan_ops.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/tier_limit_target.h"
#include "operator/engine/rate_limits.h"
#include "operator/engine/traffic_policy_route.h"
#include "operator/kube/apply.h"
#include "operator/render/hpa.h"

namespace sluice::controllers {
namespace {

using namespace std::chrono_literals;

constexpr const char* kKind = "TierLimit";
constexpr const char* kConditionRateLimits = "RateLimitsEnforced";

api::TierLimitStatus statusOf(const kube::Object& object) {
  const auto* status = findPath(object, {"status"});
  if (status == nullptr || !status->is_object()) {
    return {};
  }
  auto parsed = api::parseTierLimitStatus(*status);
  return parsed ? *parsed : api::TierLimitStatus{};
}

bool ownedBy(const kube::Object& object, const std::string& kind, const std::string& name) {
  const auto* refs = findPath(object, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) {
    return false;
  }
  return std::any_of(refs->begin(), refs->end(), [&](const kube::Object& ref) {
    return ref.value("kind", "") == kind && ref.value("name", "") == name;
  });
}

// While a policy's data plane does not run these limits yet: look again this soon.
constexpr std::chrono::milliseconds kRateLimitsRecheck{2000};

}  // namespace

TierLimitReconciler::RateLimitsVerdict TierLimitReconciler::rateLimitsCondition(
    const api::TierLimit& limit, Clock::TimePoint now) {
  const auto& ns = limit.metadata.namespace_;
  auto expected = engine::rateLimitsOf(limit, now, zones_);
  if (!expected) {
    return {api::kConditionFalse, api::kReasonInvalidSpec, expected.error(), false};
  }
  std::vector<std::string> enforcedOn;
  for (std::size_t i = 0; i < limit.spec.targetRefs.size(); ++i) {
    const auto& ref = limit.spec.targetRefs[i];
    const std::string field = "spec.targetRefs[" + std::to_string(i) + "]";
    auto object = deps_.cache->get(resources::trafficPolicies(), {ns, ref.name});
    if (!object) {
      return {api::kConditionFalse, "TargetNotFound",
              field + ".name: TrafficPolicy " + ns + "/" + ref.name + " not found", false};
    }
    auto winner = tierLimitFor(*deps_.cache, ns, ref.name);
    if (winner && winner->metadata.name != limit.metadata.name) {
      return {api::kConditionFalse, "Conflicted",
              field + ": TrafficPolicy " + ref.name + " is limited by TierLimit " +
                  winner->metadata.name + " (created earlier); these limits are not applied to it",
              false};
    }
    auto policy = api::parseTrafficPolicy(*object);
    render::TrafficProvider* provider = policy && deps_.providers != nullptr
                                            ? deps_.providers->find(policy->spec.provider)
                                            : nullptr;
    if (provider == nullptr) {
      // The policy's own status says why; its next change brings this TierLimit back.
      return {api::kConditionFalse, "Pending",
              "TrafficPolicy " + ref.name + " is not valid or names no configured provider", false};
    }
    auto running = provider->verify(engine::ownerOf(*policy));
    if (!running) {
      return {api::kConditionFalse, "Pending",
              "reading TrafficPolicy " + ref.name + "'s route from " +
                  std::string(provider->name()) + ": " + running.error().message,
              true};
    }
    const bool inForce = *running && !(*running)->routes.empty() &&
                         std::all_of((*running)->routes.begin(), (*running)->routes.end(),
                                     [&](const engine::Route& r) {
                                       return r.rateLimits && *r.rateLimits == expected->limits;
                                     });
    if (!inForce) {
      return {api::kConditionFalse, "Pending",
              "TrafficPolicy " + ref.name + "'s " + std::string(provider->name()) +
                  " route does not carry these limits yet",
              true};
    }
    enforcedOn.push_back(ref.name + " (" + std::string(provider->name()) + ")");
  }
  std::string message = "enforced on TrafficPolicy";
  for (std::size_t i = 0; i < enforcedOn.size(); ++i) {
    message += (i == 0 ? " " : ", ") + enforcedOn[i];
  }
  return {api::kConditionTrue, "Enforced", message, false};
}

TierLimitReconciler::TierLimitReconciler(Deps deps, engine::ZoneLoader zones)
    : deps_(deps),
      zones_(zones ? std::move(zones) : engine::systemZones()),
      status_(deps.statusWriter, deps.events, deps.clock) {}

std::vector<kube::ObjectKey> TierLimitReconciler::tierLimitsForHpa(const kube::Object& hpa) {
  const auto key = kube::ObjectKey::of(hpa);
  const std::string target = stringAt(hpa, {"spec", "scaleTargetRef", "name"});
  return indexes::keysReferring(*deps_.cache, resources::tierLimits(),
                                indexes::tierLimitsByWorkload(), key.ns, target);
}

std::vector<kube::ObjectKey> TierLimitReconciler::tierLimitsForPolicy(const kube::Object& policy) {
  const auto key = kube::ObjectKey::of(policy);
  return indexes::keysReferring(*deps_.cache, resources::tierLimits(),
                                indexes::tierLimitsByPolicy(), key.ns, key.name);
}

kube::ReconcileOutcome TierLimitReconciler::reconcile(const kube::ObjectKey& key) {
  const auto& kind = resources::tierLimits();
  auto object = deps_.cache->get(kind, key);
  if (!object) {
    if (object.error().isNotFound()) {
      return kube::ReconcileResult{};  // its HPA goes with it (owner reference)
    }
    return Unexpected(kube::ReconcileError{"reading from cache: " + object.error().describe()});
  }
  if (findPath(*object, {"metadata", "deletionTimestamp"}) != nullptr) {
    return kube::ReconcileResult{};
  }
  std::int64_t generation = 0;
  if (const auto* g = findPath(*object, {"metadata", "generation"}); g && g->is_number()) {
    generation = g->get<std::int64_t>();
  }
  auto limit = api::parseTierLimit(*object);
  if (!limit) {
    return status_.blocked(kind, *object, statusOf(*object), generation, api::kReasonInvalidSpec,
                           limit.error().toString(), std::nullopt);
  }
  if (auto zone = zones_(limit->spec.quotaTimeZone); !zone) {
    // The policy routes on without these limits (its controller leaves them off).
    return status_.blocked(kind, *object, statusOf(*object), generation, api::kReasonInvalidSpec,
                           "spec.quotaTimeZone: " + zone.error(), std::nullopt);
  }
  const auto& spec = limit->spec;
  const auto& ns = limit->metadata.namespace_;
  const api::TierLimitStatus& current = limit->status;
  const auto now = deps_.clock->now();
  api::TierLimitStatus next = current;
  std::vector<StatusReporter::PendingEvent> events;
  next.observedGeneration = generation;
  next.message.clear();

  std::vector<std::string> problems;
  for (std::size_t i = 0; i < spec.targetRefs.size(); ++i) {
    const auto& ref = spec.targetRefs[i];
    if (!deps_.cache->get(resources::trafficPolicies(), {ns, ref.name})) {
      problems.push_back("spec.targetRefs[" + std::to_string(i) + "].name: TrafficPolicy " + ns +
                         "/" + ref.name + " not found");
    }
  }
  std::optional<std::chrono::milliseconds> requeue;
  const char* reason = "HPAApplied";
  if (spec.autoscaling) {
    const auto& a = *spec.autoscaling;
    const std::string name = limit->metadata.name;
    auto floor = engine::scheduleFloor(a.schedules, a.minReplicas, now, zones_);
    if (!floor) {
      return status_.blocked(kind, *object, current, generation, api::kReasonInvalidSpec,
                             floor.error(), std::nullopt);
    }
    // An HPA someone else made for this workload wins: two HPAs on one target fight.
    std::string foreign;
    if (auto hpas = deps_.cache->listIndexed(kube::resources::horizontalPodAutoscalers(), ns,
                                             indexes::hpasByWorkload(),
                                             indexes::ref(ns, a.targetRef.name))) {
      for (const auto& hpa : hpas->items) {
        if (stringAt(hpa, {"spec", "scaleTargetRef", "name"}) == a.targetRef.name &&
            stringAt(hpa, {"spec", "scaleTargetRef", "kind"}) == a.targetRef.kind &&
            !ownedBy(hpa, kKind, name)) {
          foreign = stringAt(hpa, {"metadata", "name"});
        }
      }
    }
    if (!foreign.empty()) {
      reason = "HPAConflict";
      problems.push_back("spec.autoscaling.targetRef: HorizontalPodAutoscaler " + ns + "/" +
                         foreign + ", not made by Sluice, already scales " + a.targetRef.kind +
                         " " + a.targetRef.name + "; it is left alone and none is generated");
      next.hpa.reset();
    } else {
      const engine::Owner owner{api::kApiVersion, kKind, ns, name, limit->metadata.uid};
      auto hpa = render::renderTierLimitHpa(owner, name, a, floor->minReplicas);
      if (!hpa) {
        return status_.blocked(kind, *object, current, generation, api::kReasonInvalidSpec,
                               hpa.error(), std::nullopt);
      }
      if (auto applied = kube::applyIfChanged(*deps_.cache, *deps_.writer,
                                              kube::resources::horizontalPodAutoscalers(), *hpa,
                                              kFieldManager);
          !applied) {
        return Unexpected(kube::ReconcileError{"applying HorizontalPodAutoscaler " + name + ": " +
                                               applied.error().describe()});
      }
      api::HpaStatus h;
      h.name = name;
      h.minReplicas = (*hpa)["spec"]["minReplicas"].get<std::int32_t>();
      h.activeSchedule = floor->activeSchedule;
      if (floor->nextChange) {
        h.nextChange = formatRfc3339(*floor->nextChange);
        requeue = std::chrono::duration_cast<std::chrono::milliseconds>(*floor->nextChange - now);
      }
      if (!current.hpa || current.hpa->minReplicas != h.minReplicas ||
          current.hpa->activeSchedule != h.activeSchedule) {
        events.push_back({kube::EventType::Normal, "ReplicaFloor",
                          "HPA " + name + " minReplicas " + std::to_string(h.minReplicas) +
                              (h.activeSchedule.empty() ? std::string(" (no schedule open)")
                                                        : " (schedule " + h.activeSchedule + ")")});
      }
      next.hpa = std::move(h);
    }
  } else {
    next.hpa.reset();
  }
  if (!next.hpa) {
    // spec.autoscaling removed (or a user's HPA took the workload): the HPA this TierLimit
    // made goes; the garbage collector would only take it with the TierLimit itself.
    const kube::ObjectKey own{ns, limit->metadata.name};
    if (auto hpa = deps_.cache->get(kube::resources::horizontalPodAutoscalers(), own);
        hpa && ownedBy(*hpa, kKind, limit->metadata.name)) {
      if (auto removed = deps_.writer->remove(kube::resources::horizontalPodAutoscalers(), own, {});
          !removed && !removed.error().isNotFound()) {
        return Unexpected(kube::ReconcileError{"deleting HorizontalPodAutoscaler " + own.name +
                                               ": " + removed.error().describe()});
      }
    }
  }
  if (problems.empty()) {
    api::setCondition(
        next.conditions,
        {api::kConditionReady, api::kConditionTrue, reason,
         next.hpa ? "HPA " + next.hpa->name + " in place" : "nothing to generate", "", generation},
        now);
  } else {
    std::string message;
    for (const auto& p : problems) {
      message += (message.empty() ? "" : "; ") + p;
    }
    next.message = message;
    if (reason == std::string("HPAApplied")) {
      reason = "TargetNotFound";
    }
    api::setCondition(next.conditions,
                      {api::kConditionReady, api::kConditionFalse, reason, message, "", generation},
                      now);
  }
  // The limits are carried by each target policy's route (its controller puts them there):
  // enforced once every target's data plane runs exactly these limits.
  const auto enforced = rateLimitsCondition(*limit, now);
  api::setCondition(
      next.conditions,
      {kConditionRateLimits, enforced.status, enforced.reason, enforced.message, "", generation},
      now);
  if (enforced.recheck && !requeue) {
    requeue = kRateLimitsRecheck;
  } else if (enforced.recheck) {
    requeue = std::min(*requeue, kRateLimitsRecheck);
  }
  const auto* before = api::findCondition(current.conditions, api::kConditionReady);
  if (!problems.empty() && (before == nullptr || before->message != next.message)) {
    events.push_back({kube::EventType::Warning, reason, next.message});
  }
  if (auto w = status_.writeThen(kind, *object, current, next, events); !w) {
    return Unexpected(kube::ReconcileError{"writing status: " + w.error().describe()});
  }
  kube::ReconcileResult result;
  if (requeue) {
    result.requeueAfter = std::max<std::chrono::milliseconds>(*requeue, 1ms);
  }
  return result;
}

}  // namespace sluice::controllers
