#include "operator/controllers/tier_limit_target.h"

#include <algorithm>
#include <tuple>

#include "operator/api/parse.h"
#include "operator/controllers/indexes.h"
#include "operator/controllers/plan_ops.h"
#include "operator/controllers/resources.h"

namespace sluice::controllers {

std::vector<std::string> targetPolicies(const kube::Object& tierLimit) {
  std::vector<std::string> out;
  const auto* refs = findPath(tierLimit, {"spec", "targetRefs"});
  if (refs == nullptr || !refs->is_array()) {
    return out;
  }
  for (const auto& ref : *refs) {
    if (ref.is_object() && ref.value("kind", "") == "TrafficPolicy" &&
        !ref.value("name", "").empty()) {
      out.push_back(ref.value("name", ""));
    }
  }
  return out;
}

std::optional<api::TierLimit> tierLimitFor(kube::Reader& cache, const std::string& ns,
                                           const std::string& policy) {
  auto list = cache.listIndexed(resources::tierLimits(), ns, indexes::tierLimitsByPolicy(),
                                indexes::ref(ns, policy));
  if (!list) {
    return std::nullopt;
  }
  std::optional<api::TierLimit> best;
  std::string bestCreated;
  for (const auto& object : list->items) {
    if (findPath(object, {"metadata", "deletionTimestamp"}) != nullptr) {
      continue;
    }
    // Only the ones naming the policy are parsed: a namespace may hold thousands.
    const auto names = targetPolicies(object);
    if (std::find(names.begin(), names.end(), policy) == names.end()) {
      continue;
    }
    auto limit = api::parseTierLimit(object);
    if (!limit) {
      continue;
    }
    bool targets = false;
    for (const auto& ref : limit->spec.targetRefs) {
      targets = targets || (ref.kind == "TrafficPolicy" && ref.name == policy);
    }
    if (!targets) {
      continue;
    }
    // RFC 3339 timestamps in UTC with second precision compare as strings.
    const std::string created = stringAt(object, {"metadata", "creationTimestamp"});
    if (!best ||
        std::tie(created, limit->metadata.name) < std::tie(bestCreated, best->metadata.name)) {
      best = std::move(*limit);
      bestCreated = created;
    }
  }
  return best;
}

std::string rateLimitSource(const std::string& ns, const std::string& name) {
  return "TierLimit/" + ns + "/" + name;
}

}  // namespace sluice::controllers
