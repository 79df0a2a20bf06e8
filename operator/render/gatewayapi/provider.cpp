#include "operator/render/gatewayapi/provider.h"

#include <set>

#include "operator/kube/apply.h"
#include "operator/render/gatewayapi/backend_traffic_policy.h"
#include "operator/render/gatewayapi/httproute.h"
#include "operator/render/object_meta.h"
#include "operator/render/rate_limits_json.h"

namespace sluice::render::gatewayapi {
namespace {

std::string crdName(const kube::Resource& resource) {
  return resource.apiVersion() + " " + resource.plural;
}

// A cache without an informer for the resource answers with a Config error: the operator runs
// without that kind (its CRD was not installed when it started).
bool notWatched(const kube::ApiError& error) {
  return error.kind == kube::ApiError::Kind::Config;
}

}  // namespace

GatewayApiProvider::GatewayApiProvider(kube::Reader& cache, kube::Writer& writer,
                                       std::string fieldManager)
    : cache_(cache), writer_(writer), fieldManager_(std::move(fieldManager)) {}

std::vector<kube::ResourceIndex> GatewayApiProvider::cacheIndexes() {
  return {{kube::resources::httpRoutes(), &ownerIndex()},
          {kube::resources::backendTrafficPolicies(), &ownerIndex()}};
}

kube::Result<std::vector<kube::Object>> GatewayApiProvider::owned(const kube::Resource& resource,
                                                                  const engine::Owner& owner) {
  auto list = cache_.listIndexed(resource, owner.namespace_, ownerIndex(), ownerIndexValue(owner));
  if (!list) {
    return Unexpected(list.error());
  }
  return std::move(list->items);
}

Expected<bool, ProviderError> GatewayApiProvider::sync(const kube::Resource& resource,
                                                       const engine::Owner& owner,
                                                       const std::vector<kube::Object>& desired) {
  const std::string& kind = resource.kind;
  bool changed = false;
  std::set<std::string> names;
  for (const auto& object : desired) {
    const std::string name = object["metadata"]["name"];
    const std::string where = kind + " " + owner.namespace_ + "/" + name;
    names.insert(name);
    auto existing = cache_.get(resource, {owner.namespace_, name});
    if (existing) {
      const auto& labels = (*existing)["metadata"].value("labels", kube::Object::object());
      const std::string holder = labels.value(kOwnerLabel, "");
      if (holder != ownerLabelValue(owner)) {
        return Unexpected(ProviderError{
            where + " already exists and belongs to " +
            (holder.empty() ? std::string("someone else (no sluice.dev/owner label)") : holder)});
      }
    } else if (notWatched(existing.error())) {
      return Unexpected(ProviderError{kind + ": the operator does not watch " + crdName(resource) +
                                      " (the CRD was not installed when it started)"});
    } else if (!existing.error().isNotFound()) {
      return Unexpected(ProviderError{"reading " + where + ": " + existing.error().describe()});
    }
    auto applied = kube::applyIfChanged(cache_, writer_, resource, object, fieldManager_);
    if (!applied) {
      // Server-side apply creates what is missing: a 404 means the API server does not serve
      // the resource at all.
      if (applied.error().isNotFound()) {
        return Unexpected(
            ProviderError{kind + ": the CRD " + crdName(resource) + " is not installed"});
      }
      return Unexpected(ProviderError{"applying " + where + ": " + applied.error().describe()});
    }
    changed |= *applied;
  }
  auto objects = owned(resource, owner);
  if (!objects) {
    // Nothing wanted of a kind the operator does not watch: it wrote none either (the apply
    // above refuses without the cache), so there is nothing to delete.
    if (desired.empty() && notWatched(objects.error())) {
      return changed;
    }
    return Unexpected(ProviderError{"listing " + kind + "s: " + objects.error().describe()});
  }
  for (const auto& object : *objects) {
    const auto key = kube::ObjectKey::of(object);
    if (names.count(key.name) != 0) {
      continue;
    }
    if (auto gone = writer_.remove(resource, key); !gone && !gone.error().isNotFound()) {
      return Unexpected(ProviderError{"deleting " + kind + " " + key.str() +
                                      " (no longer planned): " + gone.error().describe()});
    }
    changed = true;
  }
  return changed;
}

Expected<ApplyResult, ProviderError> GatewayApiProvider::apply(const engine::RoutePlan& plan) {
  auto routes = renderHttpRoutes(plan);
  if (!routes) {
    return Unexpected(ProviderError{"HTTPRoute: " + routes.error()});
  }
  // Rendered before anything is written: a plan whose policy cannot be rendered changes
  // nothing. renderHttpRoutes gives one HTTPRoute per plan route, in plan order.
  std::vector<kube::Object> policies;
  for (std::size_t i = 0; i < plan.routes.size(); ++i) {
    const std::string name = (*routes)[i]["metadata"]["name"];
    auto policy = renderBackendTrafficPolicy(plan.owner, plan.routes[i], name);
    if (!policy) {
      return Unexpected(ProviderError{"BackendTrafficPolicy: " + policy.error()});
    }
    if (*policy) {
      if (const auto& limits = plan.routes[i].rateLimits) {
        // What verify() reads back: the rules cannot say the burst, queue or quota day.
        (**policy)["metadata"]["annotations"][kRateLimitsAnnotation] =
            rateLimitsToJson(*limits).dump();
      }
      policies.push_back(std::move(**policy));
    }
  }
  auto routesChanged = sync(kube::resources::httpRoutes(), plan.owner, *routes);
  if (!routesChanged) {
    return Unexpected(routesChanged.error());
  }
  // The HTTPRoutes stand whatever happens to their policies: without the BackendTrafficPolicy
  // CRD they still carry the weights, and the apply fails naming the CRD, so the controller
  // reports what is missing and retries.
  auto policiesChanged = sync(kube::resources::backendTrafficPolicies(), plan.owner, policies);
  if (!policiesChanged) {
    return Unexpected(policiesChanged.error());
  }
  return ApplyResult{*routesChanged || *policiesChanged, 0};
}

Expected<std::optional<engine::RoutePlan>, ProviderError> GatewayApiProvider::verify(
    const engine::Owner& owner) {
  auto objects = owned(kube::resources::httpRoutes(), owner);
  if (!objects) {
    return Unexpected(ProviderError{"listing HTTPRoutes: " + objects.error().describe()});
  }
  if (objects->empty()) {
    return std::optional<engine::RoutePlan>();
  }
  // The rate limits each route's BackendTrafficPolicy carries (none without the CRD).
  std::map<std::string, engine::RateLimits> limits;
  if (auto policies = owned(kube::resources::backendTrafficPolicies(), owner)) {
    for (const auto& policy : *policies) {
      const auto* annotations =
          policy.contains("metadata") && policy["metadata"].contains("annotations")
              ? &policy["metadata"]["annotations"]
              : nullptr;
      if (annotations == nullptr || !annotations->contains(kRateLimitsAnnotation)) {
        continue;
      }
      const auto text = (*annotations)[kRateLimitsAnnotation].get<std::string>();
      auto parsed = nlohmann::json::parse(text, nullptr, false);
      auto decoded =
          parsed.is_discarded()
              ? Expected<engine::RateLimits, std::string>(Unexpected(std::string("not JSON")))
              : rateLimitsFromJson(parsed);
      if (!decoded) {
        return Unexpected(ProviderError{"BackendTrafficPolicy " +
                                        kube::ObjectKey::of(policy).str() + " annotation " +
                                        kRateLimitsAnnotation + ": " + decoded.error()});
      }
      limits[kube::ObjectKey::of(policy).name] = std::move(*decoded);
    }
  }
  engine::RoutePlan plan;
  plan.owner = owner;
  for (const auto& object : *objects) {
    auto route = routeOf(object);
    if (!route) {
      return Unexpected(ProviderError{route.error()});
    }
    if (auto it = limits.find(kube::ObjectKey::of(object).name); it != limits.end()) {
      route->rateLimits = it->second;
    }
    plan.routes.push_back(std::move(*route));
  }
  return std::optional<engine::RoutePlan>(std::move(plan));
}

Expected<void, ProviderError> GatewayApiProvider::remove(const engine::Owner& owner) {
  for (const auto& resource :
       {kube::resources::httpRoutes(), kube::resources::backendTrafficPolicies()}) {
    auto removed = sync(resource, owner, {});
    if (!removed) {
      return Unexpected(removed.error());
    }
  }
  return {};
}

}  // namespace sluice::render::gatewayapi
