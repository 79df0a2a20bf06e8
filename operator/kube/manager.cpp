#include "operator/kube/manager.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include "operator/kube/log.h"
// clang-format off
#include <cpprest/http_listener.h>
// clang-format on

namespace sluice::kube {
namespace {

// True when two versions of an object differ only in status and resourceVersion: the write
// of a status subresource. A resync delivers the same version twice and is not skipped.
bool statusOnlyUpdate(const Object& oldObject, const Object& newObject) {
  auto strip = [](Object o) {
    o.erase("status");
    if (auto meta = o.find("metadata"); meta != o.end() && meta->is_object()) {
      meta->erase("resourceVersion");
      meta->erase("managedFields");
    }
    return o;
  };
  const auto rv = [](const Object& o) {
    const auto meta = o.value("metadata", Object::object());
    return meta.value("resourceVersion", std::string());
  };
  return rv(oldObject) != rv(newObject) && strip(oldObject) == strip(newObject);
}

std::string resourceId(const Resource& r) {
  return r.group + "/" + r.version + "/" + r.plural;
}

std::string groupOf(const std::string& apiVersion) {
  auto slash = apiVersion.find('/');
  return slash == std::string::npos ? "" : apiVersion.substr(0, slash);
}

}  // namespace

struct Manager::Controller {
  ControllerOptions options;
  Reconciler& reconciler;
  std::unique_ptr<WorkQueue> queue;
  std::vector<std::thread> workers;
  std::atomic<int> inFlight{0};
};

struct Manager::ProbeServer {
  std::vector<std::unique_ptr<web::http::experimental::listener::http_listener>> listeners;
};

Manager::Manager(Client& client, const Clock& clock, ManagerOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {
  if (options_.metrics == nullptr) {
    ownedMetrics_ = std::make_unique<Metrics>();
    metrics_ = ownedMetrics_.get();
  } else {
    metrics_ = options_.metrics;
  }
}

Manager::~Manager() {
  if (started_.load()) {
    requestStop();
    waitAndShutdown();
  }
}

Informer& Manager::informer(const Resource& resource) {
  auto& slot = informers_[resourceId(resource)];
  if (!slot) {
    InformerOptions opts;
    opts.ns = options_.watchNamespace;
    opts.resyncPeriod = options_.resyncPeriod;
    opts.metrics = metrics_;
    slot = std::make_unique<Informer>(client_, resource, opts);
  }
  return *slot;
}

void Manager::addController(ControllerOptions options, Reconciler& reconciler) {
  auto controller =
      std::unique_ptr<Controller>(new Controller{options, reconciler, nullptr, {}, {}});
  WorkQueueOptions qopts;
  qopts.name = options.name;
  qopts.baseDelay = options.baseBackoff;
  qopts.maxDelay = options.maxBackoff;
  controller->queue = std::make_unique<WorkQueue>(clock_, qopts);
  WorkQueue* queue = controller->queue.get();

  // Handlers only enqueue keys: the reconciler reads current state itself (level-triggered).
  auto enqueueSelf = [queue](const Object& o) { queue->add(ObjectKey::of(o).str()); };
  informer(options.forResource)
      .addHandlers({enqueueSelf,
                    [enqueueSelf](const Object& oldObject, const Object& o) {
                      if (!statusOnlyUpdate(oldObject, o)) {
                        enqueueSelf(o);
                      }
                    },
                    enqueueSelf});
  for (const auto& watch : options.watches) {
    auto map = watch.map;
    auto enqueueMapped = [queue, map](const Object& o) {
      for (const auto& key : map(o)) {
        queue->add(key.str());
      }
    };
    informer(watch.resource)
        .addHandlers({enqueueMapped,
                      [enqueueMapped](const Object& oldObject, const Object& o) {
                        enqueueMapped(oldObject);
                        enqueueMapped(o);
                      },
                      enqueueMapped});
  }

  std::string ownerKind = options.forResource.kind;
  std::string ownerGroup = options.forResource.group;
  auto enqueueOwner = [queue, ownerKind, ownerGroup](const Object& o) {
    auto key = ObjectKey::of(o);
    const auto& meta = o.value("metadata", Object::object());
    auto refs = meta.find("ownerReferences");
    if (refs == meta.end() || !refs->is_array())
      return;
    for (const auto& ref : *refs) {
      if (ref.value("kind", "") == ownerKind &&
          groupOf(ref.value("apiVersion", "")) == ownerGroup) {
        queue->add(ObjectKey{key.ns, ref.value("name", "")}.str());
      }
    }
  };
  for (const auto& owned : options.owns) {
    informer(owned).addHandlers(
        {enqueueOwner,
         [enqueueOwner](const Object& oldObject, const Object& o) {
           enqueueOwner(oldObject);  // an owner reference removed still concerns the old owner
           enqueueOwner(o);
         },
         enqueueOwner});
  }
  controllers_.push_back(std::move(controller));
}

bool Manager::ready() const {
  for (const auto& [id, informer] : informers_) {
    if (!informer->hasSynced())
      return false;
  }
  return started_.load();
}

Expected<void, std::string> Manager::openEndpoints() {
  probes_ = std::make_unique<ProbeServer>();
  // withProbes: /healthz and /readyz as well as /metrics.
  auto open = [this](const std::string& address, bool withProbes) -> Expected<void, std::string> {
    try {
      auto listener =
          std::make_unique<web::http::experimental::listener::http_listener>(web::uri(address));
      listener->support(web::http::methods::GET, [this, withProbes](web::http::http_request req) {
        const auto path = req.relative_uri().path();
        if (path == "/metrics") {
          refreshQueueGauges();
          req.reply(web::http::status_codes::OK, metrics_->render(),
                    "text/plain; version=0.0.4; charset=utf-8");
        } else if (withProbes && path == "/healthz") {
          req.reply(web::http::status_codes::OK, "ok", "text/plain");
        } else if (withProbes && path == "/readyz") {
          bool isReady = ready();
          req.reply(
              isReady ? web::http::status_codes::OK : web::http::status_codes::ServiceUnavailable,
              isReady ? "ok" : "informer caches not synced", "text/plain");
        } else {
          req.reply(web::http::status_codes::NotFound, "not found", "text/plain");
        }
      });
      listener->open().wait();
      probes_->listeners.push_back(std::move(listener));
      return {};
    } catch (const std::exception& e) {
      return Unexpected(std::string(withProbes ? "probe address " : "metrics address ") + address +
                        ": " + e.what());
    }
  };
  Expected<void, std::string> opened;
  if (!options_.probeAddress.empty()) {
    opened = open(options_.probeAddress, true);
  }
  if (opened && !options_.metricsAddress.empty() &&
      options_.metricsAddress != options_.probeAddress) {
    opened = open(options_.metricsAddress, false);
  }
  if (!opened) {
    closeEndpoints();
  }
  return opened;
}

void Manager::closeEndpoints() {
  if (!probes_) {
    return;
  }
  for (auto& listener : probes_->listeners) {
    try {
      listener->close().wait();
    } catch (const std::exception& e) {
      logger()->warn("closing probe listener: {}", e.what());
    }
  }
  probes_.reset();
}

Expected<void, std::string> Manager::start() {
  if (started_.exchange(true))
    return Unexpected(std::string("manager already started"));
  if (auto opened = openEndpoints(); !opened) {
    return opened;
  }

  if (options_.leaderElection) {
    auto cfg = options_.leaderElectionConfig;
    cfg.onStartedLeading = [this] {
      leading_ = true;
      stopCv_.notify_all();
    };
    cfg.onStoppedLeading = [this] {
      leading_ = false;
      if (!stopRequested_.load()) {
        // Another replica may already be reconciling: stop at once rather than risk two
        // writers (client-go's controllers exit on lost leadership too).
        logger()->error("lost the leader lease; shutting down");
        lostLease_ = true;
        requestStop();
      }
    };
    auto elector = LeaderElector::create(client_, clock_, cfg);
    if (!elector)
      return Unexpected(elector.error());
    elector_ = std::move(elector).value();
    electorThread_ = std::thread([this] { elector_->run(); });
  } else {
    leading_ = true;
  }

  // Informers start at once (even before leading) so a new leader has a warm cache.
  for (auto& [id, informer] : informers_)
    informer->start();
  starterThread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopRequested_.load()) {
      if (leading_.load() && ready()) {
        lock.unlock();
        startWorkers();
        return;
      }
      stopCv_.wait_for(lock, std::chrono::milliseconds(5));
    }
  });
  return {};
}

