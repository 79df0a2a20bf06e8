#pragma once

// The route plan: what any kind wants the data plane to do with traffic, independent of the
// kind that asks and of the provider that carries it out.
//
//   RoutePlan (one owner: kind/namespace/name)
//     └─ Route (hostnames, parent Gateways, the header that names a tier)
//          └─ Rule (header matches, tier, priority, stickiness)
//               └─ Destination (a Service and port, a weight on kWeightScale)
//
// Weights. Every destination weight is in parts per million of its rule's traffic
// (kWeightScale = 1,000,000, the largest weight Gateway API accepts), and a rule's weights sum
// to kWeightScale exactly (or to 0: a rule that sends nothing anywhere is invalid). Kinds map
// their own units onto it: a canary step of p percent is p × 10,000. Providers map it onto
// theirs and must not round a non-zero share away:
//   - Gateway API backendRef weights are relative: the plan weights divided by their greatest
//     common divisor with 10,000, so whole percents read as percents (75/25) and anything
//     finer keeps every unit (333334/666666 is written 166667/333333). Exact either way.
//   - HAProxy draws a bucket in [0, 1,000,000) per request (a hash of the stickiness header,
//     or a random number) and compares it with cumulative thresholds: the plan's weights are
//     used as they are.
//   - HAProxy server weights (0..256) and any other small scale go through rescale(), which
//     keeps the total, gives every non-zero share at least 1, and says when it cannot.
//
// Sticky splits. A rule's buckets are handed out from its last destination down: the last
// destination holds [0, w_last), the one before it the next w buckets, and so on; the first
// destination takes what remains. Growing the last destination's share therefore only moves
// clients onto it, never off it (engine::bucketOf() predicts the bucket of a header value).
//
// Topology versus weights. Routes, rules, matches and which destinations exist are topology;
// the numbers are weights. sameTopology() separates the two, so a provider can apply a weight
// change without reconfiguring (HAProxy: a runtime API call, no reload).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/common.h"
#include "operator/common/expected.h"

namespace sluice::engine {

inline constexpr std::int32_t kWeightScale = 1'000'000;

// A canary step's percent (0..100) on the plan scale.
constexpr std::int32_t weightFromPercent(std::int32_t percent) {
  return percent <= 0 ? 0 : percent >= 100 ? kWeightScale : percent * (kWeightScale / 100);
}

// Converts weights summing to `from` into integers summing to `to` (largest remainder, ties
// to the earlier entry). Every non-zero weight becomes at least 1; an error when `to` is
// smaller than the number of non-zero weights (the scale cannot carry every share).
Expected<std::vector<std::int32_t>, std::string> rescale(const std::vector<std::int32_t>& weights,
                                                         std::int32_t to);

// Who a plan belongs to. `kind` is the Kubernetes kind ("CanaryRollout"); `uid` and
// `apiVersion` let providers that write Kubernetes objects set an owner reference.
struct Owner {
  std::string apiVersion;
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;

