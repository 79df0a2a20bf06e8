#pragma once

// The local HAProxy data plane as the canary controller sees it: the set of routes (one per
// CanaryRollout with route.provider haproxy) is rendered into haproxy.cfg and a weights map
// file; a change to the set rewrites the file and reloads HAProxy through its master socket,
// while a weight change goes through the runtime API only (no reload, no dropped connection)
// and is mirrored into the map file so a later reload starts from the same weights.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "operator/common/expected.h"
#include "operator/render/haproxy/config.h"
#include "operator/render/traffic_provider.h"

namespace sluice::controllers {

struct HaproxyGatewayOptions {
  std::string configPath;
  std::string weightsMapPath;
  render::haproxy::ConfigOptions config;  // ports and runtime address; weightsMapPath filled in
  std::string runtimeAddress;             // for the traffic provider
  std::string masterSocket;               // empty: never reload (HAProxy started by someone else)
};

class HaproxyGateway {
 public:
  explicit HaproxyGateway(HaproxyGatewayOptions options);

  // Makes haproxy.cfg describe exactly `routes` (weights taken from the routes). Writes the
  // files and reloads only when the rendered config differs from what is on disk, or when an
  // earlier reload failed. Errors name the route, the file or the socket.
  Expected<void, std::string> syncRoutes(std::vector<render::haproxy::CanaryRoute> routes);

  // True when HAProxy runs a config with exactly this route (weights aside) and no reload is
  // pending: nothing to re-render for it.
  bool hasRoute(const render::haproxy::CanaryRoute& route);

  // Moves one route's weight live and records it in the map file.
  Expected<void, std::string> setWeight(const std::string& route, std::int32_t weight);
  // The weight HAProxy applies now, read back through the runtime API.
  Expected<std::int32_t, std::string> appliedWeight(const std::string& route);

  int reloadsForTest() const { return reloads_; }

 private:
  Expected<void, std::string> writeFile(const std::string& path, const std::string& content);
  Expected<void, std::string> reload();

  HaproxyGatewayOptions options_;
  std::unique_ptr<render::TrafficProvider> provider_;
  std::mutex mu_;
  std::vector<render::haproxy::CanaryRoute> routes_;
  std::string renderedConfig_;
  bool reloadPending_ = false;  // the config on disk is newer than what HAProxy runs
  int reloads_ = 0;
};

}  // namespace sluice::controllers
