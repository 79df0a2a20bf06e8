// sluice-operator: wiring only. Options → Kubernetes client → the traffic providers → manager
// with informers and the CanaryRollout controller → run until SIGTERM/SIGINT. This is the one
// place that names providers.

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "operator/cmd/haproxy_provider.h"
#include "operator/cmd/options.h"
#include "operator/controllers/canary_rollout_controller.h"
#include "operator/controllers/indexes.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/status_metrics.h"
#include "operator/controllers/tier_limit_controller.h"
#include "operator/controllers/traffic_policy_controller.h"
#include "operator/kube/cached_reader.h"
#include "operator/kube/config.h"
#include "operator/kube/events.h"
#include "operator/kube/manager.h"
#include "operator/kube/rest_client.h"
#include "operator/prometheus/client.h"
#include "operator/render/gatewayapi/provider.h"
#include "operator/render/haproxy/provider.h"

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

}  // namespace

// glibc keeps what the operator frees: a relist or a burst of reconciles decodes thousands of
// objects, and the freed pages stay in the process (measured in the soak: 132 MiB RSS of which
// 40 MiB in use; 75 MiB after one malloc_trim). Two arenas instead of glibc's 8 a core for the
// operator's ~60 threads, and the free pages handed back every 10 s.
namespace {

class MemoryReturner {
 public:
  MemoryReturner() {
    mallopt(M_ARENA_MAX, 2);
    thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::seconds{10}, [this] { return stopping_; })) {
        malloc_trim(0);
      }
    });
  }
  ~MemoryReturner() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  MemoryReturner(const MemoryReturner&) = delete;
  MemoryReturner& operator=(const MemoryReturner&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  kube::Manager::blockTerminationSignals();
  MemoryReturner memory;
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
  // Events go through a client of their own, with its own rate limiter (as controller-runtime's
  // recorder does): saying what happened never delays the writes that make it happen. At the
  // shared limit, 10,000 new rollouts' Events cost a third more convergence time.
  auto eventClient = kube::RestClient::create(*config, restOptions);
  if (!eventClient) {
    log->critical("kubernetes client: {}", eventClient.error().describe());
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
  managerOptions.onStop = [&client, &eventClient] {
    (*client)->stopRetrying();
    (*eventClient)->stopRetrying();
  };
  kube::Manager manager(**client, clock, managerOptions);

  kube::CachedReader cache;
  const auto rolloutsResource = controllers::resources::canaryRollouts();
  cache.add(&manager.informer(rolloutsResource));
  const auto policiesResource = controllers::resources::trafficPolicies();
  cache.add(&manager.informer(policiesResource));
  const auto tierLimitsResource = controllers::resources::tierLimits();
  cache.add(&manager.informer(tierLimitsResource));
  cache.add(&manager.informer(kube::resources::services()));
  cache.add(&manager.informer(kube::resources::httpRoutes()));
  // Envoy Gateway's BackendTrafficPolicy is optional: without its CRD the gatewayAPI provider
  // still writes HTTPRoutes and says in status that the policy could not be written. An
  // informer on a resource the API server does not serve would never sync (nor let the
  // operator become ready), so it is watched only when served at start.
  const auto btp = kube::resources::backendTrafficPolicies();
  kube::ListOptions probe;
  probe.limit = 1;
  auto listed = (*client)->list(btp, o.watchNamespace, probe);
  const bool btpServed = listed || !listed.error().isNotFound();
  if (btpServed) {
    cache.add(&manager.informer(btp));
  } else {
    log->warn("{}.{} is not served: BackendTrafficPolicies will not be written", btp.plural,
              btp.group);
  }
  cache.add(&manager.informer(kube::resources::horizontalPodAutoscalers()));
  cache.add(&manager.informer(kube::resources::pods()));
  manager.informer(kube::resources::pods()).setTransform(controllers::indexes::podForCache);
  // The indexes the controllers and the gatewayAPI provider find related objects by (never
  // an informer for a resource not served: it would never sync).
  auto indexes = render::gatewayapi::GatewayApiProvider::cacheIndexes();
  const auto controllerIndexes = controllers::indexes::cacheIndexes();
  indexes.insert(indexes.end(), controllerIndexes.begin(), controllerIndexes.end());
  for (const auto& [resource, index] : indexes) {
    if (btpServed || !(resource == btp)) {
      manager.informer(resource).addIndex(index->name, index->values);
    }
  }

  // The traffic providers. gatewayAPI is always there; haproxy when configured. Its start()
  // writes haproxy.cfg at once (from the plans it kept), so HAProxy can start before the
  // first reconcile.
  render::Providers providers;
  providers.add(std::make_unique<render::gatewayapi::GatewayApiProvider>(
      cache, **client, controllers::kFieldManager));
  if (o.haproxy.enabled()) {
    auto haproxy =
        std::make_unique<render::haproxy::HaproxyProvider>(cmd::haproxyProviderOptions(o.haproxy));
    if (auto started = haproxy->start(); !started) {
      log->warn("{}", started.error());
    }
    providers.add(std::move(haproxy));
  }

  // The kinds' status as gauges, from the caches at each scrape, and the data planes' counts
  // per tier (controllers/status_metrics.h).
  controllers::StatusMetricsSources statusSources{
      &manager.informer(rolloutsResource), &manager.informer(policiesResource),
      &manager.informer(tierLimitsResource),
      &manager.informer(kube::resources::horizontalPodAutoscalers()), &providers};
  metrics.addCollector([statusSources](kube::Metrics& out) {
    controllers::collectStatusMetrics(statusSources, out);
  });

  kube::EventRecorderOptions eventOptions;
  eventOptions.reportingController = controllers::kControllerName;
  eventOptions.reportingInstance = managerOptions.leaderElectionConfig.identity;
  kube::EventRecorder events(**eventClient, clock, eventOptions);
  std::string prometheusCa;
  if (!o.prometheusCaFile.empty()) {
    std::ifstream in(o.prometheusCaFile, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    prometheusCa = text.str();
    if (!in) {
      log->critical("--prometheus-ca-file {}: cannot read it", o.prometheusCaFile);
      return 1;
    }
    if (auto bad = prometheus::checkCaBundle(prometheusCa)) {
      log->critical("--prometheus-ca-file {}: {}", o.prometheusCaFile, *bad);
      return 1;
    }
  }
  controllers::PrometheusClients prometheusClients([prometheusCa](const std::string& address) {
    return prometheus::makeHttpQueryClient({address, std::chrono::seconds{2}, prometheusCa});
  });

  controllers::Deps deps;
  deps.cache = &cache;
  deps.writer = client->get();
  deps.statusWriter = client->get();
  deps.events = &events;
  deps.prometheus = &prometheusClients;
  deps.providers = &providers;
  deps.metrics = &metrics;
  deps.clock = &clock;
  controllers::CanaryRolloutReconciler canary(deps);
  kube::ControllerOptions canaryOptions;
  canaryOptions.name = "canaryrollout";
  canaryOptions.forResource = rolloutsResource;
  canaryOptions.owns = {kube::resources::httpRoutes(), kube::resources::horizontalPodAutoscalers()};
  canaryOptions.workers = o.workers;
  // Retries double from 5 ms up to 10 s: a dead gateway costs six cheap retries a minute (no
  // API writes), and traffic follows status within 10 s of the gateway coming back.
  canaryOptions.maxBackoff = std::chrono::seconds{10};
  canaryOptions.watches = {
      {kube::resources::services(),
       [&canary](const kube::Object& service) { return canary.rolloutsUsingService(service); }},
      {policiesResource,
       [&canary](const kube::Object& policy) { return canary.rolloutsUsingPolicy(policy); }}};
  canaryOptions.startupKeys = [&canary] { return canary.ownersInDataPlanes(); };
  manager.addController(canaryOptions, canary);

  controllers::TrafficPolicyReconciler policies(deps);
  kube::ControllerOptions policyOptions;
  policyOptions.name = "trafficpolicy";
  policyOptions.forResource = policiesResource;
  policyOptions.owns = {kube::resources::httpRoutes()};
  if (btpServed) {
    policyOptions.owns.push_back(btp);  // CanaryRollout routes carry no resilience: no policy
  }
  policyOptions.workers = o.workers;
  policyOptions.maxBackoff = std::chrono::seconds{10};
  policyOptions.watches = {
      {kube::resources::services(),
       [&policies](const kube::Object& service) { return policies.policiesUsingService(service); }},
      {rolloutsResource,
       [&policies](const kube::Object& rollout) { return policies.policyOfRollout(rollout); }},
      {tierLimitsResource, [&policies](const kube::Object& tierLimit) {
         return policies.policiesOfTierLimit(tierLimit);
       }}};
  policyOptions.startupKeys = [&policies] { return policies.ownersInDataPlanes(); };
  manager.addController(policyOptions, policies);

  controllers::TierLimitReconciler tierLimits(deps, engine::systemZones());
  kube::ControllerOptions tierLimitOptions;
  tierLimitOptions.name = "tierlimit";
  tierLimitOptions.forResource = tierLimitsResource;
  tierLimitOptions.owns = {kube::resources::horizontalPodAutoscalers()};
  tierLimitOptions.workers = o.workers;
  tierLimitOptions.maxBackoff = std::chrono::seconds{10};
  tierLimitOptions.watches = {
      {kube::resources::horizontalPodAutoscalers(),
       [&tierLimits](const kube::Object& hpa) { return tierLimits.tierLimitsForHpa(hpa); }},
      {policiesResource, [&tierLimits](const kube::Object& policy) {
         return tierLimits.tierLimitsForPolicy(policy);
       }}};
  manager.addController(tierLimitOptions, tierLimits);

  log->info("sluice-operator starting (namespace: {}, leader election: {})",
            o.watchNamespace.empty() ? "all" : o.watchNamespace, o.leaderElect);
  const int rc = manager.run();
  log->info("sluice-operator stopped");
  return rc;
}
