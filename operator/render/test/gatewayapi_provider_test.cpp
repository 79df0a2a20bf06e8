#include <gtest/gtest.h>

#include "operator/engine/canary_route.h"
#include "operator/render/gatewayapi/provider.h"
#include "operator/test/mocks/kube/fake_client.h"

namespace sluice::render::gatewayapi {
namespace {

using namespace std::chrono_literals;
namespace resources = kube::resources;

constexpr const char* kFieldManager = "sluice";

engine::RoutePlan plan(std::optional<engine::Resilience> resilience = std::nullopt) {
  api::CanaryRollout r;
  r.metadata.name = "pay";
  r.metadata.namespace_ = "shop";
  r.metadata.uid = "uid-pay";
  r.spec.route = api::RouteSpec{{{"edge", "", ""}}, {"pay.example.com"}, "gatewayAPI"};
  auto out = engine::canaryRoutePlan(r, 10, {"shop", "pay-stable", 80, ""},
                                     {"shop", "pay-canary", 80, ""});
  out.routes[0].resilience = std::move(resilience);
  return out;
}

engine::Resilience resilience() {
  return {"RoundRobin", engine::HealthCheck{"/healthz", 5s, 2, 2}, 5, 50};
}

kube::ApiError crdMissing() {
  kube::ApiError e;
  e.code = 404;
  e.reason = "NotFound";
  e.message = "the server could not find the requested resource";
  return e;
}

// A cache with no informer for BackendTrafficPolicies, as CachedReader answers then.
class NoPolicyInformer final : public kube::Reader {
 public:
  explicit NoPolicyInformer(kube::Reader& inner) : inner_(inner) {}
  kube::Result<kube::Object> get(const kube::Resource& r, const kube::ObjectKey& key) override {
    if (r == resources::backendTrafficPolicies()) {
      return Unexpected(notCached());
    }
    return inner_.get(r, key);
  }
  kube::Result<kube::ObjectList> list(const kube::Resource& r, const std::string& ns,
                                      const kube::ListOptions& options) override {
    if (r == resources::backendTrafficPolicies()) {
      return Unexpected(notCached());
    }
    return inner_.list(r, ns, options);
  }

 private:
  static kube::ApiError notCached() {
    kube::ApiError e;
    e.kind = kube::ApiError::Kind::Config;
    e.message = "no informer caches backendtrafficpolicies.gateway.envoyproxy.io";
    return e;
  }
  kube::Reader& inner_;
};

class GatewayApiProviderTest : public ::testing::Test {
 protected:
  bool hasPolicy() {
    return client_.get(resources::backendTrafficPolicies(), {"shop", "pay"}).hasValue();
  }
  bool hasRoute() { return client_.get(resources::httpRoutes(), {"shop", "pay"}).hasValue(); }

