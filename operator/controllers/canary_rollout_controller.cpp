#include "operator/controllers/canary_rollout_controller.h"

#include <algorithm>
#include <set>

#include "operator/api/conditions.h"
#include "operator/api/parse.h"
#include "operator/api/status_json.h"
#include "operator/render/gateway_api.h"
#include "operator/render/hpa.h"

namespace sluice::controllers {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace std::chrono_literals;

constexpr seconds kBlockedRetry{5};
constexpr const char* kReasonServiceNotFound = "ServiceNotFound";
constexpr const char* kReasonTrafficProviderError = "TrafficProviderError";
constexpr const char* kReasonUnsupported = "Unsupported";

const kube::Object* findPath(const kube::Object& object, std::initializer_list<const char*> path) {
  const kube::Object* at = &object;
  for (const char* key : path) {
    if (!at->is_object()) {
      return nullptr;
    }
    auto it = at->find(key);
    if (it == at->end()) {
      return nullptr;
    }
    at = &*it;
  }
  return at;
}

std::string stringAt(const kube::Object& object, std::initializer_list<const char*> path) {
  const auto* v = findPath(object, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// Where the data plane reaches a Service: an ExternalName Service names its host directly;
// any other Service is reached through cluster DNS.
render::haproxy::Server serverFor(const kube::Object& service, const api::ServiceRef& ref,
                                  const std::string& ns) {
  render::haproxy::Server server;
  server.port = ref.port;
  if (stringAt(service, {"spec", "type"}) == "ExternalName") {
    server.host = stringAt(service, {"spec", "externalName"});
  } else {
    server.host = ref.name + "." + ns + ".svc.cluster.local";
  }
  return server;
}

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

api::CanaryRolloutStatus statusOf(const kube::Object& object) {
  const auto* status = findPath(object, {"status"});
  if (status == nullptr || !status->is_object()) {
    return {};
  }
  auto parsed = api::parseCanaryRolloutStatus(*status);
  return parsed ? *parsed : api::CanaryRolloutStatus{};
}

}  // namespace

std::string haproxyRouteName(const api::ObjectMeta& rollout) {
  return rollout.namespace_ + "." + rollout.name;
}

CanaryRolloutReconciler::CanaryRolloutReconciler(CanaryRolloutDeps deps) : deps_(deps) {}

void CanaryRolloutReconciler::recordEvent(const kube::Object& regarding, engine::EventType type,
                                          const std::string& reason, const std::string& note) {
  if (deps_.events == nullptr) {
    return;
  }
  // An Event that cannot be written is not worth failing the reconcile for; the recorder
  // logs and counts it.
  (void)deps_.events->record(
      regarding,
      type == engine::EventType::Warning ? kube::EventType::Warning : kube::EventType::Normal,
      reason, reason, note);
}

Expected<void, kube::ApiError> CanaryRolloutReconciler::writeStatus(
    const kube::Object& object, const api::CanaryRolloutStatus& status) {
  kube::Object updated = object;
  updated["status"] = api::toJson(status);
  auto result =
      deps_.statusWriter->updateStatus(kube::resources::canaryRollouts(), updated, {kFieldManager});
  if (!result) {
    return Unexpected(result.error());
  }
  return {};
}

kube::ReconcileOutcome CanaryRolloutReconciler::reportBlocked(
    const kube::Object& object, api::CanaryRolloutStatus status, std::int64_t generation,
    const std::string& reason, const std::string& message,
    std::optional<std::chrono::seconds> retryAfter) {
  const auto before = status;
  const auto now = deps_.clock->now();
  status.observedGeneration = generation;
  status.message = message;
  api::setCondition(status.conditions,
                    {api::kConditionReady, api::kConditionFalse, reason, message, "", generation},
                    now);
  if (status != before) {
    recordEvent(object, engine::EventType::Warning, reason, message);
    if (auto w = writeStatus(object, status); !w) {
      return Unexpected(kube::ReconcileError{"writing status: " + w.error().describe()});
    }
  }
  if (!retryAfter) {
    return Unexpected(kube::ReconcileError{message, true});
  }
  return kube::ReconcileResult{false, *retryAfter};
}

std::string CanaryRolloutReconciler::canaryPodsIdentity(const std::string& ns,
                                                        const kube::Object& canaryService) {
  // A new canary version shows up as pods with a new pod-template-hash or image behind the
  // canary Service; their set is part of the revision, so a new version restarts the rollout.
  const auto* selector = findPath(canaryService, {"spec", "selector"});
  if (selector == nullptr || !selector->is_object() || selector->empty()) {
    return {};
  }
  auto pods = deps_.cache->list(kube::Resource{"", "v1", "pods", "Pod", true}, ns, {});
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

std::string CanaryRolloutReconciler::defaultRequestCountQuery(
    const api::CanaryRollout& rollout) const {
  if (!rollout.spec.route || rollout.spec.route->provider != "haproxy") {
    return {};
  }
  // HAProxy's exporter counts requests per backend; the config names the canary backend
  // "<route>-canary".
  return "sum(increase(haproxy_backend_http_requests_total{proxy=\"" +
         haproxyRouteName(rollout.metadata) + "-canary\"}[{{interval}}]))";
}

std::optional<render::haproxy::CanaryRoute> CanaryRolloutReconciler::haproxyRouteFor(
    const api::CanaryRollout& rollout) {
  if (!rollout.spec.route || rollout.spec.route->provider != "haproxy" ||
      rollout.metadata.deletionTimestamp) {
    return std::nullopt;
  }
  const auto& ns = rollout.metadata.namespace_;
  auto stable = deps_.cache->get(kube::resources::services(), {ns, rollout.spec.stable.name});
  auto canary = deps_.cache->get(kube::resources::services(), {ns, rollout.spec.canary.name});
  if (!stable || !canary) {
    return std::nullopt;  // reported in the rollout's own status
  }
  render::haproxy::CanaryRoute route;
  route.name = haproxyRouteName(rollout.metadata);
  route.hostnames = rollout.spec.route->hostnames;
  route.stable.push_back(serverFor(*stable, rollout.spec.stable, ns));
  route.canary.push_back(serverFor(*canary, rollout.spec.canary, ns));
  if (rollout.spec.stickiness) {
    route.stickinessHeader = rollout.spec.stickiness->header;
  }
  route.match = rollout.spec.match;
  route.weight = rollout.status.canaryWeight;
  return route;
}

Expected<void, std::string> CanaryRolloutReconciler::syncHaproxyRoutes() {
  if (deps_.haproxy == nullptr) {
    return {};
  }
  auto list = deps_.cache->list(kube::resources::canaryRollouts(), "", {});
  if (!list) {
    return Unexpected("listing CanaryRollouts: " + list.error().describe());
  }
  std::vector<render::haproxy::CanaryRoute> routes;
  for (const auto& object : list->items) {
    if (auto rollout = api::parseCanaryRollout(object)) {
      if (auto route = haproxyRouteFor(*rollout)) {
        routes.push_back(std::move(*route));
      }
    }
  }
  return deps_.haproxy->syncRoutes(std::move(routes));
}

CanaryRolloutReconciler::Applied CanaryRolloutReconciler::applyWeight(
    const api::CanaryRollout& rollout, std::int32_t weight) {
  const auto& route = rollout.spec.route;
  if (!route) {
    return {false,
            "spec.trafficPolicyRef: splitting inside a TrafficPolicy backend is not "
            "supported yet; use spec.route"};
  }
  if (route->provider == "haproxy") {
    if (deps_.haproxy == nullptr) {
      return {false,
              "spec.route.provider: haproxy is not configured in this operator "
              "(--haproxy-config)"};
    }
    // The full route set is rebuilt (every rollout decoded) only when this rollout's route is
    // new or changed, or a reload is still pending; otherwise only the weight moves.
    if (auto own = haproxyRouteFor(rollout); !own || !deps_.haproxy->hasRoute(*own)) {
      if (auto s = syncHaproxyRoutes(); !s) {
        return {false, s.error()};
      }
    }
    const auto name = haproxyRouteName(rollout.metadata);
    auto current = deps_.haproxy->appliedWeight(name);
    if (current && *current == weight) {
      return {};
    }
    if (auto set = deps_.haproxy->setWeight(name, weight); !set) {
      return {false, set.error()};
    }
    return {};
  }
  // gatewayAPI: server-side apply the HTTPRoute, skipping the call when the cached route
  // already carries this weight.
  auto desired = render::renderCanaryHttpRoute(rollout.metadata, rollout.spec, weight);
  if (!desired) {
    return {false, "HTTPRoute: " + desired.error()};
  }
  auto existing = deps_.cache->get(kube::resources::httpRoutes(),
                                   {rollout.metadata.namespace_, (*desired)["metadata"]["name"]});
  if (existing && existing->contains("spec") && (*existing)["spec"] == (*desired)["spec"]) {
    return {};
  }
  auto applied =
      deps_.writer->apply(kube::resources::httpRoutes(), *desired, {kFieldManager, true});
  if (!applied) {
    return {false, "applying HTTPRoute: " + applied.error().describe()};
  }
  return {};
}

void CanaryRolloutReconciler::mirrorStableHpa(const kube::Object& object,
                                              const api::CanaryRollout& rollout) {
  const auto& ns = rollout.metadata.namespace_;
  auto hpas = deps_.cache->list(kube::resources::horizontalPodAutoscalers(), ns, {});
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
  auto desired = render::renderCanaryHpa(rollout.metadata, *stable,
                                         {"apps/v1", "Deployment", rollout.spec.canary.name});
  if (!desired) {
    recordEvent(object, engine::EventType::Warning, "HPAMirrorFailed", desired.error());
    return;
  }
  auto existing = deps_.cache->get(kube::resources::horizontalPodAutoscalers(),
                                   {ns, render::canaryHpaName(rollout.metadata)});
  if (existing && existing->contains("spec") && (*existing)["spec"] == (*desired)["spec"]) {
    return;
  }
  if (auto applied = deps_.writer->apply(kube::resources::horizontalPodAutoscalers(), *desired,
                                         {kFieldManager, true});
      !applied) {
    recordEvent(
        object, engine::EventType::Warning, "HPAMirrorFailed",
        "applying " + render::canaryHpaName(rollout.metadata) + ": " + applied.error().describe());
  }
}

kube::ReconcileOutcome CanaryRolloutReconciler::reconcile(const kube::ObjectKey& key) {
  auto object = deps_.cache->get(kube::resources::canaryRollouts(), key);
  if (!object) {
    if (object.error().isNotFound()) {
      // Deleted: its generated objects go with it through ownerReferences; the haproxy route
      // goes when the config is re-rendered without it.
      if (auto s = syncHaproxyRoutes(); !s) {
        return Unexpected(kube::ReconcileError{s.error()});
      }
      return kube::ReconcileResult{};
    }
    return Unexpected(kube::ReconcileError{"reading from cache: " + object.error().describe()});
  }
  const auto now = deps_.clock->now();
  std::int64_t generation = 0;
  if (const auto* g = findPath(*object, {"metadata", "generation"}); g && g->is_number()) {
    generation = g->get<std::int64_t>();
  }
  if (findPath(*object, {"metadata", "deletionTimestamp"}) != nullptr) {
    if (auto s = syncHaproxyRoutes(); !s) {
      return Unexpected(kube::ReconcileError{s.error()});
    }
    return kube::ReconcileResult{};
  }

  auto rollout = api::parseCanaryRollout(*object);
  if (!rollout) {
    return reportBlocked(*object, statusOf(*object), generation, api::kReasonInvalidSpec,
                         rollout.error().toString(), std::nullopt);
  }
  const auto& spec = rollout->spec;
  const auto& ns = rollout->metadata.namespace_;
  const api::CanaryRolloutStatus& current = rollout->status;

  kube::Object canaryService;
  for (const auto* ref : {&spec.stable, &spec.canary}) {
    auto service = deps_.cache->get(kube::resources::services(), {ns, ref->name});
    if (!service) {
      const std::string which = ref == &spec.stable ? "stable" : "canary";
      return reportBlocked(
          *object, current, generation, kReasonServiceNotFound,
          "spec." + which + ".serviceRef: Service " + ns + "/" + ref->name + " not found",
          kBlockedRetry);
    }
    if (ref == &spec.canary) {
      canaryService = std::move(*service);
    }
  }
  if (!spec.route) {
    return reportBlocked(*object, current, generation, kReasonUnsupported,
                         "spec.trafficPolicyRef: splitting inside a TrafficPolicy backend is not "
                         "supported yet; use spec.route",
                         std::nullopt);
  }

  engine::CanaryObservation observation;
  observation.generation = generation;
  observation.canaryRevision = engine::revisionOf(spec, canaryPodsIdentity(ns, canaryService));
  const auto& annotations = rollout->metadata.annotations;
  observation.actions.promote = annotations.contains(engine::kPromoteAnnotation);
  observation.actions.abort = annotations.contains(engine::kAbortAnnotation);
  observation.actions.retry = annotations.contains(engine::kRetryAnnotation);
  const bool analyse = current.phase == api::CanaryPhase::Progressing && !spec.paused &&
                       current.canaryRevision == observation.canaryRevision &&
                       engine::analysisDue(spec, current, now);
  std::optional<std::chrono::steady_clock::time_point> measuredAt;
  if (analyse) {
    observation.analysis =
        runAnalysis(spec, ns, defaultRequestCountQuery(*rollout), *deps_.prometheus, now);
    measuredAt = deps_.clock->steadyNow();
  }

  engine::CanaryPlan plan = engine::decide(spec, current, observation, now);

  // A weight going down is applied first (traffic off a failing canary as early as possible).
  const bool lowering = plan.canaryWeight < current.canaryWeight;
  auto applyAndReport = [&]() -> Applied {
    auto applied = applyWeight(*rollout, plan.canaryWeight);
    if (applied.ok && measuredAt && deps_.metrics != nullptr) {
      const std::chrono::duration<double> latency = deps_.clock->steadyNow() - *measuredAt;
      deps_.metrics->histogramObserve(
          "sluice_canary_decision_seconds",
          "Time from an analysis result to its weight applied in the data plane", {},
          latency.count());
    }
    return applied;
  };
  Applied applied;
  if (lowering) {
    applied = applyAndReport();
  }
  if (!applied.ok) {
    api::setCondition(plan.status.conditions,
                      {api::kConditionReady, api::kConditionFalse, kReasonTrafficProviderError,
                       applied.message, "", generation},
                      now);
  }
  if (plan.status != current) {
    if (auto w = writeStatus(*object, plan.status); !w) {
      // A conflict means the object changed since the cache saw it: the watch brings the new
      // version and the queue retries with backoff.
      return Unexpected(kube::ReconcileError{"writing status: " + w.error().describe()});
    }
  }
  for (const auto& event : plan.events) {
    recordEvent(*object, event.type, event.reason, event.message);
  }
  if (!lowering) {
    applied = applyAndReport();
    if (!applied.ok) {
      auto status = plan.status;
      api::setCondition(status.conditions,
                        {api::kConditionReady, api::kConditionFalse, kReasonTrafficProviderError,
                         applied.message, "", generation},
                        now);
      if (status != plan.status) {
        // Best effort: the error is returned (and retried) either way.
        kube::Object latest = *object;
        if (auto fresh = deps_.statusWriter->getStatus(kube::resources::canaryRollouts(), key)) {
          latest = *fresh;
        }
        (void)writeStatus(latest, status);
      }
    }
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
    if (auto p =
            deps_.writer->patch(kube::resources::canaryRollouts(), key, patch, {kFieldManager});
        !p) {
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
