#pragma once

// The haproxy provider: one haproxy.cfg assembled from the route plans of every owner (any
// kind), keyed by owner, plus the weights map the config reads per request.
//
//   topology change (an owner's routes, rules or destinations; an owner added or removed):
//     render the whole config and map, write both (temporary file + rename), reload HAProxy
//     through its master socket once. A failed reload stays pending and is retried by the
//     next apply, so HAProxy never stays on an old config silently.
//     With options.checkBinary, HAProxy itself checks the new config first (`haproxy -c`);
//     a config it refuses is not written and the plan that made it is not kept. A master
//     socket other local users may write to (mode o+w: HAProxy started without
//     `-S <path>,mode,600` under a permissive umask) is refused: whoever can write to it
//     controls HAProxy.
//   weight change: `set map` through the runtime API for the entries that differ from what
//     HAProxy runs (read back with `show map`), and the map file rewritten once, so a later
//     reload or restart starts from the same weights. No reload, no dropped connection.
//
// The plans are also kept in a state file beside the config (written on topology changes; the
// weights are the map file's), so a restarted operator knows every owner's routes before the
// first reconcile: rendering from a partial set would drop the routes of owners not reconciled
// yet. A weight change touches only its owner's entries: no other plan is copied or read.

#include <map>
#include <mutex>
#include <string>

#include "operator/render/haproxy/config.h"
#include "operator/render/haproxy/runtime_client.h"
#include "operator/render/provider.h"

namespace sluice::render::haproxy {

struct HaproxyProviderOptions {
  std::string configPath;  // haproxy.cfg
  std::string statePath;   // the plans as JSON; empty: <configPath>.plans.json
  ConfigOptions config;    // ports, runtime address, weights map path, cluster domain
  // The runtime API address for set/show map: "127.0.0.1:9999", "ipv4@..." or a socket path.
  // Empty: no HAProxy to talk to (`kubectl sluice render`): the files are the whole output,
  // verify() reads back what was written.
  std::string runtimeAddress;
  std::chrono::milliseconds runtimeTimeout{2000};
  std::string masterSocket;  // empty: never reload (HAProxy managed by someone else)
  // The haproxy binary that checks every new config (`haproxy -c`) before it is written: a
  // config HAProxy would refuse (a regular expression PCRE cannot compile) is refused for the
  // owner whose plan made it, as a render error is, instead of failing the reload for every
  // owner. Empty: no check.
  std::string checkBinary;
};

struct HaproxyStats {
  int reloads = 0;       // successful reloads through the master socket
  int configWrites = 0;  // haproxy.cfg written
  int mapWrites = 0;     // weights map file written
  int mapSets = 0;       // runtime API set map commands
};

// The entries of `show table <route>:tiercounts` (key: the tier, http_req_cnt, gpc0).
std::vector<TierCounts> parseTierCounts(const std::string& table);

class HaproxyProvider final : public TrafficProvider {
 public:
  explicit HaproxyProvider(HaproxyProviderOptions options);

  // Loads the state file and writes haproxy.cfg and the map when they differ from it (so
  // HAProxy can start before the first reconcile). Does not reload: a changed config is
  // reloaded by the next apply. Errors name the file.
  Expected<void, std::string> start();

  std::string_view name() const override { return "haproxy"; }
  Expected<ApplyResult, ProviderError> apply(const engine::RoutePlan& plan) override;
  Expected<std::optional<engine::RoutePlan>, ProviderError> verify(
      const engine::Owner& owner) override;
  Expected<void, ProviderError> remove(const engine::Owner& owner) override;
  std::vector<engine::Owner> owners(std::string_view kind) override;
  // sum(increase(haproxy_backend_http_requests_total{proxy="<backend>"}[{{interval}}]))
  std::string requestCountQuery(const engine::Owner& owner, const std::string& route,
                                const std::string& destination) const override;
  DestinationQueries destinationQueries(const engine::Owner& owner, const std::string& route,
                                        const std::string& destination) const override;

  // From `show table <route>:tiercounts` of each rate-limited route of the owner.
  Expected<std::vector<TierCounts>, ProviderError> rateLimitCounts(
      const engine::Owner& owner) override;

  HaproxyStats stats() const;

 private:
  std::vector<engine::RoutePlan> plansLocked() const;
  // Renders everything and writes the files that changed; with `reload`, reloads HAProxy when
  // the config changed or a reload is pending (`lock` holds mu_, released while the reload
  // waits for the peers resync). renderFailed: the plans cannot be rendered.
  Expected<void, std::string> syncTopologyLocked(std::unique_lock<std::mutex>& lock, bool reload,
                                                 bool& renderFailed);
  Expected<void, std::string> writeFile(const std::string& path, const std::string& content);
  Expected<void, std::string> writeStateLocked();
  // Before a reload: waits (at most 12 s, without holding `lock`, so weight changes go on)
  // until the running worker holds its stick tables, so it can hand them to the next one
  // (see config.h, rate limits).
  void waitForPeersResync(std::unique_lock<std::mutex>& lock);

  HaproxyProviderOptions options_;
  RuntimeClient runtime_;
  mutable std::mutex mu_;
  std::map<std::string, engine::RoutePlan> plans_;  // by owner key
  std::map<std::string, std::int32_t> entries_;     // the weights map, every owner
  std::string renderedConfig_;                      // what is on disk
  std::string renderedMap_;
  bool reloadPending_ = false;  // the config on disk is newer than what HAProxy runs
  HaproxyStats stats_;
};

}  // namespace sluice::render::haproxy
