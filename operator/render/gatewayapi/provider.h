#pragma once

// The gatewayAPI provider: route plans as Gateway API HTTPRoutes, server-side applied with the
// operator's field manager and read from the informer cache (an unchanged route costs no
// request). It owns every HTTPRoute labelled for an owner: routes the plan no longer has are
// deleted, and an HTTPRoute of the same name that belongs to someone else is an error, never
// overwritten.
//
// BackendTrafficPolicy (Envoy Gateway), decided here so the kinds to come fit: one per
// generated HTTPRoute, named after it, rendered from the same owner's plan (the route's
// limits and health settings). A route has exactly one owner; a kind that contributes to
// another kind's route (a TierLimit's limits, a CanaryRollout split inside a TrafficPolicy
// backend) does so through the owning kind's controller, which reads it from the cache and
// folds it into its plan. Two writers never share one object.

#include <string>

#include "operator/kube/client.h"
#include "operator/render/provider.h"

namespace sluice::render::gatewayapi {

class GatewayApiProvider final : public TrafficProvider {
 public:
  // cache: informer-backed reads of HTTPRoutes; writer: server-side apply and delete.
  GatewayApiProvider(kube::Reader& cache, kube::Writer& writer, std::string fieldManager);

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
  Expected<std::vector<kube::Object>, ProviderError> ownedRoutes(const engine::Owner& owner);

  kube::Reader& cache_;
  kube::Writer& writer_;
  std::string fieldManager_;
};

}  // namespace sluice::render::gatewayapi
