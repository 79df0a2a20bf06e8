#pragma once

// haproxy.cfg (HAProxy 2.6) for the route plans of every owner, and the weights map it reads.
//
// One frontend, "sluice", evaluates per request:
//   route   by Host (port stripped), the default route (no hostnames) last; none: 404
//   rule    the first of the route's rules, in evaluation order, whose matches (and tier)
//           the request meets; none: 404
//   bucket  req.fhdr(<stickiness header>),xxh32,mod(1000000) when the rule is sticky and the
//           header is present, rand(1000000) otherwise (engine::bucketOf() predicts it)
//   backend from the rule's last destination down, the first whose threshold (read per
//           request from the weights map, so the runtime API `set map` moves it live) is above
//           the bucket; the first destination otherwise
// A destination's threshold is the sum of its own weight and the weights after it (see
// route_plan.h: the last destination holds the lowest buckets). The first destination needs no
// entry. A second frontend serves the Prometheus exporter on /metrics.
//
// A destination's response headers are `http-response set-header` lines in its backend (and,
// conditioned on the server's name, in the route's fallback backend), so every answer says
// which destination served it.
//
// Queueing: a rule with a queueClass sets the request's priority class once the rule is chosen
// (lower leaves a full server's queue first); the other rules of that route get class 2047.
//
// A route's resilience (render/resilience.h) becomes options of its backends:
//   loadBalancer              balance roundrobin (also the default) | leastconn | random
//   activeHealthCheck         option httpchk, http-check send meth GET uri <path>, expect
//                             status 200, timeout check; server: check inter rise fall
//   consecutiveErrors         server: observe layer7 error-limit <n> on-error mark-down (plus a
//                             TCP check every kEjectionTime without an active check: the way
//                             back up)
//   maxConcurrentRequests     server: maxconn <n>; backend: timeout queue = the server timeout
// Routes without resilience render exactly as before it existed.
//
// A route's rate limits (engine::RateLimits) sort its requests into a tier and a customer and
// keep per-customer state in stick tables: one per tier ("<route>:limits:<tier>", tracked as
// sc0) holding the customer's token bucket (gpt0: the theoretical arrival time of GCRA, in
// µs of wall-clock time modulo 2^32) and requests in flight (conn_cur), and one for the daily
// quota ("<route>:daily", sc1) keyed "<day>:<tier>:<customer>" so a new local day
// starts new counters (gpc0). The third tracker, sc2, counts per tier in
// "<route>:tiercounts" (key: the tier; http_req_cnt: its requests, gpc0: its 429s), which
// rateLimitCounts() reads back through the runtime API. Only accepted requests
// take a token or count for the day. In order, a request over its daily quota, its
// concurrency or its bucket is answered 429 with Retry-After and
// X-RateLimit-Limit/Remaining/Reset; accepted responses carry the X-RateLimit-* of the
// tighter of the bucket and the daily quota. A tier's priority becomes the request's priority
// class; with a queue, a destination backend refuses (503, Retry-After: 1) a request of tier
// rank k of n while maxSize × (n − k) / n requests already wait in its queue, and requests
// wait at most the queue timeout. With options.peersBind the tables are declared in a peers
// section whose only peer is this HAProxy ("localpeer"): on a reload the old worker hands its
// tables to the new one, so buckets, concurrency and day counts survive configuration
// changes (the state is wall-clock based, not the worker's own clock).
//
// Names: a route is "<kind>:<namespace>:<owner>:<route>" (kind in lower case); its backends
// add ":<destination>", its map keys ":<rule>:<destination>". ':' cannot occur in Kubernetes
// names, so names never collide across owners.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "operator/common/expected.h"
#include "operator/engine/route_plan.h"

namespace sluice::render::haproxy {

struct ConfigOptions {
  std::string bindAddress = "127.0.0.1";
  std::int32_t frontendPort = 0;
  std::int32_t exporterPort = 0;
  // "ipv4@127.0.0.1:<port>" or an absolute unix socket path.
  std::string runtimeAddress;
  std::string weightsMapPath;  // absolute; the file renderWeightsMap() content goes to
  // Services without an externalName are reached as <name>.<namespace>.svc.<clusterDomain>.
  std::string clusterDomain = "cluster.local";
  std::int32_t connectTimeoutMillis = 2000;
  std::int32_t clientTimeoutMillis = 30000;
  std::int32_t serverTimeoutMillis = 30000;
  // "127.0.0.1:<port>": where the local peer listens, so stick tables survive reloads. Empty:
  // no peers section (rate-limit counters start over on every reload).
  std::string peersBind;
  // Customers per tier each rate-limit table holds (the least recently seen go first).
  std::int32_t rateLimitTableSize = 100'000;
};

std::string routeId(const engine::Owner& owner, const engine::Route& route);
// The stick table counting a rate-limited route's requests and 429s per tier.
std::string tierCountsTable(const std::string& routeId);
std::string backendName(const engine::Owner& owner, const engine::Route& route,
                        const std::string& destination);
std::string weightKey(const engine::Owner& owner, const engine::Route& route,
                      const engine::Rule& rule, const std::string& destination);

// Errors: an invalid plan, the same hostname (or a second default route) in two routes (the
// error names both owners), hostnames, header names or values HAProxy cannot carry, invalid
// resilience settings or queue classes (naming the route and rule), options out of range.
Expected<std::string, std::string> renderConfig(const ConfigOptions& options,
                                                const std::vector<engine::RoutePlan>& plans);

// The weights map entries of one plan: key -> threshold (parts of kWeightScale).
std::map<std::string, std::int32_t> weightEntries(const engine::RoutePlan& plan);

// "<key> <threshold>\n" for every plan, sorted: the content of options.weightsMapPath.
std::string renderWeightsMap(const std::vector<engine::RoutePlan>& plans);

// Puts the thresholds in `entries` back into the plan's destination weights (for verify).
// Error when an entry is missing or thresholds are out of order.
Expected<void, std::string> weightsFromEntries(engine::RoutePlan& plan,
                                               const std::map<std::string, std::string>& entries);

}  // namespace sluice::render::haproxy
