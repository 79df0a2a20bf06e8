#include "operator/controllers/haproxy_gateway.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "operator/render/haproxy/runtime_client.h"

namespace sluice::controllers {

HaproxyGateway::HaproxyGateway(HaproxyGatewayOptions options) : options_(std::move(options)) {
  options_.config.weightsMapPath = options_.weightsMapPath;
  render::ProviderOptions providerOptions;
  providerOptions.haproxyRuntimeAddress = options_.runtimeAddress;
  providerOptions.haproxyWeightsMap = options_.weightsMapPath;
  auto provider = render::makeTrafficProvider("haproxy", providerOptions);
  if (provider) {
    provider_ = std::move(*provider);
  }
  // A missing provider is reported by setWeight(); the constructor cannot fail.
  std::ifstream existing(options_.configPath);
  if (existing) {
    std::stringstream buffer;
    buffer << existing.rdbuf();
    renderedConfig_ = buffer.str();
  }
}

Expected<void, std::string> HaproxyGateway::writeFile(const std::string& path,
                                                      const std::string& content) {
  // Write to a temporary name and rename, so HAProxy never reads a half-written file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
      return Unexpected("cannot write " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Unexpected("cannot rename " + tmp + " to " + path);
  }
  return {};
}

Expected<void, std::string> HaproxyGateway::reload() {
  if (options_.masterSocket.empty()) {
    return {};
  }
  render::haproxy::RuntimeClient master(options_.masterSocket);
  auto answer = master.command("reload");
  if (!answer) {
    // HAProxy may not be running yet (the stack starts it once the config exists); the new
    // config is on disk and is read when it starts.
    return Unexpected("HAProxy reload through " + options_.masterSocket +
                      " failed: " + answer.error().message);
  }
  ++reloads_;
  return {};
}

Expected<void, std::string> HaproxyGateway::syncRoutes(
    std::vector<render::haproxy::CanaryRoute> routes) {
  std::sort(routes.begin(), routes.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::lock_guard lock(mu_);
  auto config = render::haproxy::renderConfig(options_.config, routes);
  if (!config) {
    return Unexpected("haproxy config: " + config.error());
  }
  // Weights live in the map file; the config text does not change when only weights move.
  routes_ = std::move(routes);
  if (*config == renderedConfig_ && !reloadPending_) {
    return {};
  }
  if (*config != renderedConfig_) {
    if (auto w = writeFile(options_.weightsMapPath, render::haproxy::renderWeightsMap(routes_));
        !w) {
      return w;
    }
    if (auto w = writeFile(options_.configPath, *config); !w) {
      return w;
    }
    renderedConfig_ = *config;
    reloadPending_ = true;
  }
  // A reload can fail while HAProxy's master re-executes after the previous one: it stays
  // pending, so the caller's retry reloads again rather than leaving HAProxy on an old config.
  auto reloaded = reload();
  if (reloaded) {
    reloadPending_ = false;
  }
  return reloaded;
}

namespace {

bool sameServers(const std::vector<render::haproxy::Server>& a,
                 const std::vector<render::haproxy::Server>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.host == y.host && x.port == y.port;
  });
}

bool sameMatches(const std::vector<api::RequestMatch>& a, const std::vector<api::RequestMatch>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return std::equal(x.headers.begin(), x.headers.end(), y.headers.begin(), y.headers.end(),
                      [](const auto& h, const auto& k) {
                        return h.name == k.name && h.value == k.value && h.type == k.type;
                      });
  });
}

}  // namespace

bool HaproxyGateway::hasRoute(const render::haproxy::CanaryRoute& route) {
  std::lock_guard lock(mu_);
  if (reloadPending_) {
    return false;
  }
  for (const auto& known : routes_) {
    if (known.name == route.name) {
      return known.hostnames == route.hostnames && sameServers(known.stable, route.stable) &&
             sameServers(known.canary, route.canary) &&
             known.stickinessHeader == route.stickinessHeader &&
             sameMatches(known.match, route.match);
    }
  }
  return false;
}

Expected<void, std::string> HaproxyGateway::setWeight(const std::string& route,
                                                      std::int32_t weight) {
  if (!provider_) {
    return Unexpected(std::string("haproxy traffic provider is not configured"));
  }
  std::lock_guard lock(mu_);
  auto applied = provider_->setWeight(route, weight);
  bool changed = false;
  for (auto& known : routes_) {
    if (known.name == route && known.weight != weight) {
      known.weight = weight;
      changed = true;
    }
  }
  if (changed) {
    if (auto w = writeFile(options_.weightsMapPath, render::haproxy::renderWeightsMap(routes_));
        !w) {
      return w;
    }
  }
  if (!applied) {
    return Unexpected("HAProxy runtime API " + options_.runtimeAddress + ": " +
                      applied.error().message);
  }
  return {};
}

Expected<std::int32_t, std::string> HaproxyGateway::appliedWeight(const std::string& route) {
  if (!provider_) {
    return Unexpected(std::string("haproxy traffic provider is not configured"));
  }
  auto weight = provider_->verifyWeight(route);
  if (!weight) {
    return Unexpected(weight.error().message);
  }
  return *weight;
}

}  // namespace sluice::controllers
