#include "operator/render/resilience.h"

#include <algorithm>

namespace sluice::render {
namespace {

// Characters of an RFC 3986 path and query that single quotes carry as they are in
// haproxy.cfg (no space, quote, backslash or '#', which HAProxy's parser would read; a
// backslash would turn "\r\n" into a CR LF in the health-check request) and that need no
// escaping in JSON.
bool isUriChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._~/%:@?=&+,;!*()$").find(c) != std::string_view::npos;
}

}  // namespace

std::chrono::milliseconds healthCheckTimeout(const engine::HealthCheck& check) {
  return std::min(check.interval, std::chrono::milliseconds(1000));
}

Expected<void, std::string> validateResilience(const engine::Route& route) {
  if (!route.resilience) {
    return {};
  }
  const auto& r = *route.resilience;
  const std::string where = "route " + route.name + " resilience";
  if (!r.loadBalancer.empty() && r.loadBalancer != "RoundRobin" &&
      r.loadBalancer != "LeastRequest" && r.loadBalancer != "Random") {
    return Unexpected(where + ": loadBalancer \"" + r.loadBalancer +
                      "\" is not RoundRobin, LeastRequest or Random");
  }
  if (r.activeHealthCheck) {
    const auto& check = *r.activeHealthCheck;
    if (check.path.empty() || check.path.front() != '/' || check.path.size() > 1024 ||
        !std::all_of(check.path.begin(), check.path.end(), isUriChar)) {
      return Unexpected(where + ": activeHealthCheck.path \"" + check.path +
                        "\" must be an absolute path of at most 1024 URI characters (no spaces, "
                        "quotes, '#', backslashes or control characters)");
    }
    if (check.interval < std::chrono::milliseconds(1) || check.interval > std::chrono::hours(24)) {
      return Unexpected(where + ": activeHealthCheck.interval " +
                        std::to_string(check.interval.count()) + "ms is not 1ms..24h");
    }
    if (check.healthyThreshold < 1 || check.unhealthyThreshold < 1) {
      return Unexpected(where + ": activeHealthCheck thresholds must be at least 1 (healthy " +
                        std::to_string(check.healthyThreshold) + ", unhealthy " +
                        std::to_string(check.unhealthyThreshold) + ")");
    }
  }
  if (r.consecutiveErrors < 0) {
    return Unexpected(where + ": consecutiveErrors " + std::to_string(r.consecutiveErrors) +
                      " is negative");
  }
  if (r.maxConcurrentRequests && *r.maxConcurrentRequests < 1) {
    return Unexpected(where + ": maxConcurrentRequests " +
                      std::to_string(*r.maxConcurrentRequests) + " is below 1");
  }
  return {};
}

}  // namespace sluice::render
