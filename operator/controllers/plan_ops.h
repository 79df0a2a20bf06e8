#pragma once

// What every controller that hands route plans to providers does the same way: read fields
// of cached objects, turn a Service into a plan destination, apply a plan to the provider a CR
// names (and take it out of every other), remove an owner's output everywhere, list the owners
// the data planes still carry.

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "operator/api/common.h"
#include "operator/kube/client.h"
#include "operator/kube/controller.h"
#include "operator/render/provider.h"

namespace sluice::controllers {

const kube::Object* findPath(const kube::Object& object, std::initializer_list<const char*> path);
std::string stringAt(const kube::Object& object, std::initializer_list<const char*> path);

// The Service as a route plan destination: an ExternalName Service carries its host.
engine::ServiceTarget targetOf(const kube::Object& service, const api::ServiceRef& ref,
                               const std::string& ns);

struct Applied {
  bool ok = true;
  std::string message;
  render::ApplyResult result;
};

// Applies `plan` to `provider` after removing the owner from every other provider (a CR that
// moved to another provider leaves nothing behind in the one it left).
Applied applyPlan(const render::Providers& providers, render::TrafficProvider& provider,
                  const engine::RoutePlan& plan);

// Removes the owner's output from the providers that hold it themselves; objects with owner
// references (HTTPRoutes) are Kubernetes' garbage collector's to delete.
kube::ReconcileOutcome removeEverywhere(const render::Providers& providers,
                                        const engine::Owner& owner);

// Every owner of `kind` a data plane still carries output for (deleted while no operator ran
// included): reconciled once at start so their output goes.
std::vector<kube::ObjectKey> ownersInDataPlanes(const render::Providers& providers,
                                                std::string_view kind);

}  // namespace sluice::controllers