  // "Kind/namespace/name": the key providers file an owner's output under.
  std::string key() const { return kind + "/" + namespace_ + "/" + name; }
  friend bool operator==(const Owner&, const Owner&) = default;
};

// A Kubernetes Service and port. `externalName` is the Service's spec.externalName when it is
// an ExternalName Service (a data plane outside cluster DNS reaches that host directly).
struct ServiceTarget {
  std::string namespace_;
  std::string name;
  std::int32_t port = 0;
  std::string externalName;
  friend bool operator==(const ServiceTarget&, const ServiceTarget&) = default;
};

// A response header a destination's answers carry (set, replacing any the backend sent).
struct HeaderValue {
  std::string name;   // an HTTP token
  std::string value;  // printable, no control characters
  friend bool operator==(const HeaderValue&, const HeaderValue&) = default;
};

struct Destination {
  // [a-z0-9][a-z0-9-]*, unique in its rule; the same name means the same Service (and the
  // same response headers) across the rules of one route ("stable", "canary", a region).
  std::string name;
  ServiceTarget service;
  std::int32_t weight = 0;  // parts of kWeightScale
  // Set on every response this destination serves (HAProxy: http-response set-header in its
  // backend; Gateway API: a ResponseHeaderModifier on its backendRef). Topology.
  std::vector<HeaderValue> responseHeaders;
  friend bool operator==(const Destination&, const Destination&) = default;
};

struct Rule {
  std::string name;                        // [a-z0-9][a-z0-9-]*, unique in its route
  std::vector<api::RequestMatch> matches;  // any of them (each: all its headers); none = all
  std::string tier;                        // only requests of this tier (Route::tierHeader)
  std::int32_t priority = 0;               // higher first; equal priorities keep plan order
  std::string stickinessHeader;            // empty: every request draws a random bucket
  // Queueing class under overload (1 = leaves a full server's queue first; HAProxy
  // set-priority-class). None: the data plane's default, behind every classed request.
  std::optional<std::int32_t> queueClass;
  std::vector<Destination> destinations;
  friend bool operator==(const Rule&, const Rule&) = default;
};

// How the gateway itself treats a route's destinations, beyond the weights: load balancing
// among a destination's endpoints, active and passive health checks, and a per-destination
// concurrency limit. Providers carry what they can (Envoy Gateway: BackendTrafficPolicy;
// HAProxy: server options) and none of it changes weights: those stay the controller's.
struct HealthCheck {
  std::string path = "/";
  std::chrono::milliseconds interval{10'000};
  std::int32_t healthyThreshold = 2;
  std::int32_t unhealthyThreshold = 2;
  friend bool operator==(const HealthCheck&, const HealthCheck&) = default;
};

struct Resilience {
  std::string loadBalancer;  // "RoundRobin" | "LeastRequest" | "Random"; empty: the default
  std::optional<HealthCheck> activeHealthCheck;
  // Passive checks: a destination endpoint answering 5xx this many times in a row is ejected
  // for a while (Envoy outlier detection; HAProxy observe layer7). 0: off.
  std::int32_t consecutiveErrors = 0;
  // Requests in flight per destination before further ones queue (HAProxy server maxconn) or
  // are refused (Envoy circuit breaker). None: unlimited.
  std::optional<std::int32_t> maxConcurrentRequests;
  friend bool operator==(const Resilience&, const Resilience&) = default;
};

// Per-customer rate limits on a route (a TierLimit attached to the route's owner). Requests
// are sorted into a tier by `tierHeader` (exact tier name; anything else, or no header,
// is `defaultTier`) and into a customer by `identityHeader` (empty, or a request without it:
// the client address). Every customer of a tier has its own counters:
//   rate        a token bucket: `burst` requests at once from rest, refilled at
//               requestsPerSecond (GCRA: a request is accepted while the customer's
//               theoretical arrival time is at most burstTolerance() ahead of now, and moves
//               it emissionInterval() on)
//   concurrent  requests in flight
//   dailyQuota  requests accepted since midnight at UTC offset `dayOffsetSeconds` (the quota
//               time zone's offset in force now; a controller renews it at the zone's changes)
// Only accepted requests count. A refused request gets 429 with Retry-After (seconds until
// one would pass; for the daily quota, until midnight) and X-RateLimit-Limit/Remaining/Reset.
// With `queue`, requests waiting for a full backend are admitted by tier: the tier of rank k
// (0 = lowest priority number) of n may wait while fewer than maxSize × (n − k) / n wait, and
// waits at most `timeout`, the more important tiers leaving the queue first.
struct TierRateLimit {
  std::string name;  // [a-z0-9][a-z0-9-]*
  std::int64_t requestsPerSecond = 0;
  std::int64_t burst = 0;  // >= requestsPerSecond
  std::optional<std::int64_t> concurrent;
  std::optional<std::int64_t> dailyQuota;
  std::int32_t priority = 1;  // 1 is the most important
  friend bool operator==(const TierRateLimit&, const TierRateLimit&) = default;
};

struct RateLimitQueue {
  std::int32_t maxSize = 0;
  std::chrono::milliseconds timeout{0};
  friend bool operator==(const RateLimitQueue&, const RateLimitQueue&) = default;
};

struct RateLimits {
  std::string source;  // "TierLimit/<namespace>/<name>": who asked, for comments and messages
  std::string tierHeader;
  std::string identityHeader;
  std::string defaultTier;
  std::vector<TierRateLimit> tiers;  // most important first (priority, then name)
  std::optional<RateLimitQueue> queue;
  std::int32_t dayOffsetSeconds = 0;
  friend bool operator==(const RateLimits&, const RateLimits&) = default;
};

// The token bucket of a tier in microseconds: the time one request's token takes to come
// back (1 s / requestsPerSecond, at least 1 µs), and how far ahead of now a customer's
// theoretical arrival time may be for a request to pass ((burst − 1) × that).
std::chrono::microseconds emissionInterval(const TierRateLimit& tier);
std::chrono::microseconds burstTolerance(const TierRateLimit& tier);
// The largest burstTolerance() a data plane has to carry (about 17 minutes of bucket).
inline constexpr std::chrono::microseconds kMaxBurstTolerance{1LL << 30};

struct Route {
  std::string name;  // a DNS subdomain name ([a-z0-9][a-z0-9.-]*), unique in its plan
  std::vector<std::string> hostnames;  // empty: the default route
  std::vector<api::ParentRef> parents;
  std::string tierHeader;  // the request header whose value is the tier; needed by Rule::tier
  std::vector<Rule> rules;
  std::optional<Resilience> resilience;
  std::optional<RateLimits> rateLimits;
  friend bool operator==(const Route&, const Route&) = default;
};

struct RoutePlan {
  Owner owner;
  std::vector<Route> routes;
  friend bool operator==(const RoutePlan&, const RoutePlan&) = default;
};

// Errors name the route, rule and destination: names, weights summing to kWeightScale, one
// Service per destination name in a route, a tier rule without a tier header, rate limits
// whose default tier is not one of theirs or whose numbers are out of range.
Expected<void, std::string> validate(const RoutePlan& plan);

// Equal apart from destination weights.
bool sameTopology(const RoutePlan& a, const RoutePlan& b);

// The rules of a route in the order a data plane evaluates them: priority, then plan order.
std::vector<const Rule*> evaluationOrder(const Route& route);

}  // namespace sluice::engine
