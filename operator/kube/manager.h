#pragma once

// Wires informers, work queues, workers, leader election and the health/metrics endpoint
// together, like controller-runtime's manager. Typical use (see the report/README):
//
//   Manager mgr(client, clock, options);
//   mgr.addController({"widget", widgets, {resources::httpRoutes()}}, reconciler);
//   Informer& routes = mgr.informer(resources::httpRoutes());  // reconcilers read the cache
//   return mgr.run();  // until SIGTERM/SIGINT (after Manager::blockTerminationSignals())

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "operator/common/clock.h"
#include "operator/kube/client.h"
#include "operator/kube/controller.h"
#include "operator/kube/informer.h"
#include "operator/kube/leader_election.h"
#include "operator/kube/metrics.h"
#include "operator/kube/workqueue.h"

namespace sluice::kube {

// Events on `resource` enqueue the keys `map` returns (controller-runtime's Watches with
// EnqueueRequestsFromMapFunc): e.g. a Service maps to the CanaryRollouts that route to it.
// Updates call `map` for the old and the new object, so a reference removed still counts.
struct Watch {
  Resource resource;
  std::function<std::vector<ObjectKey>(const Object&)> map;
};

struct ControllerOptions {
  std::string name;
  // Events on these objects enqueue their own key. Updates that change only status (and
  // metadata.resourceVersion) are skipped, so a controller's own status write never wakes it
  // again (controller-runtime users add a predicate for this); a resync still delivers.
  Resource forResource;
  std::vector<Resource> owns;  // events on these enqueue their controller owner of forResource.kind
  int workers = 2;
  std::chrono::milliseconds baseBackoff{5};
  std::chrono::milliseconds maxBackoff{300'000};
  std::vector<Watch> watches;
  // Keys reconciled once when the workers start, besides everything in the cache: e.g. owners
  // a data plane still carries output for though they were deleted while no operator ran.
  std::function<std::vector<ObjectKey>()> startupKeys;
};

struct ManagerOptions {
  std::string watchNamespace;  // empty = all namespaces
  // http://host:port for /healthz, /readyz, /metrics; empty disables the endpoint.
  std::string probeAddress = "http://0.0.0.0:8080";
  // http://host:port serving /metrics only, for deployments that scrape a separate port
  // (the chart: metrics :8080, probes :8081); empty or equal to probeAddress: none.
  std::string metricsAddress;
  bool leaderElection = false;
  LeaderElectionConfig leaderElectionConfig;  // callbacks are set by the manager
  std::chrono::milliseconds gracefulShutdown{10'000};
  std::chrono::milliseconds resyncPeriod{0};
  Metrics* metrics = nullptr;  // shared with the RestClient; owned by the manager if null
  // Called once, when a stop is requested (SIGTERM, a lost Lease): e.g. RestClient::stopRetrying,
  // so in-flight reconciles and the Lease release end within the shutdown bound even when the
  // API server is down.
  std::function<void()> onStop;
};

class Manager {
 public:
  Manager(Client& client, const Clock& clock, ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Before start(). The informer for a resource is shared by every controller and reader.
  Informer& informer(const Resource& resource);
  void addController(ControllerOptions options, Reconciler& reconciler);
  Metrics& metrics() { return *metrics_; }

  // Starts the endpoint, informers and (once leading and synced) the workers. Fails on a bad
  // probe address or leader election config.
  Expected<void, std::string> start();
  // Thread-safe, async-signal-unsafe: call from a normal thread.
  void requestStop();
  bool stopRequested() const { return stopRequested_.load(); }
  // Blocks until requestStop(), then shuts down: stop taking work, wait up to gracefulShutdown
  // for in-flight reconciles, release the lease. Returns the number of reconciles abandoned
  // (their threads are detached; the caller should exit the process promptly).
  int waitAndShutdown();
  // start() + waitAndShutdown() with SIGTERM/SIGINT handling; 0 on a clean shutdown.
  int run();

  bool ready() const;
  bool leading() const { return leading_.load(); }
  bool workersStarted() const { return workersStarted_.load(); }

  // Blocks SIGTERM/SIGINT in the calling thread (call first thing in main, before threads
  // exist, so every thread inherits the mask) so run() can receive them with sigtimedwait.
  static void blockTerminationSignals();

 private:
  struct Controller;
  void startWorkers();
  void workerLoop(Controller& controller);
  void processOne(Controller& controller, const std::string& key);
  Expected<void, std::string> openEndpoints();
  void closeEndpoints();
  void refreshQueueGauges();

  Client& client_;
  const Clock& clock_;
  ManagerOptions options_;
  std::unique_ptr<Metrics> ownedMetrics_;
  Metrics* metrics_;
  std::map<std::string, std::unique_ptr<Informer>> informers_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::unique_ptr<LeaderElector> elector_;
  std::thread electorThread_;
  std::thread starterThread_;
  struct ProbeServer;
  std::unique_ptr<ProbeServer> probes_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> leading_{false};
  std::atomic<bool> workersStarted_{false};
  std::atomic<bool> lostLease_{false};
  std::mutex mu_;
  std::condition_variable stopCv_;
};

}  // namespace sluice::kube