void Manager::startWorkers() {
  std::lock_guard lock(mu_);
  if (stopRequested_.load() || workersStarted_.exchange(true))
    return;
  for (auto& controller : controllers_) {
    if (controller->options.startupKeys) {
      for (const auto& key : controller->options.startupKeys()) {
        controller->queue->add(key.str());
      }
    }
    logger()->info("starting controller {} with {} workers", controller->options.name,
                   controller->options.workers);
    for (int i = 0; i < std::max(1, controller->options.workers); ++i) {
      Controller* c = controller.get();
      controller->workers.emplace_back([this, c] { workerLoop(*c); });
    }
  }
}

void Manager::workerLoop(Controller& controller) {
  while (auto key = controller.queue->get()) {
    ++controller.inFlight;
    processOne(controller, *key);
    --controller.inFlight;
  }
}

void Manager::processOne(Controller& controller, const std::string& key) {
  const std::string& name = controller.options.name;
  auto begin = clock_.steadyNow();
  ReconcileOutcome outcome = ReconcileResult{};
  try {
    outcome = controller.reconciler.reconcile(ObjectKey::parse(key));
  } catch (const std::exception& e) {
    // A throwing reconciler must not take the worker down; treat it as a retryable error.
    outcome = Unexpected(ReconcileError::retry(std::string("exception: ") + e.what()));
  }
  double seconds = std::chrono::duration<double>(clock_.steadyNow() - begin).count();
  WorkQueue& queue = *controller.queue;
  std::string result;
  if (!outcome) {
    const ReconcileError& err = outcome.error();
    if (err.terminal) {
      result = "terminal_error";
      queue.forget(key);
      logger()->error("controller={} key={} terminal error (not retried): {}", name, key,
                      err.message);
    } else {
      result = "error";
      queue.addRateLimited(key);
      logger()->warn("controller={} key={} error (retry {}): {}", name, key, queue.numRequeues(key),
                     err.message);
    }
  } else if (outcome->requeueAfter.count() > 0) {
    result = "requeue_after";
    queue.forget(key);
    queue.addAfter(key, outcome->requeueAfter);
  } else if (outcome->requeue) {
    result = "requeue";
    queue.addRateLimited(key);
  } else {
    result = "success";
    queue.forget(key);
  }
  queue.done(key);
  metrics_->counterAdd("controller_reconcile_total", "Reconciles by controller and result",
                       {{"controller", name}, {"result", result}});
  metrics_->histogramObserve("controller_reconcile_duration_seconds",
                             "Reconcile duration by controller and result",
                             {{"controller", name}, {"result", result}}, seconds);
}

