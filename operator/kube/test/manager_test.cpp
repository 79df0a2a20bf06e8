#include "operator/kube/manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

// clang-format off
#include <cpprest/http_client.h>
// clang-format on

#include "operator/kube/test/test_server.h"
#include "operator/test/mocks/kube/fake_client.h"

namespace sluice::kube {
namespace {

// A custom resource like the operator's own (kube/ itself names none).
kube::Resource trafficPolicies() {
  return {"sluice.dev", "v1alpha1", "trafficpolicies", "TrafficPolicy", true};
}

using namespace std::chrono_literals;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

class RecordingReconciler : public Reconciler {
 public:
  ReconcileOutcome reconcile(const ObjectKey& key) override {
    std::lock_guard lock(mu_);
    int n = ++calls_[key.str()];
    if (firstCall_ == std::chrono::steady_clock::time_point{}) {
      firstCall_ = std::chrono::steady_clock::now();
    }
    if (key.name == "flaky" && n == 1)
      return Unexpected(ReconcileError::retry("transient"));
    if (key.name == "broken")
      return Unexpected(ReconcileError::terminalError("invalid spec"));
    return ReconcileResult{};
  }
  int calls(const std::string& key) {
    std::lock_guard lock(mu_);
    return calls_[key];
  }
  std::chrono::steady_clock::time_point firstCall() {
    std::lock_guard lock(mu_);
    return firstCall_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> calls_;
  std::chrono::steady_clock::time_point firstCall_{};
};

Object policy(const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", "ns1"}}}, {"spec", {{"weight", 1}}}};
}

std::pair<int, std::string> httpGet(const std::string& base, const std::string& path) {
  web::http::client::http_client client(base);
  auto response = client.request(web::http::methods::GET, path).get();
  return {response.status_code(), response.extract_utf8string(true).get()};
}

TEST(Manager, ReconcilesWithRetriesOwnedObjectsProbesAndReleasesLease) {
  FakeClient fake;
  SystemClock clock;
  Resource tp = trafficPolicies();
  auto good = fake.seed(tp, policy("good"));
  fake.seed(tp, policy("flaky"));
  fake.seed(tp, policy("broken"));

  ManagerOptions options;
  int port = testing::unusedPort();
  options.probeAddress = "http://127.0.0.1:" + std::to_string(port);
  options.leaderElection = true;
  options.leaderElectionConfig.leaseNamespace = "sluice-system";
  options.leaderElectionConfig.leaseName = "sluice-operator";
  options.leaderElectionConfig.identity = "replica-a";
  options.gracefulShutdown = 5s;
  Manager manager(fake, clock, options);
  RecordingReconciler reconciler;
  ControllerOptions copts;
  copts.name = "trafficpolicy";
  copts.forResource = tp;
  copts.owns = {resources::httpRoutes()};
  copts.workers = 2;
  copts.baseBackoff = 1ms;
  manager.addController(copts, reconciler);

  auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(manager.start().hasValue());
  ASSERT_TRUE(eventually([&] {
    return reconciler.calls("ns1/good") >= 1 && reconciler.calls("ns1/flaky") >= 2 &&
           reconciler.calls("ns1/broken") >= 1;
  }));
  auto startup =
      std::chrono::duration_cast<std::chrono::microseconds>(reconciler.firstCall() - begin);
  std::printf("startup to first reconcile: %lld us\n", static_cast<long long>(startup.count()));
  EXPECT_TRUE(manager.leading());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(reconciler.calls("ns1/broken"), 1) << "terminal errors are not retried";
  EXPECT_EQ(reconciler.calls("ns1/flaky"), 2) << "retried once, then success";

  // A change to an owned object reconciles its owner.
  int before = reconciler.calls("ns1/good");
  Object route = {{"metadata",
                   {{"name", "good-route"},
                    {"namespace", "ns1"},
                    {"ownerReferences",
                     {{{"apiVersion", "sluice.dev/v1alpha1"},
                       {"kind", "TrafficPolicy"},
                       {"name", "good"},
                       {"uid", good["metadata"]["uid"]},
                       {"controller", true}}}}}}};
  ASSERT_TRUE(fake.create(resources::httpRoutes(), route).hasValue());
  ASSERT_TRUE(eventually([&] { return reconciler.calls("ns1/good") > before; }));

  auto healthz = httpGet(options.probeAddress, "/healthz");
  EXPECT_EQ(healthz.first, 200);
  ASSERT_TRUE(eventually([&] { return manager.ready(); }));
  EXPECT_EQ(httpGet(options.probeAddress, "/readyz").first, 200);
  auto metrics = httpGet(options.probeAddress, "/metrics");
  EXPECT_EQ(metrics.first, 200);
  EXPECT_THAT(metrics.second,
              ::testing::HasSubstr(
                  R"(controller_reconcile_total{controller="trafficpolicy",result="error"} 1)"));
  EXPECT_THAT(
      metrics.second,
      ::testing::HasSubstr(
          R"(controller_reconcile_total{controller="trafficpolicy",result="terminal_error"} 1)"));
  EXPECT_THAT(metrics.second, ::testing::HasSubstr("controller_reconcile_duration_seconds_bucket"));
  EXPECT_THAT(metrics.second, ::testing::HasSubstr(R"(workqueue_depth{name="trafficpolicy"})"));
  EXPECT_EQ(httpGet(options.probeAddress, "/nope").first, 404);

  auto lease = fake.get(resources::leases(), {"sluice-system", "sluice-operator"});
  ASSERT_TRUE(lease.hasValue());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "replica-a");

