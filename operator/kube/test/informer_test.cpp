#include "operator/kube/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "operator/kube/cached_reader.h"
#include "operator/test/mocks/kube/fake_client.h"

namespace sluice::kube {
namespace {

// A custom resource like the operator's own (kube/ itself names none).
kube::Resource trafficPolicies() {
  return {"sluice.dev", "v1alpha1", "trafficpolicies", "TrafficPolicy", true};
}

using namespace std::chrono_literals;

// Waits for a condition that depends on another thread's I/O, with a bound.
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

Object policy(const std::string& name, int weight = 1) {
  return {{"apiVersion", "sluice.dev/v1alpha1"},
          {"kind", "TrafficPolicy"},
          {"metadata", {{"name", name}, {"namespace", "ns1"}}},
          {"spec", {{"weight", weight}}}};
}

struct Recorder {
  std::mutex mu;
  std::vector<std::string> log;  // "add:a", "update:a", "delete:a"
  InformerHandlers handlers() {
    return {[this](const Object& o) { push("add:" + ObjectKey::of(o).name); },
            [this](const Object&, const Object& o) { push("update:" + ObjectKey::of(o).name); },
            [this](const Object& o) { push("delete:" + ObjectKey::of(o).name); }};
  }
  void push(std::string s) {
    std::lock_guard lock(mu);
    log.push_back(std::move(s));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mu);
    return log;
  }
  size_t size() { return snapshot().size(); }
};

InformerOptions fastOptions() {
  InformerOptions o;
  o.pageSize = 2;  // exercise pagination with a handful of objects
  o.minBackoff = 5ms;
  o.maxBackoff = 20ms;
  return o;
}

TEST(Informer, ListsThenWatchesAddsUpdatesDeletes) {
  FakeClient fake;
  Resource tp = trafficPolicies();
  fake.seed(tp, policy("a"));
  fake.seed(tp, policy("b"));
  fake.seed(tp, policy("c"));
  Informer informer(fake, tp, fastOptions());
  Recorder rec;
  informer.addHandlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  EXPECT_EQ(informer.size(), 3u);
  EXPECT_THAT(rec.snapshot(), ::testing::UnorderedElementsAre("add:a", "add:b", "add:c"));
  ASSERT_TRUE(eventually([&] { return fake.openWatches() == 1; }));

  ASSERT_TRUE(fake.create(tp, policy("d")).hasValue());
  ASSERT_TRUE(fake.patch(tp, {"ns1", "a"}, {{"spec", {{"weight", 5}}}}).hasValue());
  ASSERT_TRUE(fake.remove(tp, {"ns1", "b"}).hasValue());
  ASSERT_TRUE(eventually([&] { return rec.size() == 6; }));
  auto log = rec.snapshot();
  EXPECT_EQ(std::vector<std::string>(log.begin() + 3, log.end()),
            (std::vector<std::string>{"add:d", "update:a", "delete:b"}));
  EXPECT_EQ(informer.get({"ns1", "a"}).value()["spec"]["weight"], 5);
  EXPECT_FALSE(informer.get({"ns1", "b"}).has_value());
  EXPECT_EQ(informer.lastResourceVersion(), fake.currentResourceVersion());
  informer.stop();
}

TEST(Informer, ReconnectResumesFromLastResourceVersionWithoutDuplicates) {
  FakeClient fake;
  Resource tp = trafficPolicies();
  fake.seed(tp, policy("a"));
  Informer informer(fake, tp, fastOptions());
  Recorder rec;
  informer.addHandlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  ASSERT_TRUE(eventually([&] { return fake.openWatches() == 1; }));
  ASSERT_TRUE(fake.patch(tp, {"ns1", "a"}, {{"spec", {{"weight", 2}}}}).hasValue());
  ASSERT_TRUE(eventually([&] { return rec.size() == 2; }));

  // Fail the reconnect a few times so changes happen while no watch is open.
  ApiError refused;
  refused.kind = ApiError::Kind::Transport;
  refused.message = "connection refused";
  fake.failNext("watch", "*", refused, 3);
  fake.closeWatches();
  ASSERT_TRUE(fake.patch(tp, {"ns1", "a"}, {{"spec", {{"weight", 3}}}}).hasValue());
  ASSERT_TRUE(fake.create(tp, policy("z")).hasValue());
  ASSERT_TRUE(eventually([&] { return rec.size() == 4; }));
  std::this_thread::sleep_for(50ms);  // room for any (wrong) duplicate delivery to show up
  EXPECT_EQ(rec.snapshot(), (std::vector<std::string>{"add:a", "update:a", "update:a", "add:z"}));
  EXPECT_EQ(informer.relists(), 1u) << "a closed watch resumes, it does not relist";
  EXPECT_GE(informer.watchRestarts(), 1u);
  EXPECT_EQ(informer.get({"ns1", "a"}).value()["spec"]["weight"], 3);
  informer.stop();
}

TEST(Informer, GoneRelistsAndDeliversOnlyTheDifference) {
  FakeClient fake;
  Resource tp = trafficPolicies();
  fake.seed(tp, policy("a"));
  fake.seed(tp, policy("b"));
  fake.seed(tp, policy("c"));
  Informer informer(fake, tp, fastOptions());
  Recorder rec;
  informer.addHandlers(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  ASSERT_TRUE(eventually([&] { return fake.openWatches() == 1; }));

  ApiError refused;
  refused.kind = ApiError::Kind::Transport;
  refused.message = "connection refused";
  fake.failNext("watch", "*", refused, 1'000'000);
  fake.closeWatches();
  ASSERT_TRUE(eventually([&] { return fake.openWatches() == 0; }));
  // Missed while disconnected: one delete, one update, one add; "c" unchanged.
  ASSERT_TRUE(fake.remove(tp, {"ns1", "a"}).hasValue());
  ASSERT_TRUE(fake.patch(tp, {"ns1", "b"}, {{"spec", {{"weight", 9}}}}).hasValue());
  ASSERT_TRUE(fake.create(tp, policy("d")).hasValue());
  fake.compactHistory();  // the informer's resourceVersion is now too old: 410 on watch
  fake.clearFailures();
  ASSERT_TRUE(eventually([&] { return rec.size() == 6; }));
  ASSERT_TRUE(eventually([&] { return fake.openWatches() == 1; }));
  std::this_thread::sleep_for(50ms);
  auto log = rec.snapshot();
  EXPECT_THAT(std::vector<std::string>(log.begin() + 3, log.end()),
              ::testing::UnorderedElementsAre("delete:a", "update:b", "add:d"));
  EXPECT_EQ(informer.relists(), 2u);
  EXPECT_EQ(informer.size(), 3u);

  // An ERROR event carrying a 410 Status on an open watch also relists.
  fake.expireWatches();
  ASSERT_TRUE(eventually([&] { return informer.relists() == 3u; }));
  EXPECT_EQ(rec.size(), 6u) << "nothing changed, so the relist delivers nothing";
  informer.stop();
}

TEST(Informer, StripsManagedFieldsAndLastAppliedAnnotation) {
  FakeClient fake;
  Resource tp = trafficPolicies();
  Object o = policy("a");
  o["metadata"]["managedFields"] = Object::array({{{"manager", "kubectl"}}});
  o["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{...}"},
                                  {"keep", "me"}};
  fake.seed(tp, o);
  Informer informer(fake, tp, fastOptions());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(5s));
  auto cached = informer.get({"ns1", "a"}).value();
  EXPECT_FALSE(cached["metadata"].contains("managedFields"));
  EXPECT_EQ(cached["metadata"]["annotations"], (Object{{"keep", "me"}}));
  EXPECT_EQ(cached["spec"], o["spec"]);
  informer.stop();
}

