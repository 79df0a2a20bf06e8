// sluice-operator: wiring only. Options → Kubernetes client → manager with informers and the
// CanaryRollout controller → run until SIGTERM/SIGINT.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <random>
#include <thread>

#include "operator/cmd/options.h"
#include "operator/controllers/canary_rollout_controller.h"
#include "operator/controllers/haproxy_gateway.h"
#include "operator/controllers/informer_reader.h"
#include "operator/kube/config.h"
#include "operator/kube/events.h"
#include "operator/kube/manager.h"
#include "operator/kube/rest_client.h"
#include "operator/prometheus/client.h"

namespace {

using namespace sluice;

std::string replicaIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) {
    std::snprintf(host, sizeof(host), "sluice-operator");
  }
  std::random_device rd;
  return std::string(host) + "_" + std::to_string(rd() % 100000);
}

std::string leaseNamespace(const cmd::OperatorOptions& o) {
  if (!o.leaderElectionNamespace.empty()) {
    return o.leaderElectionNamespace;
  }
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns != nullptr && *ns != '\0') {
    return ns;
  }
  return "default";
}

std::string httpUri(const std::string& flag, const std::string& address) {
  auto hp = cmd::parseHostPort(flag, address);
  return "http://" + hp->host + ":" + std::to_string(hp->port);
}

controllers::HaproxyGatewayOptions haproxyOptions(const cmd::HaproxyOptions& o) {
  controllers::HaproxyGatewayOptions g;
  g.configPath = o.configPath;
  g.weightsMapPath = o.mapDir + "/weights.map";
  auto frontend = cmd::parseHostPort("haproxy-frontend-bind", o.frontendBind);
  auto stats = cmd::parseHostPort("haproxy-stats-bind", o.statsBind);
  g.config.bindAddress = frontend->host;
  g.config.frontendPort = frontend->port;
  g.config.exporterPort = stats->port;
  g.config.runtimeAddress = "ipv4@" + o.runtimeAddress;
  g.runtimeAddress = o.runtimeAddress;
  g.masterSocket = o.masterSocket;
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  kube::Manager::blockTerminationSignals();
  auto options = cmd::parseOptions(argc, argv);
  if (!options) {
    std::fprintf(options.error().helpRequested ? stdout : stderr, "%s\n",
                 options.error().message.c_str());
    return options.error().exitCode;
  }
  const cmd::OperatorOptions& o = *options;
  spdlog::set_level(spdlog::level::from_str(o.logLevel));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [%n] %v", spdlog::pattern_time_type::utc);
  auto log = spdlog::default_logger();

  auto config = kube::loadConfig({o.kubeconfig, o.context});
  if (!config) {
    log->critical("kubernetes config: {}", config.error().describe());
    return 1;
  }
  SystemClock clock;
  kube::Metrics metrics;
  kube::RestClientOptions restOptions;
  restOptions.qps = o.qps;
  restOptions.burst = o.burst;
  restOptions.metrics = &metrics;
  auto client = kube::RestClient::create(*config, restOptions);
  if (!client) {
    log->critical("kubernetes client: {}", client.error().describe());
    return 1;
  }

  kube::ManagerOptions managerOptions;
  managerOptions.watchNamespace = o.watchNamespace;
  managerOptions.probeAddress = httpUri("health-probe-bind-address", o.healthProbeBindAddress);
  managerOptions.metricsAddress = httpUri("metrics-bind-address", o.metricsBindAddress);
  managerOptions.leaderElection = o.leaderElect;
  managerOptions.leaderElectionConfig.leaseNamespace = leaseNamespace(o);
  managerOptions.leaderElectionConfig.leaseName = o.leaderElectionId;
  managerOptions.leaderElectionConfig.identity = replicaIdentity();
  managerOptions.leaderElectionConfig.leaseDuration = o.leaseDuration;
  managerOptions.leaderElectionConfig.renewDeadline = o.renewDeadline;
  managerOptions.leaderElectionConfig.retryPeriod = o.retryPeriod;
  managerOptions.gracefulShutdown = o.shutdownTimeout;
  managerOptions.metrics = &metrics;
  kube::Manager manager(**client, clock, managerOptions);

  controllers::InformerReader cache;
  auto& rollouts = manager.informer(kube::resources::canaryRollouts());
  auto& services = manager.informer(kube::resources::services());
  cache.add(&rollouts);
  cache.add(&services);
  cache.add(&manager.informer(kube::resources::httpRoutes()));
  cache.add(&manager.informer(kube::resources::horizontalPodAutoscalers()));
  cache.add(&manager.informer(kube::Resource{"", "v1", "pods", "Pod", true}));

  kube::EventRecorderOptions eventOptions;
  eventOptions.reportingController = controllers::kControllerName;
  eventOptions.reportingInstance = managerOptions.leaderElectionConfig.identity;
  kube::EventRecorder events(**client, clock, eventOptions);
  controllers::PrometheusClients prometheusClients([](const std::string& address) {
    return prometheus::makeHttpQueryClient({address, std::chrono::seconds{2}});
  });
  std::unique_ptr<controllers::HaproxyGateway> haproxy;
  if (o.haproxy.enabled()) {
    haproxy = std::make_unique<controllers::HaproxyGateway>(haproxyOptions(o.haproxy));
  }

  controllers::CanaryRolloutDeps deps;
  deps.cache = &cache;
  deps.writer = client->get();
  deps.statusWriter = client->get();
  deps.events = &events;
  deps.prometheus = &prometheusClients;
  deps.haproxy = haproxy.get();
  deps.metrics = &metrics;
  deps.clock = &clock;
  controllers::CanaryRolloutReconciler canary(deps);
  manager.addController(
      {"canaryrollout",
       kube::resources::canaryRollouts(),
       {kube::resources::httpRoutes(), kube::resources::horizontalPodAutoscalers()},
       o.workers},
      canary);

  // The local HAProxy needs its config before it can start, even with no rollouts yet: write
  // it as soon as the caches it is rendered from have synced.
  std::thread haproxyBootstrap;
  if (haproxy) {
    haproxyBootstrap = std::thread([&] {
      while (!manager.stopRequested()) {
        if (rollouts.waitForSync(std::chrono::milliseconds{100}) &&
            services.waitForSync(std::chrono::milliseconds{100})) {
          if (auto s = canary.syncHaproxyRoutes(); !s) {
            log->warn("haproxy: {}", s.error());
          }
          return;
        }
      }
    });
  }

  log->info("sluice-operator starting (namespace: {}, leader election: {})",
            o.watchNamespace.empty() ? "all" : o.watchNamespace, o.leaderElect);
  const int rc = manager.run();
  if (haproxyBootstrap.joinable()) {
    haproxyBootstrap.join();
  }
  log->info("sluice-operator stopped");
  return rc;
}
