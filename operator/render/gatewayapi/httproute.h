#pragma once

// Gateway API HTTPRoutes from a route plan: one HTTPRoute per plan route, named after it, in
// the owner's namespace, owned by and labelled for the owner.
//
//   parentRefs, hostnames        from the route
//   rules, in evaluation order   one per plan rule; each plan match becomes an HTTPRouteMatch
//                                (path prefix "/" and its headers, plus the tier header when
//                                the rule has a tier); a rule without matches matches all
//   backendRefs                  every destination (a zero weight included, so the route shows
//                                it), weights divided by their gcd with 10,000 (route_plan.h)
//
// Gateway API picks among rules by match specificity, not order: a plan with two rules of the
// same matches cannot be rendered exactly, and renderHttpRoutes says so.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/common/expected.h"
#include "operator/engine/route_plan.h"

namespace sluice::render::gatewayapi {

inline constexpr const char* kHttpRouteApiVersion = "gateway.networking.k8s.io/v1";
// The HTTPRoute schema's maxItems for spec.rules and rules[].backendRefs.
inline constexpr std::size_t kMaxRules = 16;
inline constexpr std::size_t kMaxBackendRefs = 16;
// Its limits on matches: per rule (maxItems) and over all rules of a route (a CEL rule).
inline constexpr std::size_t kMaxMatchesPerRule = 64;
inline constexpr std::size_t kMaxMatches = 128;

// One gateway.networking.k8s.io/v1 HTTPRoute per route. Errors: an invalid plan, a route
// without parentRefs, two rules with the same matches, more than kMaxRules rules,
// kMaxBackendRefs destinations in a rule (never a destination dropped), kMaxMatchesPerRule
// matches in a rule or kMaxMatches in the route (a tenant or region value is one match each).
Expected<std::vector<nlohmann::json>, std::string> renderHttpRoutes(const engine::RoutePlan& plan);

// The route as an HTTPRoute carries it (for verify): name, hostnames and parents from the
// object, one rule per HTTPRoute rule named rule-<i>, destinations named after their Service
// with weights back on kWeightScale.
Expected<engine::Route, std::string> routeOf(const nlohmann::json& httpRoute);

}  // namespace sluice::render::gatewayapi
