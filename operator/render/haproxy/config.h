#pragma once

// haproxy.cfg for canary routes (HAProxy 2.6). Per request:
//   bucket = req.fhdr(<stickiness header>),xxh32,mod(100)   if the header is present
//            rand(100)                                       otherwise
//   weight = str(<route>),map_str_int(<weights map>,0)      read per request, so the runtime
//                                                           API `set map` moves it live
//   canary if a spec.match entry matches, or bucket < weight (and weight > 0 for matches).
// engine::bucketOf() computes the same bucket. A second frontend serves the Prometheus
// exporter on /metrics; the runtime API listens where RuntimeOptions says.

#include <cstdint>
#include <string>
#include <vector>

#include "operator/api/common.h"
#include "operator/common/expected.h"

namespace sluice::render::haproxy {

struct Server {
  std::string host;
  std::int32_t port = 0;
};

struct CanaryRoute {
  // [a-z0-9][a-z0-9.-]*: names the backends (<name>-stable, <name>-canary) and the map key.
  std::string name;
  // Host header values this route serves; empty: the default route (at most one).
  std::vector<std::string> hostnames;
  std::vector<Server> stable;
  std::vector<Server> canary;
  std::string stickinessHeader;  // empty: every request gets rand(100)
  std::vector<api::RequestMatch> match;
  std::int32_t weight = 0;  // written into the weights map file
};

struct ConfigOptions {
  std::string bindAddress = "127.0.0.1";
  std::int32_t frontendPort = 0;
  std::int32_t exporterPort = 0;
  // "ipv4@127.0.0.1:<port>" or an absolute unix socket path.
  std::string runtimeAddress;
  std::string weightsMapPath;  // absolute; the file renderWeightsMap() content goes to
  std::int32_t connectTimeoutMillis = 2000;
  std::int32_t clientTimeoutMillis = 30000;
  std::int32_t serverTimeoutMillis = 30000;
};

// Errors: invalid route names, duplicate names, two default routes, a route without servers,
// a port out of range, header names/values HAProxy cannot carry.
Expected<std::string, std::string> renderConfig(const ConfigOptions& options,
                                                const std::vector<CanaryRoute>& routes);

// "<route> <weight>\n" per route: the initial content of options.weightsMapPath.
std::string renderWeightsMap(const std::vector<CanaryRoute>& routes);

}  // namespace sluice::render::haproxy
