#include "operator/render/gatewayapi/provider.h"

#include <set>

#include "operator/kube/apply.h"
#include "operator/render/gatewayapi/httproute.h"
#include "operator/render/object_meta.h"

namespace sluice::render::gatewayapi {

GatewayApiProvider::GatewayApiProvider(kube::Reader& cache, kube::Writer& writer,
                                       std::string fieldManager)
    : cache_(cache), writer_(writer), fieldManager_(std::move(fieldManager)) {}

Expected<std::vector<kube::Object>, ProviderError> GatewayApiProvider::ownedRoutes(
    const engine::Owner& owner) {
  kube::ListOptions options;
  options.labelSelector = ownerSelector(owner);
  auto list = cache_.list(kube::resources::httpRoutes(), owner.namespace_, options);
  if (!list) {
    return Unexpected(ProviderError{"listing HTTPRoutes: " + list.error().describe()});
  }
  return std::move(list->items);
}

Expected<ApplyResult, ProviderError> GatewayApiProvider::apply(const engine::RoutePlan& plan) {
  auto rendered = renderHttpRoutes(plan);
  if (!rendered) {
    return Unexpected(ProviderError{"HTTPRoute: " + rendered.error()});
  }
  ApplyResult result;
  std::set<std::string> names;
  for (const auto& desired : *rendered) {
    const std::string name = desired["metadata"]["name"];
    names.insert(name);
    auto existing = cache_.get(kube::resources::httpRoutes(), {plan.owner.namespace_, name});
    if (existing) {
      const auto& labels = (*existing)["metadata"].value("labels", kube::Object::object());
      const std::string holder = labels.value(kOwnerLabel, "");
      if (holder != ownerLabelValue(plan.owner)) {
        return Unexpected(ProviderError{
            "HTTPRoute " + plan.owner.namespace_ + "/" + name + " already exists and belongs to " +
            (holder.empty() ? std::string("someone else (no sluice.dev/owner label)") : holder)});
      }
    } else if (!existing.error().isNotFound()) {
      return Unexpected(
          ProviderError{"reading HTTPRoute " + name + ": " + existing.error().describe()});
    }
    auto applied = kube::applyIfChanged(cache_, writer_, kube::resources::httpRoutes(), desired,
                                        fieldManager_);
    if (!applied) {
      return Unexpected(
          ProviderError{"applying HTTPRoute " + name + ": " + applied.error().describe()});
    }
    result.topologyChanged |= *applied;
  }
  auto owned = ownedRoutes(plan.owner);
  if (!owned) {
    return Unexpected(owned.error());
  }
  for (const auto& route : *owned) {
    const auto key = kube::ObjectKey::of(route);
    if (names.count(key.name) != 0) {
      continue;
    }
    if (auto gone = writer_.remove(kube::resources::httpRoutes(), key);
        !gone && !gone.error().isNotFound()) {
      return Unexpected(ProviderError{"deleting HTTPRoute " + key.str() +
                                      " (no longer planned): " + gone.error().describe()});
    }
    result.topologyChanged = true;
  }
  return result;
}

Expected<std::optional<engine::RoutePlan>, ProviderError> GatewayApiProvider::verify(
    const engine::Owner& owner) {
  auto owned = ownedRoutes(owner);
  if (!owned) {
    return Unexpected(owned.error());
  }
  if (owned->empty()) {
    return std::optional<engine::RoutePlan>();
  }
  engine::RoutePlan plan;
  plan.owner = owner;
  for (const auto& object : *owned) {
    auto route = routeOf(object);
    if (!route) {
      return Unexpected(ProviderError{route.error()});
    }
    plan.routes.push_back(std::move(*route));
  }
  return std::optional<engine::RoutePlan>(std::move(plan));
}

Expected<void, ProviderError> GatewayApiProvider::remove(const engine::Owner& owner) {
  auto owned = ownedRoutes(owner);
  if (!owned) {
    return Unexpected(owned.error());
  }
  for (const auto& route : *owned) {
    const auto key = kube::ObjectKey::of(route);
    if (auto gone = writer_.remove(kube::resources::httpRoutes(), key);
        !gone && !gone.error().isNotFound()) {
      return Unexpected(
          ProviderError{"deleting HTTPRoute " + key.str() + ": " + gone.error().describe()});
    }
  }
  return {};
}

}  // namespace sluice::render::gatewayapi
