#include "operator/controllers/canary_rollout_controller.h"

#include <algorithm>
#include <set>

#include "operator/api/conditions.h"
#include "operator/api/parse.h"
#include "operator/controllers/indexes.h"
#include "operator/controllers/plan_ops.h"
#include "operator/controllers/resources.h"
#include "operator/engine/canary_route.h"
#include "operator/engine/traffic_policy_route.h"
#include "operator/kube/apply.h"
#include "operator/render/hpa.h"

namespace sluice::controllers {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace std::chrono_literals;

constexpr const char* kReasonServiceNotFound = "ServiceNotFound";
constexpr const char* kReasonTrafficProviderError = "TrafficProviderError";
constexpr const char* kReasonTrafficPolicyNotFound = "TrafficPolicyNotFound";

bool selectorMatches(const kube::Object& selector, const kube::Object& labels) {
  if (!selector.is_object() || selector.empty()) {
    return false;
  }
  for (const auto& [key, value] : selector.items()) {
    auto it = labels.find(key);
    if (it == labels.end() || *it != value) {
      return false;
    }
  }
  return true;
}

// An action annotation's value as region names: "eu-west, us-east" -> both; "", "true" and
// "all" -> every region (empty).
std::vector<std::string> regionsNamed(const std::string& value) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto comma = value.find(',', pos);
    if (comma == std::string::npos) {
      comma = value.size();
    }
    std::string part = value.substr(pos, comma - pos);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty() && part != "true" && part != "all") {
      out.push_back(std::move(part));
    }
    pos = comma + 1;
  }
  return out;
}

api::CanaryRolloutStatus statusOf(const kube::Object& object) {
  const auto* status = findPath(object, {"status"});
  if (status == nullptr || !status->is_object()) {
    return {};
  }
  auto parsed = api::parseCanaryRolloutStatus(*status);
  return parsed ? *parsed : api::CanaryRolloutStatus{};
}

}  // namespace

CanaryRolloutReconciler::CanaryRolloutReconciler(CanaryRolloutDeps deps)
    : deps_(deps), status_(deps.statusWriter, deps.events, deps.clock) {}

void CanaryRolloutReconciler::recordEvent(const kube::Object& regarding, engine::EventType type,
                                          const std::string& reason, const std::string& note) {
  status_.event(
      regarding,
      type == engine::EventType::Warning ? kube::EventType::Warning : kube::EventType::Normal,
      reason, note);
}

void CanaryRolloutReconciler::countRollback(const kube::ObjectKey& key,
                                            const api::CanaryRolloutStatus& current,
                                            const api::CanaryRolloutStatus& next) {
  if (deps_.metrics == nullptr) {
    return;
  }
  const auto count = [&](const std::string& reason) {
    deps_.metrics->counterAdd("sluice_canary_rollbacks_total",
                              "Rollbacks of a CanaryRollout (or of one of its regions) by reason",
                              {{"name", key.name}, {"namespace", key.ns}, {"reason", reason}});
  };
  if (next.phase == api::CanaryPhase::RolledBack && current.phase != api::CanaryPhase::RolledBack) {
    const auto* ready = api::findCondition(next.conditions, api::kConditionReady);
    count(ready != nullptr ? ready->reason : "RolledBack");
    return;
  }
  for (const auto& region : next.regions) {
    if (region.phase == api::CanaryPhase::RolledBack &&
        engine::regionStatus(current, region.name).phase != api::CanaryPhase::RolledBack) {
      count("RegionRolledBack");
    }
  }
}

