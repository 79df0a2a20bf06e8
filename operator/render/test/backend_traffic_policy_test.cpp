#include "operator/render/gatewayapi/backend_traffic_policy.h"

#include <gtest/gtest.h>

#include "operator/render/test/checkout_limits.h"
#include "operator/render/test/golden.h"

namespace sluice::render::gatewayapi {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const engine::Owner kOwner{"sluice.dev/v1alpha1", "TrafficPolicy", "shop", "checkout",
                           "6f1e2d3c-0000-4000-8000-000000000002"};

// Two rules, the larger of three destinations (regions).
engine::Route route(std::optional<engine::Resilience> resilience) {
  engine::Route r;
  r.name = "checkout";
  r.parents = {{"edge", "", ""}};
  engine::Rule premium;
  premium.name = "premium";
  premium.destinations = {{"eu", {"shop", "checkout-eu", 80, ""}, engine::kWeightScale, {}}};
  engine::Rule all;
  all.name = "all";
  all.destinations = {{"eu", {"shop", "checkout-eu", 80, ""}, 500000, {}},
                      {"us", {"shop", "checkout-us", 80, ""}, 300000, {}},
                      {"ap", {"shop", "checkout-ap", 80, ""}, 200000, {}}};
  r.rules = {premium, all};
  r.resilience = std::move(resilience);
  return r;
}

engine::Resilience everything() {
  return {"LeastRequest", engine::HealthCheck{"/healthz?from=gateway", 10s, 2, 3}, 5, 100};
}

json render(const engine::Resilience& resilience) {
  auto policy = renderBackendTrafficPolicy(kOwner, route(resilience), "checkout");
  EXPECT_TRUE(policy.hasValue()) << policy.error();
  EXPECT_TRUE(policy->has_value());
  return policy->value_or(json());
}

// e2e.chart.upstream-schema checks this golden against both Envoy Gateway releases' schemas,
// e2e.chart.samples-kubectl against their admission (CEL rules included).
TEST(BackendTrafficPolicy, EverySettingGolden) {
  testing::expectGolden("backendtrafficpolicy_checkout.json", render(everything()).dump(2) + "\n");
}

TEST(BackendTrafficPolicy, TargetsTheHttpRouteAndCarriesTheOwner) {
  const auto policy = render(everything());
  EXPECT_EQ(policy["apiVersion"], "gateway.envoyproxy.io/v1alpha1");
  EXPECT_EQ(policy["kind"], "BackendTrafficPolicy");
  EXPECT_EQ(policy["metadata"]["name"], "checkout");
  EXPECT_EQ(policy["metadata"]["namespace"], "shop");
  EXPECT_EQ(policy["metadata"]["labels"]["sluice.dev/owner"], "trafficpolicy.checkout");
  EXPECT_EQ(policy["metadata"]["ownerReferences"][0]["uid"], kOwner.uid);
  EXPECT_EQ(policy["spec"]["targetRefs"],
            json::parse(R"([{"group":"gateway.networking.k8s.io","kind":"HTTPRoute",
                            "name":"checkout"}])"));
  EXPECT_FALSE(policy["spec"].contains("targetRef"));
}

TEST(BackendTrafficPolicy, EachSettingAlone) {
  engine::Resilience lb;
  lb.loadBalancer = "Random";
  EXPECT_EQ(render(lb)["spec"]["loadBalancer"], json({{"type", "Random"}}));
  EXPECT_FALSE(render(lb)["spec"].contains("healthCheck"));

  engine::Resilience active;
  active.activeHealthCheck = engine::HealthCheck{"/ready", 500ms, 1, 1};
  const auto check = render(active)["spec"]["healthCheck"];
  EXPECT_FALSE(check.contains("passive"));
  EXPECT_EQ(check["active"]["interval"], "500ms");
  EXPECT_EQ(check["active"]["timeout"], "500ms") << "a check never outlives its interval";
  EXPECT_EQ(check["active"]["http"]["path"], "/ready");

  engine::Resilience passive;
  passive.consecutiveErrors = 3;
  const auto p = render(passive)["spec"]["healthCheck"]["passive"];
  EXPECT_EQ(p["consecutive5XxErrors"], 3);
  EXPECT_EQ(p["maxEjectionPercent"], 100);
  EXPECT_EQ(p["baseEjectionTime"], "30s");
  EXPECT_FALSE(render(passive)["spec"]["healthCheck"].contains("active"));
  EXPECT_FALSE(render(passive)["spec"].contains("loadBalancer")) << "empty: Envoy's default";

  engine::Resilience limit;
  limit.maxConcurrentRequests = 40;
  // Envoy counts per rule (its destinations together): 40 for each of up to three.
  EXPECT_EQ(render(limit)["spec"]["circuitBreaker"], json({{"maxConnections", 120},
                                                           {"maxParallelRequests", 120},
                                                           {"maxPendingRequests", 120},
                                                           {"maxParallelRetries", 1024}}));
}