  manager.requestStop();
  EXPECT_EQ(manager.waitAndShutdown(), 0);
  lease = fake.get(resources::leases(), {"sluice-system", "sluice-operator"});
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "") << "lease released on shutdown";
}

class SlowReconciler : public Reconciler {
 public:
  ReconcileOutcome reconcile(const ObjectKey&) override {
    started = true;
    std::this_thread::sleep_for(100ms);
    finished = true;
    return ReconcileResult{};
  }
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
};

TEST(Manager, ShutdownFinishesInFlightReconcileWithinBound) {
  FakeClient fake;
  SystemClock clock;
  fake.seed(trafficPolicies(), policy("a"));
  ManagerOptions options;
  options.probeAddress = "";
  options.gracefulShutdown = 5s;
  Manager manager(fake, clock, options);
  SlowReconciler reconciler;
  manager.addController({"tp", trafficPolicies(), {}, 1, 1ms, 1s, {}, {}}, reconciler);
  ASSERT_TRUE(manager.start().hasValue());
  ASSERT_TRUE(eventually([&] { return reconciler.started.load(); }));
  manager.requestStop();
  EXPECT_EQ(manager.waitAndShutdown(), 0);
  EXPECT_TRUE(reconciler.finished.load());
}

// The chart scrapes metrics on one port and probes another: the metrics address serves only
// /metrics, with the work-queue gauges refreshed at scrape time like the probe address.
TEST(Manager, SeparateMetricsAddressServesOnlyMetrics) {
  FakeClient fake;
  SystemClock clock;
  fake.seed(trafficPolicies(), policy("a"));
  ManagerOptions options;
  options.probeAddress = "http://127.0.0.1:" + std::to_string(testing::unusedPort());
  options.metricsAddress = "http://127.0.0.1:" + std::to_string(testing::unusedPort());
  Manager manager(fake, clock, options);
  RecordingReconciler reconciler;
  manager.addController({"tp", trafficPolicies(), {}, 1, 1ms, 1s, {}, {}}, reconciler);
  ASSERT_TRUE(manager.start().hasValue());
  auto metrics = httpGet(options.metricsAddress, "/metrics");
  EXPECT_EQ(metrics.first, 200);
  EXPECT_THAT(metrics.second, ::testing::HasSubstr("workqueue_depth{name=\"tp\"}"));
  EXPECT_EQ(httpGet(options.metricsAddress, "/healthz").first, 404);
  EXPECT_EQ(httpGet(options.probeAddress, "/healthz").first, 200);
  manager.requestStop();
  manager.waitAndShutdown();
}

TEST(Manager, BadProbeAddressFailsStart) {
  FakeClient fake;
  SystemClock clock;
  ManagerOptions options;
  options.probeAddress = "not a url";
  Manager manager(fake, clock, options);
  auto started = manager.start();
  ASSERT_FALSE(started.hasValue());
  EXPECT_THAT(started.error(), ::testing::HasSubstr("probe address"));
  manager.requestStop();
  manager.waitAndShutdown();
}

}  // namespace
}  // namespace sluice::kube