std::string CanaryRolloutReconciler::canaryPodsIdentity(const std::string& ns,
                                                        const kube::Object& canaryService) {
  // A new canary version shows up as pods with a new pod-template-hash or image behind the
  // canary Service; their set is part of the revision, so a new version restarts the rollout.
  const auto* selector = findPath(canaryService, {"spec", "selector"});
  if (selector == nullptr || !selector->is_object() || selector->empty()) {
    return {};
  }
  // The pods carrying the selector's first label, then the rest of it matched.
  const auto& first = *selector->begin();
  if (!first.is_string()) {
    return {};
  }
  auto pods = deps_.cache->listIndexed(
      kube::resources::pods(), ns, indexes::podsByLabel(),
      indexes::label(ns, selector->begin().key(), first.get<std::string>()));
  if (!pods) {
    return {};
  }
  std::set<std::string> identity;
  for (const auto& pod : pods->items) {
    const auto* labels = findPath(pod, {"metadata", "labels"});
    if (labels == nullptr || !selectorMatches(*selector, *labels)) {
      continue;
    }
    if (auto hash = labels->find("pod-template-hash"); hash != labels->end() && hash->is_string()) {
      identity.insert("hash=" + hash->get<std::string>());
    }
    if (const auto* containers = findPath(pod, {"spec", "containers"});
        containers != nullptr && containers->is_array()) {
      for (const auto& c : *containers) {
        identity.insert("image=" + c.value("image", ""));
      }
    }
  }
  std::string out;
  for (const auto& part : identity) {
    out += part + ";";
  }
  return out;
}

std::vector<kube::ObjectKey> CanaryRolloutReconciler::rolloutsUsingService(
    const kube::Object& service) {
  const auto key = kube::ObjectKey::of(service);
  return indexes::keysReferring(*deps_.cache, resources::canaryRollouts(),
                                indexes::rolloutsByService(), key.ns, key.name);
}

std::vector<kube::ObjectKey> CanaryRolloutReconciler::rolloutsUsingPolicy(
    const kube::Object& policy) {
  const auto key = kube::ObjectKey::of(policy);
  return indexes::keysReferring(*deps_.cache, resources::canaryRollouts(),
                                indexes::rolloutsByPolicy(), key.ns, key.name);
}

std::vector<kube::ObjectKey> CanaryRolloutReconciler::ownersInDataPlanes() {
  return controllers::ownersInDataPlanes(*deps_.providers, "CanaryRollout");
}

void CanaryRolloutReconciler::mirrorStableHpa(const kube::Object& object,
                                              const api::CanaryRollout& rollout) {
  const auto& ns = rollout.metadata.namespace_;
  auto hpas = deps_.cache->listIndexed(kube::resources::horizontalPodAutoscalers(), ns,
                                       indexes::hpasByWorkload(),
                                       indexes::ref(ns, rollout.spec.stable.name));
  if (!hpas) {
    recordEvent(object, engine::EventType::Warning, "HPAMirrorFailed",
                "listing HorizontalPodAutoscalers: " + hpas.error().describe());
    return;
  }
  const kube::Object* stable = nullptr;
  for (const auto& hpa : hpas->items) {
    if (stringAt(hpa, {"spec", "scaleTargetRef", "name"}) == rollout.spec.stable.name) {
      stable = &hpa;
      break;
    }
  }
  if (stable == nullptr) {
    recordEvent(object, engine::EventType::Warning, "StableHPANotFound",
                "spec.autoscaling.mirrorStableHPA: no HorizontalPodAutoscaler in " + ns +
                    " scales " + rollout.spec.stable.name);
    return;
  }
  const std::string name = rollout.metadata.name + "-canary";
  auto desired = render::renderMirroredHpa(engine::ownerOf(rollout), name, *stable,
                                           {"apps/v1", "Deployment", rollout.spec.canary.name});
  if (!desired) {
    recordEvent(object, engine::EventType::Warning, "HPAMirrorFailed", desired.error());
    return;
  }
  if (auto applied = kube::applyIfChanged(*deps_.cache, *deps_.writer,
                                          kube::resources::horizontalPodAutoscalers(), *desired,
                                          kFieldManager);
      !applied) {
    recordEvent(object, engine::EventType::Warning, "HPAMirrorFailed",
                "applying " + name + ": " + applied.error().describe());
  }
}

