#include "operator/cmd/haproxy_provider.h"

namespace sluice::cmd {

render::haproxy::HaproxyProviderOptions haproxyProviderOptions(const HaproxyOptions& o) {
  render::haproxy::HaproxyProviderOptions h;
  h.configPath = o.configPath;
  h.config.weightsMapPath = o.mapDir + "/weights.map";
  auto frontend = parseHostPort("haproxy-frontend-bind", o.frontendBind);
  auto stats = parseHostPort("haproxy-stats-bind", o.statsBind);
  h.config.bindAddress = frontend->host;
  h.config.frontendPort = frontend->port;
  h.config.exporterPort = stats->port;
  if (o.runtimeAddress.empty() || o.runtimeAddress.front() == '/') {
    // A unix socket: the rendered stats socket line gives it mode 600.
    std::string path = o.runtimeAddress.empty() ? o.mapDir + "/admin.sock" : o.runtimeAddress;
    if (path.front() != '/') {
      path = "unix@" + path;
    }
    h.config.runtimeAddress = path;
    h.runtimeAddress = path;
  } else {
    h.config.runtimeAddress = "ipv4@" + o.runtimeAddress;
    h.runtimeAddress = o.runtimeAddress;
  }
  h.masterSocket = o.masterSocket;
  h.checkBinary = o.checkBinary;
  h.config.peersBind = o.peersBind;
  return h;
}

}  // namespace sluice::cmd