TEST(Informer, OwnerIndexAndBookmarkAndResync) {
  FakeClient fake;
  Informer informer(fake, resources::httpRoutes(), fastOptions());
  informer.addIndex(kOwnerUidIndex, ownerUidIndex());
  Recorder rec;
  informer.addHandlers(rec.handlers());
  auto owned = [](const std::string& name, const std::string& owner, const std::string& rv) {
    return Object{{"metadata",
                   {{"name", name},
                    {"namespace", "ns1"},
                    {"resourceVersion", rv},
                    {"ownerReferences", {{{"uid", owner}, {"kind", "TrafficPolicy"}}}}}}};
  };
  informer.replaceAllForTest(
      {owned("r1", "u1", "1"), owned("r2", "u1", "2"), owned("r3", "u2", "3")}, "3");
  EXPECT_EQ(informer.keysByIndex(kOwnerUidIndex, "u1").size(), 2u);
  EXPECT_EQ(informer.byIndex(kOwnerUidIndex, "u2").at(0)["metadata"]["name"], "r3");
  // Re-owning r2 moves it between index buckets.
  informer.applyEventForTest({WatchEvent::Type::Modified, owned("r2", "u2", "4")});
  EXPECT_EQ(informer.keysByIndex(kOwnerUidIndex, "u1").size(), 1u);
  EXPECT_EQ(informer.keysByIndex(kOwnerUidIndex, "u2").size(), 2u);
  // Replaying an already-seen version is not a new event.
  informer.applyEventForTest({WatchEvent::Type::Modified, owned("r2", "u2", "4")});
  EXPECT_EQ(rec.size(), 4u);
  informer.applyEventForTest(
      {WatchEvent::Type::Bookmark, {{"metadata", {{"resourceVersion", "900"}}}}});
  EXPECT_EQ(informer.lastResourceVersion(), "900");
  EXPECT_EQ(rec.size(), 4u) << "bookmarks carry no object change";
  informer.applyEventForTest({WatchEvent::Type::Deleted, owned("r3", "u2", "901")});
  EXPECT_EQ(informer.keysByIndex(kOwnerUidIndex, "u2").size(), 1u);
  informer.resync();
  auto log = rec.snapshot();
  EXPECT_EQ(std::count(log.begin(), log.end(), "update:r1"), 1);
  EXPECT_EQ(log.size(), 7u);  // 3 adds, 1 update, 1 delete, 2 resync updates
}

}  // namespace
}  // namespace sluice::kube

