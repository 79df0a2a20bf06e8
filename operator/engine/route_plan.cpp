#include "operator/engine/route_plan.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "operator/api/units.h"

namespace sluice::engine {
namespace {

bool validName(const std::string& name, bool dots = false) {
  if (name.empty() || name.size() > (dots ? 253U : 63U) || name.front() == '-' ||
      name.front() == '.') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [dots](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dots && c == '.');
  });
}

bool validHeaderName(const std::string& name) {
  return api::isHttpToken(name);
}

bool printable(const std::string& value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::vector<Rule> withoutWeights(const std::vector<Rule>& rules) {
  std::vector<Rule> out = rules;
  for (auto& rule : out) {
    for (auto& d : rule.destinations) {
      d.weight = 0;
    }
  }
  return out;
}

}  // namespace

Expected<std::vector<std::int32_t>, std::string> rescale(const std::vector<std::int32_t>& weights,
                                                         std::int32_t to) {
  std::int64_t from = 0;
  std::int32_t nonZero = 0;
  for (auto w : weights) {
    if (w < 0) {
      return Unexpected("weight " + std::to_string(w) + " is negative");
    }
    from += w;
    nonZero += w > 0 ? 1 : 0;
  }
  std::vector<std::int32_t> out(weights.size(), 0);
  if (from == 0) {
    return out;
  }
  if (to < nonZero) {
    return Unexpected(std::to_string(nonZero) + " non-zero shares do not fit a scale of " +
                      std::to_string(to));
  }
  // Floors first, every non-zero share at least 1, then the remaining units to the largest
  // remainders. Taking a unit back for the minimum comes from the largest shares.
  std::vector<std::int64_t> remainder(weights.size(), 0);
  std::int64_t assigned = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const std::int64_t scaled = static_cast<std::int64_t>(weights[i]) * to;
    out[i] = static_cast<std::int32_t>(scaled / from);
    remainder[i] = scaled % from;
    if (weights[i] > 0 && out[i] == 0) {
      out[i] = 1;
      remainder[i] = -1;  // already rounded up
    }
    assigned += out[i];
  }
  std::vector<std::size_t> order(weights.size());
  std::iota(order.begin(), order.end(), 0);
  while (assigned < to) {
    auto best = std::max_element(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return remainder[a] < remainder[b];
    });
    ++out[*best];
    remainder[*best] = -2;
    ++assigned;
  }
  while (assigned > to) {
    auto largest = std::max_element(order.begin(), order.end(),
                                    [&](std::size_t a, std::size_t b) { return out[a] < out[b]; });
    --out[*largest];
    --assigned;
  }
  return out;
}

std::chrono::microseconds emissionInterval(const TierRateLimit& tier) {
  return std::chrono::microseconds{
      std::max<std::int64_t>(1, 1'000'000 / std::max<std::int64_t>(1, tier.requestsPerSecond))};
}

std::chrono::microseconds burstTolerance(const TierRateLimit& tier) {
  return emissionInterval(tier) * std::max<std::int64_t>(0, tier.burst - 1);
}

namespace {

Expected<void, std::string> validateRateLimits(const RateLimits& limits) {
  if (limits.tierHeader.empty()) {
    return Unexpected(std::string("no tier header"));
  }
  if (limits.tiers.empty()) {
    return Unexpected(std::string("no tiers"));
  }
  std::set<std::string> names;
  for (const auto& tier : limits.tiers) {
    const std::string at = "tier " + tier.name;
    if (!validName(tier.name)) {
      return Unexpected(at + ": name must match [a-z0-9][a-z0-9-]{0,62}");
    }
    if (!names.insert(tier.name).second) {
      return Unexpected(at + ": duplicate tier name");
    }
    if (tier.requestsPerSecond < 1 || tier.burst < tier.requestsPerSecond) {
      return Unexpected(at + ": needs requestsPerSecond >= 1 and burst >= requestsPerSecond");
    }
    if (burstTolerance(tier) >= kMaxBurstTolerance) {
      return Unexpected(at + ": burst / requestsPerSecond must stay below 1000 s");
    }
    if ((tier.concurrent && *tier.concurrent < 1) || (tier.dailyQuota && *tier.dailyQuota < 1)) {
      return Unexpected(at + ": concurrent and dailyQuota must be at least 1");
    }
  }
  if (!names.contains(limits.defaultTier)) {
    return Unexpected("default tier \"" + limits.defaultTier + "\" is not one of the tiers");
  }
  if (limits.queue && (limits.queue->maxSize < 1 || limits.queue->timeout.count() <= 0)) {
    return Unexpected(std::string("queue needs maxSize >= 1 and a positive timeout"));
  }
  if (limits.dayOffsetSeconds <= -86400 || limits.dayOffsetSeconds >= 86400) {
    return Unexpected("day offset " + std::to_string(limits.dayOffsetSeconds) +
                      " s is not within a day");
  }
  return {};
}

}  // namespace