void Manager::refreshQueueGauges() {
  for (const auto& c : controllers_) {
    auto s = c->queue->stats();
    Labels l{{"name", c->options.name}};
    metrics_->gaugeSet("workqueue_depth", "Keys waiting in the work queue", l,
                       static_cast<double>(s.depth));
    metrics_->gaugeSet("workqueue_adds_total", "Keys added to the work queue", l,
                       static_cast<double>(s.adds));
    metrics_->gaugeSet("workqueue_retries_total", "Rate-limited re-adds", l,
                       static_cast<double>(s.retries));
    metrics_->gaugeSet("workqueue_work_duration_seconds_sum", "Total time spent processing keys", l,
                       s.workSecondsTotal);
    metrics_->gaugeSet("workqueue_work_duration_seconds_count", "Keys processed", l,
                       static_cast<double>(s.workCount));
  }
  metrics_->gaugeSet("leader_election_is_leader", "1 while this replica holds the lease", {},
                     leading_.load() ? 1 : 0);
}

void Manager::requestStop() {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = !stopRequested_.exchange(true);
  }
  if (first && options_.onStop) {
    options_.onStop();
  }
  stopCv_.notify_all();
}

int Manager::waitAndShutdown() {
  {
    std::unique_lock lock(mu_);
    stopCv_.wait(lock, [this] { return stopRequested_.load(); });
  }
  if (starterThread_.joinable())
    starterThread_.join();
  logger()->info("shutting down: no new work, waiting up to {} ms for in-flight reconciles",
                 options_.gracefulShutdown.count());
  for (auto& c : controllers_)
    c->queue->shutdown(/*drain=*/false);
  auto deadline = std::chrono::steady_clock::now() + options_.gracefulShutdown;
  int abandoned = 0;
  for (auto& c : controllers_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!c->queue->waitUntilIdle(std::max(left, std::chrono::milliseconds(0)))) {
      abandoned += c->inFlight.load();
      logger()->error("controller {}: abandoning {} in-flight reconciles after the shutdown bound",
                      c->options.name, c->inFlight.load());
      for (auto& t : c->workers)
        t.detach();
    } else {
      for (auto& t : c->workers)
        t.join();
    }
    c->workers.clear();
  }
  for (auto& [id, informer] : informers_)
    informer->stop();
  if (elector_) {
    elector_->stop();  // run() releases the lease on its way out
    if (electorThread_.joinable())
      electorThread_.join();
  }
  closeEndpoints();
  started_ = false;
  return abandoned;
}

void Manager::blockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int Manager::run() {
  if (auto started = start(); !started) {
    logger()->error("manager start failed: {}", started.error());
    return 1;
  }
  std::thread signals([this] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    timespec timeout{0, 100'000'000};
    while (!stopRequested_.load()) {
      int sig = sigtimedwait(&set, nullptr, &timeout);
      if (sig == SIGTERM || sig == SIGINT) {
        logger()->info("received signal {}", sig);
        requestStop();
      }
    }
  });
  int abandoned = waitAndShutdown();
  signals.join();
  return abandoned > 0 || lostLease_.load() ? 1 : 0;
}

}  // namespace sluice::kube
