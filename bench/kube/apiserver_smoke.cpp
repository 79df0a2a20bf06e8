// Exercises the client and an informer against a live API server (the local control plane of
// e2e/k8s, or any cluster): kube_apiserver_smoke --kubeconfig FILE [--namespace NS]. Prints one
// line per check and the timings; exits non-zero on the first failure.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "operator/common/clock.h"
#include "operator/kube/config.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/kube/leader_election.h"
#include "operator/kube/rest_client.h"

namespace {

using namespace sluice::kube;
using Clock = std::chrono::steady_clock;

int fail(const std::string& what, const ApiError& e) {
  std::fprintf(stderr, "FAIL %s: %s\n", what.c_str(), e.describe().c_str());
  return 1;
}

double ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  KubeconfigOptions kopts;
  std::string ns = "default";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--kubeconfig")
      kopts.explicitPath = argv[i + 1];
    if (flag == "--namespace")
      ns = argv[i + 1];
  }
  auto config = loadConfig(kopts);
  if (!config) {
    std::fprintf(stderr, "FAIL config: %s\n", config.error().describe().c_str());
    return 1;
  }
  auto created = RestClient::create(*config);
  if (!created)
    return fail("client", created.error());
  RestClient& client = **created;
  const Resource cms = resources::configMaps();
  const std::string name =
      "sluice-smoke-" + std::to_string(Clock::now().time_since_epoch().count());

  auto t = Clock::now();
  auto list = client.list(cms, ns, {});
  if (!list)
    return fail("list", list.error());
  std::printf("ok list configmaps: %zu items rv=%s (%.1f ms)\n", list->items.size(),
              list->resourceVersion.c_str(), ms(t));

  InformerOptions iopts;
  iopts.ns = ns;
  Informer informer(client, cms, iopts);
  std::atomic<int> adds{0};
  std::atomic<int> updates{0};
  std::atomic<int> deletes{0};
  auto mine = [&](const Object& o) { return ObjectKey::of(o).name == name; };
  informer.addHandlers({[&](const Object& o) { adds += mine(o); },
                        [&](const Object&, const Object& o) { updates += mine(o); },
                        [&](const Object& o) { deletes += mine(o); }});
  t = Clock::now();
  informer.start();
  if (!informer.waitForSync(std::chrono::seconds(10))) {
    std::fprintf(stderr, "FAIL informer did not sync\n");
    return 1;
  }
  std::printf("ok informer synced: %zu objects (%.1f ms)\n", informer.size(), ms(t));

  Object cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name}, {"namespace", ns}}},
               {"data", {{"a", "1"}}}};
  auto made = client.create(cms, cm);
  if (!made)
    return fail("create", made.error());
  auto again = client.create(cms, cm);
  if (again || !again.error().isAlreadyExists()) {
    std::fprintf(stderr, "FAIL second create should be AlreadyExists\n");
    return 1;
  }
  std::printf("ok create, then AlreadyExists\n");
  auto patched = client.patch(cms, {ns, name}, {{"data", {{"b", "2"}}}});
  if (!patched)
    return fail("merge patch", patched.error());
  Object stale = *made;
  stale["data"]["c"] = "3";
  auto conflict = client.update(cms, stale);
  if (conflict || !conflict.error().isConflict()) {
    std::fprintf(stderr, "FAIL stale update should be 409 Conflict\n");
    return 1;
  }
  std::printf("ok merge patch, stale update -> 409 Conflict (%s)\n",
              conflict.error().reason.c_str());
  Object intent = {{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata", {{"name", name}, {"namespace", ns}}},
                   {"data", {{"applied", "yes"}}}};
  auto applied = client.apply(cms, intent, {"sluice-smoke", true});
  if (!applied)
    return fail("server-side apply", applied.error());
  std::printf("ok server-side apply: data=%s\n", (*applied)["data"].dump().c_str());
  auto missing = client.get(cms, {ns, name + "-missing"});
  if (missing || !missing.error().isNotFound()) {
    std::fprintf(stderr, "FAIL get of a missing object should be NotFound\n");
    return 1;
  }
  std::printf("ok get missing -> 404 NotFound\n");
  DeleteOptions del;
  del.propagationPolicy = PropagationPolicy::Background;
  if (auto removed = client.remove(cms, {ns, name}, del); !removed) {
    return fail("delete", removed.error());
  }
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (deletes.load() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::printf("informer saw: adds=%d updates=%d deletes=%d (want 1, >=2, 1)\n", adds.load(),
              updates.load(), deletes.load());
  informer.stop();
  bool ok = adds == 1 && updates >= 2 && deletes == 1;

  // Leader election on a real Lease: a acquires, b is refused, a releases, b takes over.
  sluice::SystemClock clock;
  auto elector = [&](const std::string& id) {
    LeaderElectionConfig cfg;
    cfg.leaseNamespace = ns;
    cfg.leaseName = name + "-lease";
    cfg.identity = id;
    return LeaderElector::create(client, clock, cfg);
  };
  auto a = elector("replica-a");
  auto b = elector("replica-b");
  if (!a || !b) {
    std::fprintf(stderr, "FAIL leader election config\n");
    return 1;
  }
  bool aLeads = (*a)->step();
  bool bRefused = !(*b)->step();
  (*a)->release();
  bool bTakes = (*b)->step();
  std::printf("%s leader election: a acquires=%d, b refused=%d, b takes over after release=%d\n",
              aLeads && bRefused && bTakes ? "ok" : "FAIL", aLeads, bRefused, bTakes);
  ok = ok && aLeads && bRefused && bTakes;
  (*b)->release();
  (void)client.remove(resources::leases(), {ns, name + "-lease"});

  // Events: the second identical event patches series.count instead of creating another.
  EventRecorder recorder(client, clock,
                         {"sluice.dev/smoke", "smoke-1", std::chrono::seconds(600), 16});
  Object regarding = {{"apiVersion", "v1"},
                      {"kind", "ConfigMap"},
                      {"metadata", {{"name", name}, {"namespace", ns}, {"uid", "smoke-uid"}}}};
  auto e1 = recorder.record(regarding, EventType::Normal, "SmokeTest", "Check", "hello");
  auto e2 = recorder.record(regarding, EventType::Normal, "SmokeTest", "Check", "hello");
  if (!e1)
    return fail("event create", e1.error());
  if (!e2)
    return fail("event series patch", e2.error());
  ListOptions lopts;
  auto events = client.list(resources::events(), ns, lopts);
  if (!events)
    return fail("list events", events.error());
  int mineCount = 0;
  int64_t seriesCount = 0;
  for (const auto& e : events->items) {
    if (e.value("regarding", Object::object()).value("name", "") == name) {
      ++mineCount;
      seriesCount = e.value("series", Object::object()).value("count", int64_t{0});
      (void)client.remove(resources::events(), ObjectKey::of(e));
    }
  }
  std::printf("%s events: %d Event object(s), series.count=%lld (want 1, 2)\n",
              mineCount == 1 && seriesCount == 2 ? "ok" : "FAIL", mineCount,
              static_cast<long long>(seriesCount));
  ok = ok && mineCount == 1 && seriesCount == 2;
  std::printf("%s\n", ok ? "SMOKE OK" : "SMOKE FAILED");
  return ok ? 0 : 1;
}
