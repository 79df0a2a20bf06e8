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
  h.config.runtimeAddress = "ipv4@" + o.runtimeAddress;
  h.runtimeAddress = o.runtimeAddress;
  h.masterSocket = o.masterSocket;
  h.config.peersBind = o.peersBind;
  return h;
}

}  // namespace sluice::cmd
