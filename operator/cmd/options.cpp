#include "operator/cmd/options.h"

#include <CLI/CLI.hpp>
#include <charconv>

namespace sluice::cmd {

Expected<HostPort, std::string> parseHostPort(const std::string& flag, const std::string& value) {
  const auto colon = value.rfind(':');
  if (colon == std::string::npos) {
    return Unexpected("--" + flag + ": \"" + value + "\" is not host:port or :port");
  }
  HostPort out;
  out.host = value.substr(0, colon);
  if (out.host.empty()) {
    out.host = "0.0.0.0";
  }
  const std::string port = value.substr(colon + 1);
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (ec != std::errc{} || end != port.data() + port.size() || out.port < 0 || out.port > 65535) {
    return Unexpected("--" + flag + ": port \"" + port + "\" is not a number in 0..65535");
  }
  return out;
}

Expected<OperatorOptions, OptionsError> parseOptions(int argc, const char* const* argv) {
  OperatorOptions o;
  CLI::App app{"sluice-operator: canary rollouts, traffic policies and tier limits"};
  app.option_defaults()->always_capture_default();
  app.add_option("--kubeconfig", o.kubeconfig,
                 "Path to a kubeconfig; empty uses KUBECONFIG, then the in-cluster config");
  app.add_option("--context", o.context, "kubeconfig context to use");
  app.add_option("--namespace", o.watchNamespace, "Namespace to watch; empty watches all");
  app.add_option("--metrics-bind-address", o.metricsBindAddress, "Address for /metrics");
  app.add_option("--health-probe-bind-address", o.healthProbeBindAddress,
                 "Address for /healthz and /readyz");
  app.add_flag("--leader-elect", o.leaderElect, "Run leader election on a Lease");
  app.add_option("--leader-election-namespace", o.leaderElectionNamespace,
                 "Namespace of the leader election Lease");
  app.add_option("--leader-election-id", o.leaderElectionId, "Name of the Lease");
  int leaseSeconds = static_cast<int>(o.leaseDuration.count());
  app.add_option("--lease-duration-seconds", leaseSeconds, "Lease duration")
      ->check(CLI::Range(2, 3600));
  app.add_option("--log-level", o.logLevel, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--workers", o.workers, "Concurrent reconciles per controller")
      ->check(CLI::Range(1, 64));
  app.add_option("--kube-api-qps", o.qps,
                 "Client-side rate limit, requests/s (Events have a limiter of their own at the "
                 "same rate and burst)")
      ->check(CLI::Range(1.0, 1e5));
  app.add_option("--kube-api-burst", o.burst, "Client-side burst")->check(CLI::Range(1, 100000));
  app.add_option("--prometheus-ca-file", o.prometheusCaFile,
                 "PEM CA bundle that signs https Prometheus servers' certificates; when set, "
                 "only these CAs are trusted (empty: the system's trusted CAs)");
  app.add_option("--haproxy-config", o.haproxy.configPath,
                 "Write haproxy.cfg here (enables the local haproxy provider)");
  app.add_option("--haproxy-map-dir", o.haproxy.mapDir,
                 "Directory for HAProxy weight map files (default: next to the config)");
  app.add_option("--haproxy-frontend-bind", o.haproxy.frontendBind, "HAProxy traffic frontend");
  app.add_option("--haproxy-stats-bind", o.haproxy.statsBind,
                 "HAProxy Prometheus exporter address");
  app.add_option("--haproxy-runtime-address", o.haproxy.runtimeAddress,
                 "HAProxy runtime API (admin stats socket): a unix socket path, created mode 600 "
                 "(default: admin.sock in --haproxy-map-dir), or host:port, which any local "
                 "process can reach");
  app.add_option("--haproxy-master-socket", o.haproxy.masterSocket,
                 "HAProxy master CLI socket, used to reload when routes change");
  app.add_option("--haproxy-check-binary", o.haproxy.checkBinary,
                 "haproxy binary that checks every new config (haproxy -c) before it is "
                 "written; a config HAProxy refuses is refused for the owner that made it "
                 "(empty: no check)");
  app.add_option("--haproxy-peers-bind", o.haproxy.peersBind,
                 "HAProxy local peer address: rate-limit counters survive reloads through it "
                 "(empty: counters start over on every reload)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return Unexpected(OptionsError{app.help(), true, 0});
  } catch (const CLI::ParseError& e) {
    return Unexpected(OptionsError{e.what(), false, 2});
  }
  o.leaseDuration = std::chrono::seconds{leaseSeconds};
  o.renewDeadline = std::chrono::seconds{std::max(1, leaseSeconds * 2 / 3)};
  o.retryPeriod = std::chrono::seconds{std::max(1, leaseSeconds / 7)};

  for (const auto& [flag, value] :
       {std::pair<std::string, std::string>{"metrics-bind-address", o.metricsBindAddress},
        {"health-probe-bind-address", o.healthProbeBindAddress}}) {
    if (auto hp = parseHostPort(flag, value); !hp) {
      return Unexpected(OptionsError{hp.error()});
    }
  }
  if (o.haproxy.enabled()) {
    for (const auto& [flag, value] :
         {std::pair<std::string, std::string>{"haproxy-frontend-bind", o.haproxy.frontendBind},
          {"haproxy-stats-bind", o.haproxy.statsBind},
          {"haproxy-runtime-address", o.haproxy.runtimeAddress},
          {"haproxy-peers-bind", o.haproxy.peersBind}}) {
      if (flag == "haproxy-peers-bind" && value.empty()) {
        continue;
      }
      if (flag == "haproxy-runtime-address" && (value.empty() || value.front() == '/')) {
        continue;  // a unix socket (see HaproxyOptions::runtimeAddress)
      }
      if (auto hp = parseHostPort(flag, value); !hp) {
        return Unexpected(OptionsError{hp.error()});
      }
    }
    if (o.haproxy.mapDir.empty()) {
      const auto slash = o.haproxy.configPath.rfind('/');
      o.haproxy.mapDir = slash == std::string::npos ? "." : o.haproxy.configPath.substr(0, slash);
    }
  }
  return o;
}

}  // namespace sluice::cmd