Expected<void, std::string> validate(const RoutePlan& plan) {
  if (plan.owner.kind.empty() || plan.owner.name.empty()) {
    return Unexpected(std::string("plan has no owner"));
  }
  // The owner's names go into every provider's output names (haproxy.cfg backends, weights-map
  // keys, HTTPRoute names): a space or a newline there would start another directive or entry.
  if (!api::isObjectName(plan.owner.name) ||
      (!plan.owner.namespace_.empty() && !api::isDns1123Label(plan.owner.namespace_)) ||
      !std::all_of(plan.owner.kind.begin(), plan.owner.kind.end(),
                   [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); })) {
    return Unexpected(std::string(
        "plan owner: kind must be letters, namespace a DNS label and name a DNS subdomain"));
  }
  std::set<std::string> routeNames;
  for (const auto& route : plan.routes) {
    const std::string where = "route " + route.name;
    if (!validName(route.name, true)) {
      return Unexpected(where + ": name must be a DNS subdomain name ([a-z0-9][a-z0-9.-]*)");
    }
    if (!routeNames.insert(route.name).second) {
      return Unexpected(where + ": duplicate route name");
    }
    if (route.rules.empty()) {
      return Unexpected(where + ": no rules");
    }
    std::set<std::string> ruleNames;
    std::map<std::string, const Destination*> services;
    for (const auto& rule : route.rules) {
      const std::string at = where + " rule " + rule.name;
      if (!validName(rule.name)) {
        return Unexpected(at + ": name must match [a-z0-9][a-z0-9-]{0,62}");
      }
      if (!ruleNames.insert(rule.name).second) {
        return Unexpected(at + ": duplicate rule name");
      }
      if (!rule.tier.empty() && route.tierHeader.empty()) {
        return Unexpected(at + ": a tier rule needs the route's tierHeader");
      }
      if (rule.destinations.empty()) {
        return Unexpected(at + ": no destinations");
      }
      std::set<std::string> destNames;
      std::int64_t sum = 0;
      for (const auto& d : rule.destinations) {
        const std::string dest = at + " destination " + d.name;
        if (!validName(d.name)) {
          return Unexpected(dest + ": name must match [a-z0-9][a-z0-9-]{0,62}");
        }
        if (!destNames.insert(d.name).second) {
          return Unexpected(dest + ": duplicate destination name");
        }
        if (d.weight < 0 || d.weight > kWeightScale) {
          return Unexpected(dest + ": weight " + std::to_string(d.weight) + " is not 0.." +
                            std::to_string(kWeightScale));
        }
        if (d.service.name.empty() || d.service.port <= 0 || d.service.port > 65535) {
          return Unexpected(dest + ": needs a Service name and a port 1..65535");
        }
        auto [it, inserted] = services.emplace(d.name, &d);
        if (!inserted && !(it->second->service == d.service)) {
          return Unexpected(dest + ": names another Service than the route's other rules");
        }
        if (!inserted && it->second->responseHeaders != d.responseHeaders) {
          return Unexpected(dest + ": other response headers than in the route's other rules");
        }
        for (const auto& h : d.responseHeaders) {
          if (!validHeaderName(h.name)) {
            return Unexpected(dest + ": invalid response header name \"" + h.name + "\"");
          }
          if (!printable(h.value)) {
            return Unexpected(dest + ": response header " + h.name +
                              " has a value with control characters");
          }
        }
        sum += d.weight;
      }
      if (sum != kWeightScale) {
        return Unexpected(at + ": weights sum to " + std::to_string(sum) + ", not " +
                          std::to_string(kWeightScale));
      }
    }
    if (route.rateLimits) {
      if (auto valid = validateRateLimits(*route.rateLimits); !valid) {
        return Unexpected(where + " rate limits: " + valid.error());
      }
    }
  }
  return {};
}

bool sameTopology(const RoutePlan& a, const RoutePlan& b) {
  if (!(a.owner == b.owner) || a.routes.size() != b.routes.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.routes.size(); ++i) {
    const auto& x = a.routes[i];
    const auto& y = b.routes[i];
    if (x.name != y.name || x.hostnames != y.hostnames || x.parents != y.parents ||
        x.tierHeader != y.tierHeader || x.resilience != y.resilience ||
        x.rateLimits != y.rateLimits || withoutWeights(x.rules) != withoutWeights(y.rules)) {
      return false;
    }
  }
  return true;
}

std::vector<const Rule*> evaluationOrder(const Route& route) {
  std::vector<const Rule*> order;
  for (const auto& rule : route.rules) {
    order.push_back(&rule);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Rule* a, const Rule* b) { return a->priority > b->priority; });
  return order;
}

}  // namespace sluice::engine
