#include "operator/controllers/indexes.h"

#include <gtest/gtest.h>

namespace sluice::controllers::indexes {
namespace {

using kube::Object;

TEST(Indexes, FileEachReferenceUnderNamespaceAndName) {
  const Object rollout = Object::parse(R"({
    "metadata": {"name": "pay", "namespace": "shop"},
    "spec": {"stable": {"serviceRef": {"name": "pay"}}, "canary": {"serviceRef": {"name": "pay-v2"}},
             "trafficPolicyRef": {"name": "checkout"},
             "regions": [{"name": "eu", "canary": {"serviceRef": {"name": "pay-eu"}}},
                         {"name": "us"}]}
  })");
  EXPECT_EQ(rolloutsByService().values(rollout),
            (std::vector<std::string>{"shop/pay", "shop/pay-v2", "shop/pay-eu"}));
  EXPECT_EQ(rolloutsByPolicy().values(rollout), (std::vector<std::string>{"shop/checkout"}));
  const Object policy = Object::parse(R"({
    "metadata": {"name": "checkout", "namespace": "shop"},
    "spec": {"backends": [{"serviceRef": {"name": "a"}}, {"serviceRef": {"name": "a"}},
                          {"serviceRef": {"name": "b"}}, {"name": "no-ref"}]}
  })");
  EXPECT_EQ(policiesByService().values(policy), (std::vector<std::string>{"shop/a", "shop/b"}));
  const Object limit = Object::parse(R"({
    "metadata": {"name": "tiers", "namespace": "shop"},
    "spec": {"targetRefs": [{"kind": "TrafficPolicy", "name": "checkout"},
                            {"kind": "Gateway", "name": "edge"}],
             "autoscaling": {"targetRef": {"kind": "Deployment", "name": "checkout"}}}
  })");
  EXPECT_EQ(tierLimitsByPolicy().values(limit), (std::vector<std::string>{"shop/checkout"}));
  EXPECT_EQ(tierLimitsByWorkload().values(limit), (std::vector<std::string>{"shop/checkout"}));
  // Malformed objects file nothing rather than throw.
  EXPECT_TRUE(rolloutsByService().values(Object::parse(R"({"spec": {"stable": 3}})")).empty());
  EXPECT_TRUE(policiesByService().values(Object::parse(R"({"spec": {"backends": {}}})")).empty());
  EXPECT_TRUE(hpasByWorkload().values(Object::parse(R"({"spec": []})")).empty());
}

TEST(Indexes, PodsAreCachedWithWhatTheControllersRead) {
  Object pod = Object::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "pay-v2-abc", "namespace": "shop", "uid": "u1", "resourceVersion": "7",
                 "labels": {"app": "pay", "pod-template-hash": "5d9f"},
                 "annotations": {"big": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "pay-v2-5d9f"}]},
    "spec": {"containers": [{"name": "app", "image": "pay:2", "env": [{"name": "A", "value": "b"}],
                             "resources": {"limits": {"cpu": "1"}}}],
             "volumes": [{"name": "v", "emptyDir": {}}], "nodeName": "n1"},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
  })");
  podForCache(pod);
  EXPECT_EQ(pod, Object::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "pay-v2-abc", "namespace": "shop", "uid": "u1", "resourceVersion": "7",
                 "labels": {"app": "pay", "pod-template-hash": "5d9f"},
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "pay-v2-5d9f"}]},
    "spec": {"containers": [{"name": "app", "image": "pay:2"}]}
  })"));
  EXPECT_EQ(podsByLabel().values(pod),
            (std::vector<std::string>{"shop/app=pay", "shop/pod-template-hash=5d9f"}));
}

}  // namespace
}  // namespace sluice::controllers::indexes