namespace sluice::kube {
namespace {

// listIndexed answers from the informer's index: the same objects as filtering the namespace
// by the index function (what a reader without the index does), other namespaces left out,
// and only the objects filed under the value decoded.
TEST(CachedReader, ListIndexedAnswersFromTheIndexAsAFilterWould) {
  const Index byBackend{
      "byBackend", [](const Object& o) {
        std::vector<std::string> out;
        for (const auto& b : o["spec"].value("backends", Object::array())) {
          out.push_back(o["metadata"]["namespace"].get<std::string>() + "/" + b.get<std::string>());
        }
        return out;
      }};
  auto object = [](const std::string& ns, const std::string& name, Object backends,
                   const std::string& rv) {
    return Object{{"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", rv}}},
                  {"spec", {{"backends", std::move(backends)}}}};
  };
  FakeClient fake;
  Informer indexed(fake, trafficPolicies(), fastOptions());
  indexed.addIndex(byBackend.name, byBackend.values);
  indexed.addIndex(byBackend.name, byBackend.values);  // a second registration is the same one
  const std::vector<Object> items = {
      object("ns1", "a", {"east", "west"}, "1"), object("ns1", "b", {"west"}, "2"),
      object("ns1", "c", {"south"}, "3"), object("ns2", "d", {"west"}, "4")};
  indexed.replaceAllForTest(items, "4");
  CachedReader cache;
  cache.add(&indexed);
  for (const auto& obj : items) {
    fake.seed(trafficPolicies(), obj);
  }
  auto names = [](const Result<ObjectList>& list) {
    std::vector<std::string> out;
    for (const auto& o : list->items) {
      out.push_back(o["metadata"]["name"]);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  auto fromIndex = cache.listIndexed(trafficPolicies(), "ns1", byBackend, "ns1/west");
  ASSERT_TRUE(fromIndex);
  EXPECT_EQ(names(fromIndex), (std::vector<std::string>{"a", "b"}));
  // The fake server has no index: Reader's default filters, with the same answer.
  EXPECT_EQ(names(fake.listIndexed(trafficPolicies(), "ns1", byBackend, "ns1/west")),
            names(fromIndex));
  EXPECT_TRUE(cache.listIndexed(trafficPolicies(), "ns1", byBackend, "ns1/north")->items.empty());
  EXPECT_TRUE(cache.listIndexed(trafficPolicies(), "ns1", byBackend, "ns2/west")->items.empty());
  // A change moves the object between values.
  indexed.applyEventForTest({WatchEvent::Type::Modified, object("ns1", "b", {"south"}, "5")});
  EXPECT_EQ(names(cache.listIndexed(trafficPolicies(), "ns1", byBackend, "ns1/west")),
            (std::vector<std::string>{"a"}));
  EXPECT_EQ(names(cache.listIndexed(trafficPolicies(), "ns1", byBackend, "ns1/south")),
            (std::vector<std::string>{"b", "c"}));

  // An informer without the index: the reader filters the namespace, same answers.
  Informer plain(fake, trafficPolicies(), fastOptions());
  plain.replaceAllForTest(items, "4");
  CachedReader unindexed;
  unindexed.add(&plain);
  EXPECT_EQ(names(unindexed.listIndexed(trafficPolicies(), "ns1", byBackend, "ns1/west")),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(names(unindexed.list(trafficPolicies(), "ns2", {})), (std::vector<std::string>{"d"}));
}

}  // namespace
}  // namespace sluice::kube

namespace sluice::kube {
namespace {

TEST(Informer, TransformShapesWhatIsCachedIndexedAndHandedToHandlers) {
  FakeClient fake;
  Informer informer(fake, trafficPolicies(), fastOptions());
  informer.setTransform([](Object& o) { o.erase("status"); });
  informer.addIndex("weight", [](const Object& o) {
    return std::vector<std::string>{o.contains("status") ? "has-status" : "no-status"};
  });
  std::vector<Object> seen;
  informer.addHandlers({[&](const Object& o) { seen.push_back(o); }, {}, {}});
  Object p = policy("a");
  p["metadata"]["resourceVersion"] = "1";
  p["status"] = {{"big", std::string(4096, 'x')}};
  informer.replaceAllForTest({p}, "1");
  ASSERT_TRUE(informer.get({"ns1", "a"}));
  EXPECT_FALSE(informer.get({"ns1", "a"})->contains("status"));
  EXPECT_EQ(informer.keysByIndex("weight", "no-status").size(), 1u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].contains("status"));
  EXPECT_LT(informer.cachedBytes(), 1024u);
}

}  // namespace
}  // namespace sluice::kube