  kube::FakeClient client_;
  GatewayApiProvider provider_{client_, client_, kFieldManager};
};

TEST_F(GatewayApiProviderTest, PlanWithoutResilienceWritesNoPolicy) {
  auto applied = provider_.apply(plan());
  ASSERT_TRUE(applied.hasValue()) << applied.error().message;
  EXPECT_TRUE(applied->topologyChanged);
  EXPECT_TRUE(hasRoute());
  EXPECT_FALSE(hasPolicy());
  for (const auto& write : client_.writes()) {
    EXPECT_EQ(write.resource, resources::httpRoutes()) << write.verb;
  }
}

TEST_F(GatewayApiProviderTest, ResilientRouteGetsItsPolicyOnceAndNamedAfterIt) {
  auto applied = provider_.apply(plan(resilience()));
  ASSERT_TRUE(applied.hasValue()) << applied.error().message;
  auto policy = client_.get(resources::backendTrafficPolicies(), {"shop", "pay"});
  ASSERT_TRUE(policy.hasValue());
  EXPECT_EQ((*policy)["spec"]["targetRefs"][0]["name"], "pay");
  EXPECT_EQ((*policy)["metadata"]["labels"]["sluice.dev/owner"], "canaryrollout.pay");
  EXPECT_EQ((*policy)["spec"]["healthCheck"]["active"]["http"]["path"], "/healthz");
  // Unchanged: no write at all.
  client_.clearActions();
  applied = provider_.apply(plan(resilience()));
  ASSERT_TRUE(applied.hasValue()) << applied.error().message;
  EXPECT_FALSE(applied->topologyChanged);
  EXPECT_TRUE(client_.writes().empty());
  // A changed setting rewrites the policy alone.
  auto changed = resilience();
  changed.loadBalancer = "Random";
  applied = provider_.apply(plan(changed));
  ASSERT_TRUE(applied.hasValue()) << applied.error().message;
  EXPECT_TRUE(applied->topologyChanged);
  ASSERT_EQ(client_.writes().size(), 1U);
  EXPECT_EQ(client_.writes()[0].resource, resources::backendTrafficPolicies());
}

TEST_F(GatewayApiProviderTest, PolicyGoesWithItsSettingsAndTheRouteStays) {
  ASSERT_TRUE(provider_.apply(plan(resilience())).hasValue());
  ASSERT_TRUE(hasPolicy());
  auto applied = provider_.apply(plan());
  ASSERT_TRUE(applied.hasValue()) << applied.error().message;
  EXPECT_TRUE(applied->topologyChanged);
  EXPECT_FALSE(hasPolicy());
  EXPECT_TRUE(hasRoute());
}

TEST_F(GatewayApiProviderTest, RemoveDeletesRouteAndPolicy) {
  ASSERT_TRUE(provider_.apply(plan(resilience())).hasValue());
  ASSERT_TRUE(provider_.remove(plan().owner).hasValue());
  EXPECT_FALSE(hasPolicy());
  EXPECT_FALSE(hasRoute());
}

TEST_F(GatewayApiProviderTest, APolicyOfSomeoneElseIsNotOverwritten) {
  client_.seed(resources::backendTrafficPolicies(),
               {{"apiVersion", "gateway.envoyproxy.io/v1alpha1"},
                {"kind", "BackendTrafficPolicy"},
                {"metadata", {{"name", "pay"}, {"namespace", "shop"}}},
                {"spec", {{"loadBalancer", {{"type", "Random"}}}}}});
  auto applied = provider_.apply(plan(resilience()));
  ASSERT_FALSE(applied.hasValue());
  EXPECT_NE(applied.error().message.find("BackendTrafficPolicy shop/pay already exists"),
            std::string::npos)
      << applied.error().message;
  auto kept = client_.get(resources::backendTrafficPolicies(), {"shop", "pay"});
  EXPECT_EQ((*kept)["spec"]["loadBalancer"]["type"], "Random");
}

// Envoy Gateway not installed: the API server answers 404 for the resource. The HTTPRoute is
// applied all the same; the apply fails naming the CRD.
TEST_F(GatewayApiProviderTest, WithoutThePolicyCrdTheRouteIsAppliedAndTheErrorNamesTheCrd) {
  client_.failNext("apply", "backendtrafficpolicies", crdMissing(), 100);
  auto applied = provider_.apply(plan(resilience()));
  ASSERT_FALSE(applied.hasValue());
  EXPECT_EQ(applied.error().message,
            "BackendTrafficPolicy: the CRD gateway.envoyproxy.io/v1alpha1 "
            "backendtrafficpolicies is not installed");
  EXPECT_TRUE(hasRoute());
  // Weights still move while the policy cannot be written.
  auto moved = plan(resilience());
  for (auto& rule : moved.routes[0].rules) {
    rule.destinations[0].weight = engine::kWeightScale / 2;
    rule.destinations[1].weight = engine::kWeightScale / 2;
  }
  EXPECT_FALSE(provider_.apply(moved).hasValue());
  auto route = client_.get(resources::httpRoutes(), {"shop", "pay"});
  EXPECT_EQ((*route)["spec"]["rules"].back()["backendRefs"][1]["weight"], 50);
}

TEST_F(GatewayApiProviderTest, WithoutAPolicyInformerPlainPlansWorkAndResilientOnesSaySo) {
  NoPolicyInformer cache(client_);
  GatewayApiProvider provider(cache, client_, kFieldManager);
  auto plain = provider.apply(plan());
  ASSERT_TRUE(plain.hasValue()) << plain.error().message;
  ASSERT_TRUE(provider.remove(plan().owner).hasValue());
  auto resilient = provider.apply(plan(resilience()));
  ASSERT_FALSE(resilient.hasValue());
  EXPECT_NE(resilient.error().message.find(
                "BackendTrafficPolicy: the operator does not watch gateway.envoyproxy.io/v1alpha1 "
                "backendtrafficpolicies"),
            std::string::npos)
      << resilient.error().message;
  EXPECT_TRUE(hasRoute());
  EXPECT_FALSE(hasPolicy());
}

TEST_F(GatewayApiProviderTest, InvalidSettingsWriteNothing) {
  auto bad = resilience();
  bad.activeHealthCheck->path = "/a b";
  auto applied = provider_.apply(plan(bad));
  ASSERT_FALSE(applied.hasValue());
  EXPECT_NE(applied.error().message.find("route pay resilience: activeHealthCheck.path"),
            std::string::npos)
      << applied.error().message;
  EXPECT_TRUE(client_.writes().empty());
}

}  // namespace
}  // namespace sluice::render::gatewayapi
