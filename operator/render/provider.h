#pragma once

// A traffic provider carries route plans (engine/route_plan.h) into one kind of data plane and
// owns everything it writes there. One folder per provider (gatewayapi/, haproxy/), all behind
// this interface; providers are built where the program is wired (cmd/), and controllers find
// them by the name a CR gives (spec.route.provider) without naming any of them.
//
// Every call is keyed by the plan's owner (kind/namespace/name), so the plans of many owners
// and of different kinds live side by side in one data plane: applying one owner's plan never
// touches another's output.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/expected.h"
#include "operator/engine/route_plan.h"

namespace sluice::render {

struct ProviderError {
  std::string message;
};

struct ApplyResult {
  bool topologyChanged = false;  // routes, rules or destinations were (re)written
  int weightsChanged = 0;        // destination weights moved without a topology change
};

// PromQL templates for one destination, from the metrics a data plane exports; "{{interval}}"
// is the rate window. Empty: the data plane exports nothing for it.
struct DestinationQueries {
  std::string errorRate;               // failed / all requests, 0..1
  std::string latencyP99Milliseconds;  // or the closest the data plane exports (documented)
  std::string requestsPerSecond;
  std::string up;  // 1 while the gateway's health checks pass, else 0
};

// Requests and 429 refusals of one tier of an owner's rate limits, counted by the data plane
// since it last started.
struct TierCounts {
  std::string tier;
  std::uint64_t requests = 0;
  std::uint64_t rejected = 0;

  friend bool operator==(const TierCounts&, const TierCounts&) = default;
};

class TrafficProvider {
 public:
  virtual ~TrafficProvider() = default;

  // The name CRs use to pick this provider ("gatewayAPI", "haproxy").
  virtual std::string_view name() const = 0;

  // Makes the data plane carry `plan` for its owner. Idempotent: an unchanged plan costs no
  // write. Topology and weights are separate operations inside: a plan that differs only in
  // weights moves weights (no reconfiguration where the data plane allows it). Errors name the
  // route, the object or the socket that failed.
  virtual Expected<ApplyResult, ProviderError> apply(const engine::RoutePlan& plan) = 0;

  // What the data plane runs now for this owner, read back from it (not from memory);
  // nullopt when it carries nothing for the owner.
  virtual Expected<std::optional<engine::RoutePlan>, ProviderError> verify(
      const engine::Owner& owner) = 0;

  // Removes the owner's output. Nothing to remove is not an error.
  virtual Expected<void, ProviderError> remove(const engine::Owner& owner) = 0;

  // Owners of `kind` this provider holds output for, including owners deleted while no
  // operator ran; controllers reconcile them once at start so their output goes. Providers
  // whose output Kubernetes garbage-collects through owner references may return none.
  virtual std::vector<engine::Owner> owners(std::string_view kind) = 0;

  // A PromQL expression for the requests one destination of an owner's route served over
  // "{{interval}}", from the metrics this data plane exports; empty when it exports none.
  virtual std::string requestCountQuery(const engine::Owner& owner, const std::string& route,
                                        const std::string& destination) const = 0;

  // The built-in queries a TrafficPolicy falls back on when its spec.metrics.queries leave
  // one empty.
  virtual DestinationQueries destinationQueries(const engine::Owner& /*owner*/,
                                                const std::string& /*route*/,
                                                const std::string& /*destination*/) const {
    return {};
  }

  // Requests and refusals per tier of the owner's rate limits, summed over its routes, when
  // this data plane counts them where the operator can read them; none otherwise (Envoy
  // Gateway's rate limit service exports its own statistics).
  virtual Expected<std::vector<TierCounts>, ProviderError> rateLimitCounts(
      const engine::Owner& /*owner*/) {
    return std::vector<TierCounts>{};
  }
};

// The providers this operator runs, by name.
class Providers {
 public:
  void add(std::unique_ptr<TrafficProvider> provider);
  // nullptr when no provider of that name is configured.
  TrafficProvider* find(std::string_view name) const;
  std::vector<TrafficProvider*> all() const;
  // "gatewayAPI, haproxy": for messages.
  std::string names() const;

 private:
  std::map<std::string, std::unique_ptr<TrafficProvider>, std::less<>> providers_;
};

}  // namespace sluice::render