TEST(BackendTrafficPolicy, NoneWithoutSettings) {
  auto none = renderBackendTrafficPolicy(kOwner, route(std::nullopt), "checkout");
  ASSERT_TRUE(none.hasValue());
  EXPECT_FALSE(none->has_value());
  auto empty = renderBackendTrafficPolicy(kOwner, route(engine::Resilience{}), "checkout");
  ASSERT_TRUE(empty.hasValue());
  EXPECT_FALSE(empty->has_value());
}

TEST(BackendTrafficPolicy, LimitsStayInEnvoysRange) {
  engine::Resilience limit;
  limit.maxConcurrentRequests = 2'000'000'000;
  EXPECT_EQ(render(limit)["spec"]["circuitBreaker"]["maxConnections"], 4'294'967'295LL);
}

TEST(BackendTrafficPolicy, InvalidSettingsNameTheRoute) {
  struct Case {
    void (*mutate)(engine::Resilience&);
    const char* part;
  };
  const Case cases[] = {
      {[](auto& r) { r.loadBalancer = "Fastest"; }, "loadBalancer \"Fastest\""},
      {[](auto& r) { r.activeHealthCheck->path = "/a b"; }, "activeHealthCheck.path"},
      {[](auto& r) { r.activeHealthCheck->path = "health"; }, "absolute path"},
      {[](auto& r) { r.activeHealthCheck->path = "/x\"y"; }, "quotes"},
      {[](auto& r) { r.activeHealthCheck->interval = 0ms; }, "interval 0ms"},
      {[](auto& r) { r.activeHealthCheck->unhealthyThreshold = 0; }, "thresholds"},
      {[](auto& r) { r.consecutiveErrors = -1; }, "consecutiveErrors -1"},
      {[](auto& r) { r.maxConcurrentRequests = 0; }, "maxConcurrentRequests 0"},
  };
  for (const auto& c : cases) {
    auto r = everything();
    c.mutate(r);
    auto policy = renderBackendTrafficPolicy(kOwner, route(r), "checkout");
    ASSERT_FALSE(policy.hasValue()) << c.part;
    EXPECT_NE(policy.error().find("route checkout resilience: "), std::string::npos)
        << policy.error();
    EXPECT_NE(policy.error().find(c.part), std::string::npos) << policy.error();
  }
}

using testing::checkoutLimits;

json renderLimits(const engine::RateLimits& limits,
                  std::optional<engine::Resilience> resilience = std::nullopt) {
  auto r = route(std::move(resilience));
  r.rateLimits = limits;
  auto policy = renderBackendTrafficPolicy(kOwner, r, "checkout");
  EXPECT_TRUE(policy.hasValue()) << policy.error();
  EXPECT_TRUE(policy.hasValue() && policy->has_value());
  return policy.hasValue() ? policy->value_or(json()) : json();
}

json header(const std::string& name, const std::string& type, const std::string& value,
            bool invert) {
  json h = {{"name", name}, {"type", type}, {"invert", invert}};
  if (type != "Distinct") {
    h["value"] = value;
  }
  return h;
}

const json kDistinctCustomer = header("X-Customer-ID", "Distinct", "", false);
const json kNoCustomerHeader = header("X-Customer-ID", "RegularExpression", ".*", true);

// The rules whose first selector is `selector`, as {requests, unit} limits in order.
std::vector<json> limitsFor(const json& policy, const json& selector) {
  std::vector<json> out;
  for (const auto& rule : policy["spec"]["rateLimit"]["global"]["rules"]) {
    if (rule["clientSelectors"] == json::array({selector})) {
      out.push_back(rule["limit"]);
    }
  }
  return out;
}

// Like the other golden, e2e.chart.upstream-schema checks it against both Envoy Gateway
// releases' schemas and e2e.chart.samples-kubectl against their admission (CEL included).
TEST(BackendTrafficPolicyRateLimits, CheckoutSampleGolden) {
  testing::expectGolden("backendtrafficpolicy_tierlimit_checkout.json",
                        renderLimits(checkoutLimits()).dump(2) + "\n");
}

TEST(BackendTrafficPolicyRateLimits, RateLimitsAloneRenderAPolicy) {
  const auto policy = renderLimits(checkoutLimits());
  EXPECT_EQ(policy["metadata"]["name"], "checkout");
  EXPECT_EQ(policy["spec"]["rateLimit"]["type"], "Global");
  EXPECT_EQ(policy["spec"]["targetRefs"][0]["name"], "checkout");
  for (const char* field : {"loadBalancer", "healthCheck", "circuitBreaker"}) {
    EXPECT_FALSE(policy["spec"].contains(field)) << field;
  }
  // With resilience settings, both in one policy.
  const auto both = renderLimits(checkoutLimits(), everything());
  EXPECT_EQ(both["spec"]["rateLimit"], policy["spec"]["rateLimit"]);
  EXPECT_EQ(both["spec"]["circuitBreaker"], render(everything())["spec"]["circuitBreaker"]);
}

TEST(BackendTrafficPolicyRateLimits, EachTierPerSecondAndPerDayPerCustomer) {
  const auto policy = renderLimits(checkoutLimits());
  // 3 tiers x 2 windows x (identity header, or by address over IPv4 and IPv6).
  EXPECT_EQ(policy["spec"]["rateLimit"]["global"]["rules"].size(), 18u);
  const json premium = header("X-Tier", "Exact", "premium", false);
  EXPECT_EQ(limitsFor(policy, {{"headers", {premium, kDistinctCustomer}}}),
            (std::vector<json>{{{"requests", 1000}, {"unit", "Second"}},
                               {{"requests", 10'000'000}, {"unit", "Day"}}}));
  const json standard = header("X-Tier", "Exact", "standard", false);
  EXPECT_EQ(limitsFor(policy, {{"headers", {standard, kDistinctCustomer}}}),
            (std::vector<json>{{{"requests", 100}, {"unit", "Second"}},
                               {{"requests", 1'000'000}, {"unit", "Day"}}}));
  // A request without X-Customer-ID: its client address, one counter per address.
  for (const char* cidr : {"0.0.0.0/0", "::/0"}) {
    EXPECT_EQ(limitsFor(policy, {{"headers", {standard, kNoCustomerHeader}},
                                 {"sourceCIDR", {{"type", "Distinct"}, {"value", cidr}}}}),
              (std::vector<json>{{{"requests", 100}, {"unit", "Second"}},
                                 {{"requests", 1'000'000}, {"unit", "Day"}}}))
        << cidr;
  }
}

// Requests naming no other tier (free, none, or an unknown value) are the default tier's: the
// other tiers' values, each inverted, in both releases' schema.
TEST(BackendTrafficPolicyRateLimits, DefaultTierTakesMissingAndUnknownTiers) {
  const auto policy = renderLimits(checkoutLimits());
  const json notPremium = header("X-Tier", "Exact", "premium", true);
  const json notStandard = header("X-Tier", "Exact", "standard", true);
  EXPECT_EQ(limitsFor(policy, {{"headers", {notPremium, notStandard, kDistinctCustomer}}}),
            (std::vector<json>{{{"requests", 10}, {"unit", "Second"}},
                               {{"requests", 10'000}, {"unit", "Day"}}}));
  EXPECT_EQ(policy.dump().find(R"("value":"free")"), std::string::npos)
      << "no rule matches the default tier by name: it would count twice";
}

TEST(BackendTrafficPolicyRateLimits, ClientAddressWithoutIdentityHeader) {
  auto limits = checkoutLimits();
  limits.identityHeader.clear();
  limits.tiers = {{"basic", 5, 5, std::nullopt, std::nullopt, 1}};
  limits.defaultTier = "basic";
  const auto rules = renderLimits(limits)["spec"]["rateLimit"]["global"]["rules"];
  // One tier, the default, no daily quota: every request, per client address and family.
  EXPECT_EQ(rules, json::parse(R"([
    {"clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}],
     "limit": {"requests": 5, "unit": "Second"}},
    {"clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": "::/0"}}],
     "limit": {"requests": 5, "unit": "Second"}}])"));
  EXPECT_EQ(rules.dump().find("X-Customer-ID"), std::string::npos);
}

// burst, concurrent, the queue and the quota day have no Envoy Gateway form: they change
// nothing rather than being approximated (backend_traffic_policy.h).
TEST(BackendTrafficPolicyRateLimits, InexpressibleSettingsAreNotFaked) {
  const auto base = renderLimits(checkoutLimits());
  auto other = checkoutLimits();
  for (auto& tier : other.tiers) {
    tier.burst *= 10;
    tier.concurrent = std::nullopt;
  }
  other.queue.reset();
  other.dayOffsetSeconds = -18000;
  EXPECT_EQ(renderLimits(other), base);
  EXPECT_EQ(base.dump().find("circuitBreaker"), std::string::npos)
      << "concurrent is per customer; Envoy's circuit breaker is not";
}

TEST(BackendTrafficPolicyRateLimits, LimitsStayInTheRateLimitServicesRange) {
  auto limits = checkoutLimits();
  limits.tiers[0].dailyQuota = 10'000'000'000;
  const auto rules = renderLimits(limits)["spec"]["rateLimit"]["global"]["rules"];
  EXPECT_EQ(rules[1]["limit"], json({{"requests", 4'294'967'295LL}, {"unit", "Day"}}));
}

// v1.2.8 takes at most 64 rules: 16 tiers with daily quotas and an identity header need 96.
TEST(BackendTrafficPolicyRateLimits, TooManyRulesNameTheRoute) {
  auto limits = checkoutLimits();
  limits.tiers.clear();
  for (int i = 0; i < 16; ++i) {
    limits.tiers.push_back({"t" + std::to_string(i), 10, 10, std::nullopt, 100, 1});
  }
  limits.defaultTier = "t0";
  auto r = route(std::nullopt);
  r.rateLimits = limits;
  auto policy = renderBackendTrafficPolicy(kOwner, r, "checkout");
  ASSERT_FALSE(policy.hasValue());
  EXPECT_NE(policy.error().find("route checkout rate limits: 96 Envoy Gateway rules"),
            std::string::npos)
      << policy.error();
  // Without daily quotas, 48 fit, the default tier's selector with its 16 headers too.
  for (auto& tier : limits.tiers) {
    tier.dailyQuota.reset();
  }
  EXPECT_EQ(renderLimits(limits)["spec"]["rateLimit"]["global"]["rules"].size(), 48u);
}

// v1.6.7 accepts ^([0-9]{1,5}(h|m|s|ms)){1,4}$, v1.2.8 a Go duration: both take these.
TEST(BackendTrafficPolicy, DurationsBothReleasesAccept) {
  EXPECT_EQ(envoyDuration(10s), "10s");
  EXPECT_EQ(envoyDuration(1500ms), "1s500ms");
  EXPECT_EQ(envoyDuration(90s), "1m30s");
  EXPECT_EQ(envoyDuration(100'000ms), "1m40s");
  EXPECT_EQ(envoyDuration(std::chrono::hours(24)), "24h");
  EXPECT_EQ(envoyDuration(std::chrono::hours(1) + 1ms), "1h1ms");
  EXPECT_EQ(envoyDuration(0ms), "0s");
}

}  // namespace
}  // namespace sluice::render::gatewayapi
