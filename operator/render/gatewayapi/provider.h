#pragma once

// The gatewayAPI provider: route plans as Gateway API HTTPRoutes, server-side applied with the
// operator's field manager and read from the informer cache (an unchanged route costs no
// request). It owns every HTTPRoute labelled for an owner: routes the plan no longer has are
// deleted, and an HTTPRoute of the same name that belongs to someone else is an error, never
// overwritten.
//
// BackendTrafficPolicy (Envoy Gateway): one per generated HTTPRoute whose plan route has
// resilience settings or rate limits, named after it (backend_traffic_policy.h), owned and
// labelled the same way, applied after the HTTPRoutes and deleted when the route no longer
// wants one. A route has exactly one owner; a kind that contributes to another kind's route
// (a TierLimit's limits, a CanaryRollout split inside a TrafficPolicy backend) does so through
// the owning kind's controller, which reads it from the cache and folds it into its plan. Two
// writers never share one object.
//
// Clusters without Envoy Gateway. The HTTPRoutes are applied first and stay; a plan that wants
// a policy then fails the apply with "BackendTrafficPolicy: the CRD gateway.envoyproxy.io/
// v1alpha1 backendtrafficpolicies is not installed" (the API server answered 404), or "...
// the operator does not watch ..." when the cache has no informer for them (the wiring adds
// one only if the CRD is served when the operator starts: an informer on a missing CRD never
// syncs). The controller reports the message and retries; weights keep moving meanwhile. A
// plan without resilience settings or rate limits needs neither the CRD nor the informer.

#include <string>

#include "operator/kube/client.h"
#include "operator/render/provider.h"

namespace sluice::render::gatewayapi {

// On a BackendTrafficPolicy that carries rate limits: the route plan's engine::RateLimits as
// JSON, so verify() reads back exactly the limits in force.
inline constexpr const char* kRateLimitsAnnotation = "sluice.dev/rate-limits";

class GatewayApiProvider final : public TrafficProvider {
 public:
  // cache: informer-backed reads of HTTPRoutes and BackendTrafficPolicies; writer:
  // server-side apply and delete.
  GatewayApiProvider(kube::Reader& cache, kube::Writer& writer, std::string fieldManager);

  // The cache indexes owned() reads through (cmd/main.cpp keeps them on the informers).
  static std::vector<kube::ResourceIndex> cacheIndexes();

  std::string_view name() const override { return "gatewayAPI"; }
  Expected<ApplyResult, ProviderError> apply(const engine::RoutePlan& plan) override;
  Expected<std::optional<engine::RoutePlan>, ProviderError> verify(
      const engine::Owner& owner) override;
  Expected<void, ProviderError> remove(const engine::Owner& owner) override;
  // HTTPRoutes carry owner references: Kubernetes removes them with a deleted owner.
  std::vector<engine::Owner> owners(std::string_view) override { return {}; }
  // The gateway's own metrics are not known here.
  std::string requestCountQuery(const engine::Owner&, const std::string&,
                                const std::string&) const override {
    return {};
  }

 private:
  // The owner's objects of one resource, from the cache.
  kube::Result<std::vector<kube::Object>> owned(const kube::Resource& resource,
                                                const engine::Owner& owner);
  // Applies `desired` (all the owner's objects of `resource`; each must not belong to another
  // owner) and deletes the owner's others. True when it wrote.
  Expected<bool, ProviderError> sync(const kube::Resource& resource, const engine::Owner& owner,
                                     const std::vector<kube::Object>& desired);

  kube::Reader& cache_;
  kube::Writer& writer_;
  std::string fieldManager_;
};

}  // namespace sluice::render::gatewayapi
