#pragma once

// The operator's whole configuration: one typed struct, explicit defaults, validated once at
// start-up so a bad flag is a clear fatal error instead of a surprise later.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "operator/common/expected.h"

namespace sluice::cmd {

struct HostPort {
  std::string host;
  int port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

struct HaproxyOptions {
  // Local mode: the operator writes haproxy.cfg and the weight map files here, reloads HAProxy
  // through its master socket when routes change, and moves weights with the runtime API.
  std::string configPath;
  std::string mapDir;
  std::string frontendBind = "127.0.0.1:8000";
  std::string statsBind = "127.0.0.1:8404";
  // The runtime API (HAProxy's admin-level stats socket): an absolute unix socket path, which
  // HAProxy creates with mode 600 (only its own user, the operator's, may use it), or host:port
  // (any local process could). Empty: <mapDir>/admin.sock.
  std::string runtimeAddress;
  std::string masterSocket;
  // The haproxy binary that checks each new config (`haproxy -c`) before it is written, so a
  // config HAProxy would refuse is refused for the owner whose plan made it. Empty: no check.
  std::string checkBinary;
  // The local peer HAProxy keeps its rate-limit counters through across reloads; empty: none.
  std::string peersBind = "127.0.0.1:8405";
  bool enabled() const { return !configPath.empty(); }
};

struct OperatorOptions {
  std::string kubeconfig;  // empty: KUBECONFIG, then in-cluster
  std::string context;
  std::string watchNamespace;  // empty: all namespaces
  std::string metricsBindAddress = ":8080";
  std::string healthProbeBindAddress = ":8081";
  bool leaderElect = false;
  std::string leaderElectionNamespace;  // empty: the pod's namespace, else "default"
  std::string leaderElectionId = "sluice-operator";
  std::chrono::seconds leaseDuration{15};
  std::chrono::seconds renewDeadline{10};
  std::chrono::seconds retryPeriod{2};
  std::string logLevel = "info";
  int workers = 4;
  double qps = 50;
  int burst = 100;
  std::chrono::seconds shutdownTimeout{10};
  // PEM bundle of the CAs for https Prometheus addresses; empty: the system roots.
  std::string prometheusCaFile;
  HaproxyOptions haproxy;
};

// Parses and validates argv. On --help the error carries the help text and `helpRequested`.
struct OptionsError {
  std::string message;
  bool helpRequested = false;
  int exitCode = 2;
};

Expected<OperatorOptions, OptionsError> parseOptions(int argc, const char* const* argv);

// "host:port" or ":port" (all interfaces) → HostPort; the error names the flag.
Expected<HostPort, std::string> parseHostPort(const std::string& flag, const std::string& value);

}  // namespace sluice::cmd
