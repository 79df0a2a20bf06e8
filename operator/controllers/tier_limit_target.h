#pragma once

// Which TierLimit limits a TrafficPolicy. Both controllers ask: the TrafficPolicy's to put the
// limits on its route, the TierLimit's to say whether its limits are the ones in force.
//
// Of the TierLimits in the policy's namespace that name it in spec.targetRefs (valid, not being
// deleted), the oldest wins (creationTimestamp, then name), as Gateway API resolves conflicting
// policy attachments; the others report the conflict in their status.

#include <optional>
#include <string>
#include <vector>

#include "operator/api/tier_limit.h"
#include "operator/kube/client.h"

namespace sluice::controllers {

// The TrafficPolicies a TierLimit object names in spec.targetRefs, read from the object as
// stored (no parse): what the watches map a TierLimit to, and the filter before any parse.
std::vector<std::string> targetPolicies(const kube::Object& tierLimit);

std::optional<api::TierLimit> tierLimitFor(kube::Reader& cache, const std::string& ns,
                                           const std::string& policy);

// "TierLimit/<namespace>/<name>": what engine::RateLimits::source says for a TierLimit.
std::string rateLimitSource(const std::string& ns, const std::string& name);

}  // namespace sluice::controllers