kube::ReconcileOutcome CanaryRolloutReconciler::reconcile(const kube::ObjectKey& key) {
  const auto& kind = resources::canaryRollouts();
  engine::Owner gone{api::kApiVersion, "CanaryRollout", key.ns, key.name, ""};
  auto object = deps_.cache->get(kind, key);
  if (!object) {
    if (object.error().isNotFound()) {
      // Deleted: generated Kubernetes objects go with it through ownerReferences; the
      // providers drop whatever else they carry for it.
      return controllers::removeEverywhere(*deps_.providers, gone);
    }
    return Unexpected(kube::ReconcileError{"reading from cache: " + object.error().describe()});
  }
  if (findPath(*object, {"metadata", "deletionTimestamp"}) != nullptr) {
    return controllers::removeEverywhere(*deps_.providers, gone);
  }
  const auto now = deps_.clock->now();
  std::int64_t generation = 0;
  if (const auto* g = findPath(*object, {"metadata", "generation"}); g && g->is_number()) {
    generation = g->get<std::int64_t>();
  }

  auto rollout = api::parseCanaryRollout(*object);
  if (!rollout) {
    return status_.blocked(kind, *object, statusOf(*object), generation, api::kReasonInvalidSpec,
                           rollout.error().toString(), std::nullopt);
  }
  const auto& spec = rollout->spec;
  const auto& ns = rollout->metadata.namespace_;
  const api::CanaryRolloutStatus& current = rollout->status;

  // A missing Service is not polled: the manager maps Service events to the rollouts that
  // name them, so the one that appears triggers this reconcile.
  std::optional<kube::Object> services[2];
  for (int i = 0; i < 2; ++i) {
    const auto& ref = i == 0 ? spec.stable : spec.canary;
    auto service = deps_.cache->get(kube::resources::services(), {ns, ref.name});
    if (!service) {
      return status_.blocked(kind, *object, current, generation, kReasonServiceNotFound,
                             std::string("spec.") + (i == 0 ? "stable" : "canary") +
                                 ".serviceRef: Service " + ns + "/" + ref.name + " not found",
                             std::nullopt);
    }
    services[i] = std::move(*service);
  }
  // Where the canary's traffic is split: its own route (spec.route), or one backend of a
  // TrafficPolicy's route (spec.trafficPolicyRef), which stays the policy's to write: this
  // rollout only decides the percent, and the policy's controller carries it.
  std::string providerName = spec.route ? spec.route->provider : "";
  engine::Owner dataOwner = engine::ownerOf(*rollout);
  std::string routeName = rollout->metadata.name;
  std::string canaryDestination = engine::kCanaryDestination;
  if (spec.trafficPolicyRef) {
    const auto& ref = *spec.trafficPolicyRef;
    auto policyObject = deps_.cache->get(resources::trafficPolicies(), {ns, ref.name});
    if (!policyObject) {
      return status_.blocked(
          kind, *object, current, generation, kReasonTrafficPolicyNotFound,
          "spec.trafficPolicyRef.name: TrafficPolicy " + ns + "/" + ref.name + " not found",
          std::nullopt);
    }
    auto policy = api::parseTrafficPolicy(*policyObject);
    if (!policy) {
      return status_.blocked(kind, *object, current, generation, kReasonTrafficPolicyNotFound,
                             "spec.trafficPolicyRef.name: TrafficPolicy " + ns + "/" + ref.name +
                                 " is invalid: " + policy.error().toString(),
                             std::nullopt);
    }
    std::string names;
    for (const auto& b : policy->spec.backends) {
      names += (names.empty() ? "" : ", ") + b.name;
    }
    auto hasBackend = [&](const std::string& name) {
      return std::any_of(policy->spec.backends.begin(), policy->spec.backends.end(),
                         [&](const api::Backend& b) { return b.name == name; });
    };
    std::vector<std::pair<std::string, std::string>> wanted;  // field path, backend
    if (spec.regions.empty()) {
      wanted.emplace_back("spec.trafficPolicyRef.backend", ref.backend);
    }
    for (std::size_t i = 0; i < spec.regions.size(); ++i) {
      const auto& g = spec.regions[i];
      wanted.emplace_back(
          "spec.regions[" + std::to_string(i) + "]." + (g.backend.empty() ? "name" : "backend"),
          g.policyBackend());
    }
    for (const auto& [field, backend] : wanted) {
      if (!hasBackend(backend)) {
        return status_.blocked(kind, *object, current, generation, api::kReasonInvalidSpec,
                               field + ": " + backend + " is not a backend of TrafficPolicy " +
                                   ref.name + " (" + names + ")",
                               std::nullopt);
      }
    }
    providerName = policy->spec.provider;
    dataOwner = engine::ownerOf(*policy);
    routeName = policy->metadata.name;
    canaryDestination = engine::canaryDestinationOf(ref.backend);
  }
  // A region's canary Service (trafficPolicyRef) must exist like spec.canary's.
  for (std::size_t i = 0; i < spec.regions.size(); ++i) {
    if (const auto& c = spec.regions[i].canary;
        c && !deps_.cache->get(kube::resources::services(), {ns, c->name})) {
      return status_.blocked(kind, *object, current, generation, kReasonServiceNotFound,
                             "spec.regions[" + std::to_string(i) + "].canary.serviceRef: Service " +
                                 ns + "/" + c->name + " not found",
                             std::nullopt);
    }
  }
  render::TrafficProvider* provider = deps_.providers->find(providerName);
  if (provider == nullptr) {
    return status_.blocked(
        kind, *object, current, generation, kReasonTrafficProviderError,
        std::string(spec.route ? "spec.route.provider: " : "the TrafficPolicy's spec.provider: ") +
            providerName +
            " is not configured in this operator (configured: " + deps_.providers->names() + ")",
        std::nullopt);
  }
  const auto stableTarget = targetOf(*services[0], spec.stable, ns);
  const auto canaryTarget = targetOf(*services[1], spec.canary, ns);

  engine::CanaryObservation observation;
  observation.generation = generation;
  observation.canaryRevision = engine::revisionOf(spec, canaryPodsIdentity(ns, *services[1]));
  const auto& annotations = rollout->metadata.annotations;
  auto action = [&](const char* annotation, bool& set, std::vector<std::string>& regions) {
    auto it = annotations.find(annotation);
    set = it != annotations.end();
    if (set && !spec.regions.empty()) {
      regions = regionsNamed(it->second);
    }
  };
  action(engine::kPromoteAnnotation, observation.actions.promote,
         observation.actionRegions.promote);
  action(engine::kAbortAnnotation, observation.actions.abort, observation.actionRegions.abort);
  action(engine::kRetryAnnotation, observation.actions.retry, observation.actionRegions.retry);
  // While the data plane refuses the last weight, the canary is not measured (what it served
  // is unknown) and nothing moves forward: the reconcile only retries the weight, so a dead
  // gateway costs one status write, not one per analysis.
  const auto* ready = api::findCondition(current.conditions, api::kConditionReady);
  const bool lastApplyFailed = ready != nullptr && ready->reason == kReasonTrafficProviderError;
  const bool mayAnalyse =
      !lastApplyFailed && !spec.paused && current.canaryRevision == observation.canaryRevision;
  std::optional<std::chrono::steady_clock::time_point> measuredAt;
  if (mayAnalyse && spec.regions.empty() && current.phase == api::CanaryPhase::Progressing &&
      engine::analysisDue(spec, current, now)) {
    observation.analysis =
        runAnalysis(spec, ns, provider->requestCountQuery(dataOwner, routeName, canaryDestination),
                    *deps_.prometheus, now);
    measuredAt = deps_.clock->steadyNow();
  }
  for (const auto& g : spec.regions) {
    // Each region is measured on its own: {{region}} in the queries, and the provider's
    // request count of the region's canary destination.
    const auto regional = engine::regionStatus(current, g.name);
    if (!mayAnalyse || regional.phase != api::CanaryPhase::Progressing ||
        !engine::analysisDue(engine::regionSpec(spec, g), regional, now)) {
      continue;
    }
    const std::string destination = spec.trafficPolicyRef
                                        ? engine::canaryDestinationOf(g.policyBackend())
                                        : engine::regionCanaryDestination(g.name);
    observation.regionAnalyses[g.name] =
        runAnalysis(spec, ns, provider->requestCountQuery(dataOwner, routeName, destination),
                    *deps_.prometheus, now, &g);
    measuredAt = deps_.clock->steadyNow();
  }

  engine::CanaryPlan plan = engine::decideRollout(spec, current, observation, now);
  const auto routePlan = engine::canaryRoutePlan(*rollout, plan.status, stableTarget, canaryTarget);
  auto apply = [&](const engine::RoutePlan& handed) -> Applied {
    if (spec.trafficPolicyRef) {
      // The policy carries the split; a route this rollout had of its own goes.
      for (auto* p : deps_.providers->all()) {
        if (auto removed = p->remove(handed.owner); !removed) {
          return {false, removed.error().message, {}};
        }
      }
      return {};
    }
    auto applied = controllers::applyPlan(*deps_.providers, *provider, handed);
    if (applied.ok && measuredAt && deps_.metrics != nullptr) {
      const std::chrono::duration<double> latency = deps_.clock->steadyNow() - *measuredAt;
      deps_.metrics->histogramObserve(
          "sluice_canary_decision_seconds",
          "Time from an analysis result to its weight applied in the data plane", {},
          latency.count());
    }
    return applied;
  };
  auto withProviderError = [&](api::CanaryRolloutStatus status, const std::string& message) {
    api::setCondition(status.conditions,
                      {api::kConditionReady, api::kConditionFalse, kReasonTrafficProviderError,
                       message, "", generation},
                      now);
    return status;
  };

  // A weight going up is applied after status records the step (a restart never finds the
  // data plane ahead of status). If the last apply failed, the weight status records is applied
  // again first, never the raised one: a provider keeps the intent it was handed (HAProxy's map
  // file), so a gateway restarted meanwhile would come up on a step status does not record.
  // Once the data plane takes the recorded weight, the step goes status-first as usual. Any
  // other plan is applied first (traffic off a failing canary as early as possible). Either way
  // status is written at most once.
  bool raising = plan.canaryWeight > current.canaryWeight;
  for (const auto& g : plan.status.regions) {
    raising |= g.canaryWeight > engine::regionWeight(current, g.name);
  }
  Applied applied;
  api::CanaryRolloutStatus next = plan.status;
  if (raising && lastApplyFailed) {
    applied = apply(engine::canaryRoutePlan(*rollout, current, stableTarget, canaryTarget));
    if (!applied.ok) {
      next = withProviderError(current, applied.message);
    }
  } else if (!raising) {
    applied = apply(routePlan);
    if (!applied.ok) {
      next = withProviderError(plan.status, applied.message);
    }
  }
  const bool statusFirst = raising && applied.ok;
  if (auto w = status_.write(kind, *object, current, next); !w) {
    return Unexpected(kube::ReconcileError{"writing status: " + w.error().describe()});
  }
  if (applied.ok || !raising) {  // the plan's status was written: its Events go with it
    for (const auto& event : plan.events) {
      recordEvent(*object, event.type, event.reason, event.message);
    }
    countRollback(key, current, next);
  }
  if (statusFirst) {
    // A failure here is reported in status by the next reconcile (the queue's backoff).
    applied = apply(routePlan);
  }
  if (!applied.ok) {
    return Unexpected(kube::ReconcileError{applied.message});
  }
  if (spec.autoscaling.mirrorStableHPA) {
    mirrorStableHpa(*object, *rollout);
  }
  if (!plan.consumedAnnotations.empty()) {
    kube::Object patch = {{"metadata", {{"annotations", kube::Object::object()}}}};
    for (const auto& annotation : plan.consumedAnnotations) {
      patch["metadata"]["annotations"][annotation] = nullptr;
    }
    if (auto p = deps_.writer->patch(kind, key, patch, {kFieldManager}); !p) {
      return Unexpected(
          kube::ReconcileError{"removing consumed annotations: " + p.error().describe()});
    }
  }
  kube::ReconcileResult result;
  if (plan.requeueAfter) {
    // Zero means "now": go back through the queue (without the error backoff) rather than
    // loop in this worker.
    result.requeueAfter = std::max<std::chrono::nanoseconds>(*plan.requeueAfter, 1ms);
  }
  return result;
}

}  // namespace sluice::controllers
