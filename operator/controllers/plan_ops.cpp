#include "operator/controllers/plan_ops.h"

namespace sluice::controllers {

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

engine::ServiceTarget targetOf(const kube::Object& service, const api::ServiceRef& ref,
                               const std::string& ns) {
  engine::ServiceTarget target{ns, ref.name, ref.port, ""};
  if (stringAt(service, {"spec", "type"}) == "ExternalName") {
    target.externalName = stringAt(service, {"spec", "externalName"});
  }
  return target;
}

Applied applyPlan(const render::Providers& providers, render::TrafficProvider& provider,
                  const engine::RoutePlan& plan) {
  for (auto* other : providers.all()) {
    if (other != &provider) {
      if (auto removed = other->remove(plan.owner); !removed) {
        return {false, removed.error().message, {}};
      }
    }
  }
  auto applied = provider.apply(plan);
  if (!applied) {
    return {false, applied.error().message, {}};
  }
  return {true, "", *applied};
}

kube::ReconcileOutcome removeEverywhere(const render::Providers& providers,
                                        const engine::Owner& owner) {
  for (auto* provider : providers.all()) {
    bool holds = false;
    for (const auto& held : provider->owners(owner.kind)) {
      holds |= held.namespace_ == owner.namespace_ && held.name == owner.name;
    }
    if (!holds) {
      continue;
    }
    if (auto removed = provider->remove(owner); !removed) {
      return Unexpected(kube::ReconcileError{removed.error().message});
    }
  }
  return kube::ReconcileResult{};
}

std::vector<kube::ObjectKey> ownersInDataPlanes(const render::Providers& providers,
                                                std::string_view kind) {
  std::vector<kube::ObjectKey> out;
  for (auto* provider : providers.all()) {
    for (const auto& owner : provider->owners(kind)) {
      out.push_back({owner.namespace_, owner.name});
    }
  }
  return out;
}

}  // namespace sluice::controllers
