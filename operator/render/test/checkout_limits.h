#pragma once

// samples/tierlimit-checkout.yaml's limits, as engine::rateLimitsOf() gives them (quota day in
// Stockholm winter time), for the providers' tests.

#include <chrono>
#include <string>

#include "operator/engine/route_plan.h"

namespace sluice::render::testing {

inline engine::RateLimits checkoutLimits(const std::string& source = "TierLimit/shop/checkout") {
  engine::RateLimits limits;
  limits.source = source;
  limits.tierHeader = "X-Tier";
  limits.identityHeader = "X-Customer-ID";
  limits.defaultTier = "free";
  limits.tiers = {{"premium", 1000, 2000, 100, 10'000'000, 1},
                  {"standard", 100, 200, 20, 1'000'000, 2},
                  {"free", 10, 20, 5, 10'000, 3}};
  limits.queue = engine::RateLimitQueue{500, std::chrono::milliseconds{2000}};
  limits.dayOffsetSeconds = 3600;
  return limits;
}

}  // namespace sluice::render::testing
