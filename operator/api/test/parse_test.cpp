#include "operator/api/parse.h"

#include <gtest/gtest.h>

#include "operator/api/test/fixtures.h"

namespace sluice::api {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseObjectMeta, ReadsEveryField) {
  const auto meta = parseObjectMeta(json::parse(R"({
    "name": "a", "namespace": "ns", "uid": "u", "resourceVersion": "17", "generation": 4,
    "labels": {"app": "x"}, "annotations": {"sluice.dev/abort": "true"},
    "deletionTimestamp": "2026-11-23T10:00:00Z", "finalizers": ["ignored"]})"));
  ASSERT_TRUE(meta) << meta.error().toString();
  EXPECT_EQ(meta->name, "a");
  EXPECT_EQ(meta->namespace_, "ns");
  EXPECT_EQ(meta->uid, "u");
  EXPECT_EQ(meta->resourceVersion, "17");
  EXPECT_EQ(meta->generation, 4);
  EXPECT_EQ(meta->labels.at("app"), "x");
  EXPECT_EQ(meta->annotations.at("sluice.dev/abort"), "true");
  EXPECT_EQ(meta->deletionTimestamp, "2026-11-23T10:00:00Z");
}

TEST(ParseObjectMeta, ReportsBadFields) {
  const auto meta = parseObjectMeta(json::parse(R"({"generation": "4", "labels": []})"));
  ASSERT_FALSE(meta);
  EXPECT_EQ(meta.error().toString(),
            "metadata.name: Required value; metadata.generation: must be an integer; "
            "metadata.labels: must be an object");
  EXPECT_FALSE(parseObjectMeta(json::array()));
}

TEST(ParseCanaryRollout, AppliesSchemaDefaults) {
  json object = testing::validCanaryRollout();
  object["spec"].erase("analysis");
  object["spec"].erase("stickiness");
  object["spec"].erase("match");
  object["spec"]["route"].erase("hostnames");
  const auto r = parseCanaryRollout(object);
  ASSERT_TRUE(r) << r.error().toString();
  const CanaryRolloutSpec& spec = r->spec;
  EXPECT_EQ(spec.steps, (std::vector<std::int32_t>{5, 10, 25, 50, 75, 100}));
  EXPECT_EQ(spec.stepInterval, minutes{1});
  EXPECT_EQ(spec.analysis.interval, seconds{30});
  EXPECT_EQ(spec.analysis.failureLimit, 2);
  EXPECT_EQ(spec.analysis.minRequests, 100);
  EXPECT_TRUE(spec.analysis.metrics.empty());
  ASSERT_TRUE(spec.route);
  EXPECT_EQ(spec.route->provider, "gatewayAPI");
  EXPECT_FALSE(spec.trafficPolicyRef);
  EXPECT_FALSE(spec.stickiness);
  EXPECT_FALSE(spec.paused);
  EXPECT_FALSE(spec.autoscaling.mirrorStableHPA);
  EXPECT_EQ(r->status.phase, CanaryPhase::Pending);
  EXPECT_EQ(r->status.currentStep, 0);
}

TEST(ParseCanaryRollout, ReadsEveryField) {
  json object = testing::validCanaryRollout();
  object["spec"].erase("route");
  object["spec"]["trafficPolicyRef"] = {{"name", "checkout"}, {"backend", "eastus"}};
  object["spec"]["steps"] = {10, 50, 100};
  object["spec"]["stepInterval"] = "2m30s";
  object["spec"]["paused"] = true;
  object["spec"]["autoscaling"] = {{"mirrorStableHPA", true}};
  object["spec"]["analysis"]["interval"] = "1m";
  object["spec"]["analysis"]["failureLimit"] = 0;
  object["spec"]["analysis"]["minRequests"] = 50;
  object["spec"]["analysis"]["requestCountQuery"] = "sum(x)";
  object["spec"]["analysis"]["metrics"][0]["thresholdRange"] = {{"min", "0"}, {"max", "0.01"}};
  const auto r = parseCanaryRollout(object);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->metadata.name, "payment-api");
  EXPECT_EQ(r->metadata.generation, 3);
  const CanaryRolloutSpec& spec = r->spec;
  EXPECT_EQ(spec.stable.name, "payment-api-stable");
  EXPECT_EQ(spec.stable.port, 80);
  EXPECT_EQ(spec.canary.name, "payment-api-canary");
  ASSERT_TRUE(spec.trafficPolicyRef);
  EXPECT_EQ(spec.trafficPolicyRef->name, "checkout");
  EXPECT_EQ(spec.trafficPolicyRef->backend, "eastus");
  EXPECT_EQ(spec.steps, (std::vector<std::int32_t>{10, 50, 100}));
  EXPECT_EQ(spec.stepInterval, seconds{150});
  EXPECT_TRUE(spec.paused);
  EXPECT_TRUE(spec.autoscaling.mirrorStableHPA);
  ASSERT_TRUE(spec.stickiness);
  EXPECT_EQ(spec.stickiness->header, "X-Tenant-ID");
  ASSERT_EQ(spec.match.size(), 1u);
  EXPECT_EQ(spec.match[0].headers[0].name, "X-Canary");
  EXPECT_EQ(spec.match[0].headers[0].value, "always");
  EXPECT_EQ(spec.match[0].headers[0].type, "Exact");
  EXPECT_EQ(spec.analysis.prometheus.address, "http://prometheus.monitoring:9090");
  EXPECT_EQ(spec.analysis.interval, minutes{1});
  EXPECT_EQ(spec.analysis.failureLimit, 0);
  EXPECT_EQ(spec.analysis.minRequests, 50);
  EXPECT_EQ(spec.analysis.requestCountQuery, "sum(x)");
  ASSERT_EQ(spec.analysis.metrics.size(), 2u);
  EXPECT_EQ(spec.analysis.metrics[0].name, "error-rate");
  EXPECT_EQ(spec.analysis.metrics[0].thresholdRange.min->micros, 0);
  EXPECT_EQ(spec.analysis.metrics[0].thresholdRange.max->micros, 10'000);
  EXPECT_EQ(spec.analysis.metrics[1].thresholdRange.max->micros, 500'000'000);
  EXPECT_FALSE(spec.analysis.metrics[1].thresholdRange.min);
}

TEST(ParseCanaryRollout, ReadsRouteParentRefs) {
  const auto r = parseCanaryRollout(testing::validCanaryRollout());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->spec.route->parentRefs.size(), 1u);
  EXPECT_EQ(r->spec.route->parentRefs[0].name, "edge");
  EXPECT_EQ(r->spec.route->parentRefs[0].namespace_, "gateways");
  EXPECT_EQ(r->spec.route->hostnames, std::vector<std::string>{"pay.example.com"});
}

TEST(ParseCanaryRollout, ResumesFromStatus) {
  json object = testing::validCanaryRollout();
  object["status"] = json::parse(R"({
    "observedGeneration": 3, "phase": "Progressing", "currentStep": 2, "canaryWeight": 25,
    "stepStartedAt": "2026-11-23T10:00:00Z", "canaryRevision": "abc123",
    "message": "waiting for analysis",
    "analysis": {"lastRunAt": "2026-11-23T10:00:30Z", "failures": 1,
                 "metrics": [{"name": "error-rate", "value": 0.002, "result": "Pass"},
                             {"name": "latency-p99", "result": "Inconclusive",
                              "message": "no data"}]},
    "conditions": [{"type": "Ready", "status": "True", "reason": "Progressing",
                    "lastTransitionTime": "2026-11-23T09:00:00Z", "observedGeneration": 3}]})");
  const auto r = parseCanaryRollout(object);
  ASSERT_TRUE(r) << r.error().toString();
  const CanaryRolloutStatus& s = r->status;
  EXPECT_EQ(s.observedGeneration, 3);
  EXPECT_EQ(s.phase, CanaryPhase::Progressing);
  EXPECT_EQ(s.currentStep, 2);
  EXPECT_EQ(s.canaryWeight, 25);
  EXPECT_EQ(s.stepStartedAt, "2026-11-23T10:00:00Z");
  EXPECT_EQ(s.canaryRevision, "abc123");
  EXPECT_EQ(s.message, "waiting for analysis");
  EXPECT_EQ(s.analysis.failures, 1);
  ASSERT_EQ(s.analysis.metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(*s.analysis.metrics[0].value, 0.002);
  EXPECT_EQ(s.analysis.metrics[0].result, MetricResult::Pass);
  EXPECT_FALSE(s.analysis.metrics[1].value);
  EXPECT_EQ(s.analysis.metrics[1].result, MetricResult::Inconclusive);
  EXPECT_EQ(s.analysis.metrics[1].message, "no data");
  ASSERT_EQ(s.conditions.size(), 1u);
  EXPECT_EQ(s.conditions[0].lastTransitionTime, "2026-11-23T09:00:00Z");
}

TEST(ParseCanaryRolloutStatus, NamesBadFields) {
  const auto s = parseCanaryRolloutStatus(json::parse(R"({
    "phase": "Done", "currentStep": "2", "stepStartedAt": "today",
    "analysis": {"metrics": [{"name": "e", "result": "Maybe"}]},
    "conditions": [{"type": "Ready", "status": "Yes"}]})"));
  ASSERT_FALSE(s);
  const ValidationErrors& e = s.error();
  EXPECT_TRUE(e.hasErrorAt("status.phase"));
  EXPECT_TRUE(e.hasErrorAt("status.currentStep"));
  EXPECT_TRUE(e.hasErrorAt("status.stepStartedAt"));
  EXPECT_TRUE(e.hasErrorAt("status.analysis.metrics[0].result"));
  EXPECT_TRUE(e.hasErrorAt("status.conditions[0].status"));
  EXPECT_EQ(e.size(), 5u) << e.toString();
}

// Confused deputy: only parentRefs may name another namespace. Every other reference resolves
// in the object's own namespace, and a `namespace` written into one (the schema has none, so
// only a CRD that does not prune or a file checked offline carries it) is refused by name.
TEST(ParseReferences, ANamespaceOutsideParentRefsIsRefusedByField) {
  auto rollout = testing::validCanaryRollout();
  rollout["spec"]["stable"]["serviceRef"]["namespace"] = "other-team";
  rollout["spec"]["canary"]["serviceRef"]["namespace"] = "other-team";
  rollout["spec"]["route"]["parentRefs"] = json::parse(R"([{"name": "edge", "namespace": "gw"}])");
  auto r = parseCanaryRollout(rollout);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().hasErrorAt("spec.stable.serviceRef.namespace")) << r.error().toString();
  EXPECT_TRUE(r.error().hasErrorAt("spec.canary.serviceRef.namespace"));
  EXPECT_EQ(r.error().size(), 2u) << r.error().toString();  // the parentRef is fine
  EXPECT_NE(r.error().toString().find("cross-namespace references are not allowed: the Service "
                                      "must be in the object's own namespace"),
            std::string::npos)
      << r.error().toString();

  auto split = testing::validCanaryRollout();
  split["spec"].erase("route");
  split["spec"]["trafficPolicyRef"] = {{"name", "checkout"}, {"namespace", "other-team"}};
  r = parseCanaryRollout(split);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().hasErrorAt("spec.trafficPolicyRef.namespace")) << r.error().toString();

  auto policy = testing::validTrafficPolicy();
  policy["spec"]["backends"][0]["serviceRef"]["namespace"] = "other-team";
  auto p = parseTrafficPolicy(policy);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().hasErrorAt("spec.backends[0].serviceRef.namespace"))
      << p.error().toString();

  auto limit = testing::validTierLimit();
  limit["spec"]["targetRefs"][0]["namespace"] = "other-team";
  limit["spec"]["autoscaling"]["targetRef"]["namespace"] = "other-team";
  auto l = parseTierLimit(limit);
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().hasErrorAt("spec.targetRefs[0].namespace")) << l.error().toString();
  EXPECT_TRUE(l.error().hasErrorAt("spec.autoscaling.targetRef.namespace"));

  // Null is "unset" (a merge patch's leftover), not a namespace.
  auto cleared = testing::validTrafficPolicy();
  cleared["spec"]["backends"][0]["serviceRef"]["namespace"] = nullptr;
  EXPECT_TRUE(parseTrafficPolicy(cleared)) << parseTrafficPolicy(cleared).error().toString();
}

TEST(ParseTrafficPolicy, ReadsEveryFieldAndDefaults) {
  const auto r = parseTrafficPolicy(testing::validTrafficPolicy());
  ASSERT_TRUE(r) << r.error().toString();
  const TrafficPolicySpec& spec = r->spec;
  EXPECT_EQ(spec.provider, "gatewayAPI");
  EXPECT_EQ(spec.strategy, LoadBalancingStrategy::Hybrid);
  ASSERT_EQ(spec.backends.size(), 2u);
  const Backend& east = spec.backends[0];
  EXPECT_EQ(east.name, "eastus");
  EXPECT_EQ(east.serviceRef.name, "checkout-eastus");
  EXPECT_EQ(east.serviceRef.port, 8080);
  EXPECT_EQ(east.region, "eastus");
  EXPECT_EQ(east.weight, 50);
  EXPECT_EQ(east.capacity.maxRequestsPerSecond, 5000);
  EXPECT_EQ(east.cost.perMillionRequests->micros, 100'000);
  EXPECT_EQ(east.cost.egressPerGB->micros, 20'000);
  EXPECT_FALSE(spec.backends[1].cost.perMillionRequests);
  ASSERT_EQ(spec.tiers.size(), 2u);
  EXPECT_EQ(spec.tiers[0].priority, 1);
  EXPECT_EQ(spec.tiers[0].latencyTargetMilliseconds, 50);
  EXPECT_FALSE(spec.tiers[0].bandwidth);  // unlimited
  EXPECT_EQ(spec.tiers[0].burstAllowance.micros, 2'000'000);
  EXPECT_EQ(spec.tiers[0].strategy, LoadBalancingStrategy::WeightedResponseTime);
  EXPECT_EQ(spec.tiers[0].match.headers[0].value, "premium");
  EXPECT_EQ(spec.tiers[1].bandwidth->value(), 100'000'000);
  EXPECT_EQ(spec.tiers[1].burstAllowance.micros, 1'000'000);  // default
  EXPECT_FALSE(spec.tiers[1].latencyTargetMilliseconds);
  ASSERT_TRUE(spec.failover);
  EXPECT_EQ(spec.failover->errorRateThreshold.micros, 50'000);
  EXPECT_EQ(spec.failover->shift.steps, 10);
  EXPECT_EQ(spec.failover->shift.interval, seconds{6});
  EXPECT_EQ(spec.failover->recovery.healthyFor, minutes{2});
  ASSERT_TRUE(spec.budget);
  EXPECT_EQ(spec.budget->maxCostPerHour.micros, 100'000'000);
  EXPECT_EQ(spec.budget->alertAtPercent, 80);
  ASSERT_TRUE(spec.metrics);
  EXPECT_EQ(spec.metrics->interval, seconds{15});
  EXPECT_EQ(spec.metrics->queries.errorRate, "e{{backend}}");
  EXPECT_EQ(spec.metrics->queries.requestsPerSecond, "");
}

TEST(ParseTrafficPolicy, NestedDefaults) {
  json object = testing::validTrafficPolicy();
  object["spec"].erase("strategy");
  object["spec"]["failover"] = json::object();
  object["spec"]["budget"] = {{"maxCostPerHour", "5"}};
  object["spec"]["backends"][1].erase("weight");
  object["spec"]["metrics"] = {{"prometheus", {{"address", "https://p"}}}};
  const auto r = parseTrafficPolicy(object);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->spec.strategy, LoadBalancingStrategy::RoundRobin);
  EXPECT_EQ(r->spec.backends[1].weight, 1);
  EXPECT_EQ(r->spec.failover->errorRateThreshold.micros, 50'000);
  EXPECT_EQ(r->spec.failover->latencyThresholdMilliseconds, 500);
  EXPECT_EQ(r->spec.failover->minHealthyBackends, 1);
  EXPECT_EQ(r->spec.budget->alertAtPercent, 80);
  EXPECT_EQ(r->spec.metrics->interval, seconds{15});
}

TEST(ParseTrafficPolicy, UnquotedDecimalsKeepTheirValue) {
  json object = testing::validTrafficPolicy();
  object["spec"]["failover"]["errorRateThreshold"] = 0.05;
  object["spec"]["budget"]["maxCostPerHour"] = 100;
  const auto r = parseTrafficPolicy(object);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->spec.failover->errorRateThreshold.micros, 50'000);
  EXPECT_EQ(r->spec.budget->maxCostPerHour.micros, 100'000'000);
  object["spec"]["budget"]["maxCostPerHour"] = true;
  const auto bad = parseTrafficPolicy(object);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().hasErrorAt("spec.budget.maxCostPerHour"));
}

TEST(ParseTierLimit, ReadsEveryFieldAndDefaults) {
  const auto r = parseTierLimit(testing::validTierLimit());
  ASSERT_TRUE(r) << r.error().toString();
  const TierLimitSpec& spec = r->spec;
  ASSERT_EQ(spec.targetRefs.size(), 1u);
  EXPECT_EQ(spec.targetRefs[0].group, "sluice.dev");
  EXPECT_EQ(spec.targetRefs[0].kind, "TrafficPolicy");
  EXPECT_EQ(spec.targetRefs[0].name, "checkout");
  EXPECT_EQ(spec.tierHeader, "X-Tier");
  EXPECT_EQ(spec.identity->header, "X-Customer-ID");
  EXPECT_EQ(spec.defaultTier, "free");
  ASSERT_EQ(spec.tiers.size(), 3u);
  EXPECT_EQ(spec.tiers[0].requestsPerSecond, 1000);
  EXPECT_EQ(spec.tiers[0].burst, 2000);
  EXPECT_EQ(spec.tiers[0].concurrent, 100);
  EXPECT_EQ(spec.tiers[0].dailyQuota, 10'000'000);
  EXPECT_EQ(spec.tiers[2].priority, 3);
  EXPECT_EQ(spec.queue->maxSize, 500);
  EXPECT_EQ(spec.queue->timeout, seconds{2});
  const TierAutoscaling& a = *spec.autoscaling;
  EXPECT_EQ(a.targetRef.apiVersion, "apps/v1");
  EXPECT_EQ(a.targetRef.kind, "Deployment");
  EXPECT_EQ(a.targetRef.name, "checkout");
  EXPECT_EQ(a.minReplicas, 2);
  EXPECT_EQ(a.maxReplicas, 20);
  EXPECT_EQ(a.cpuUtilization, 70);
  EXPECT_EQ(a.memoryUtilization, 80);
  EXPECT_EQ(a.requestsPerSecondPerReplica, 200);
  EXPECT_EQ(a.behavior.scaleUp.stabilizationWindow, seconds{30});
  EXPECT_EQ(a.behavior.scaleDown.stabilizationWindow, seconds{300});
  ASSERT_EQ(a.schedules.size(), 1u);
  EXPECT_EQ(a.schedules[0].cron, "0 8 * * 1-5");
  EXPECT_EQ(a.schedules[0].duration, std::chrono::hours{10});
  EXPECT_EQ(a.schedules[0].minReplicas, 6);
  EXPECT_EQ(a.schedules[0].timeZone, "Europe/Stockholm");
}

TEST(ParseTierLimit, Defaults) {
  json object = testing::validTierLimit();
  auto& spec = object["spec"];
  spec.erase("tierHeader");
  spec.erase("defaultTier");
  spec["tiers"][1].erase("burst");
  spec["autoscaling"].erase("behavior");
  spec["autoscaling"].erase("minReplicas");
  spec["autoscaling"]["targetRef"] = {{"name", "checkout"}};
  spec["autoscaling"]["schedules"][0].erase("timeZone");
  spec["autoscaling"]["schedules"][0]["minReplicas"] = 1;
  const auto r = parseTierLimit(object);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->spec.tierHeader, "X-Tier");
  EXPECT_EQ(r->spec.defaultTier, "");
  EXPECT_EQ(r->spec.effectiveDefaultTier(), "free");  // largest priority number
  EXPECT_EQ(r->spec.tiers[1].burst, 100);             // = requestsPerSecond
  EXPECT_EQ(r->spec.autoscaling->minReplicas, 1);
  EXPECT_EQ(r->spec.autoscaling->targetRef.apiVersion, "apps/v1");
  EXPECT_EQ(r->spec.autoscaling->targetRef.kind, "Deployment");
  EXPECT_EQ(r->spec.autoscaling->behavior.scaleUp.stabilizationWindow, seconds{0});
  EXPECT_EQ(r->spec.autoscaling->behavior.scaleDown.stabilizationWindow, seconds{300});
  EXPECT_EQ(r->spec.autoscaling->schedules[0].timeZone, "UTC");
}

TEST(ParseObject, RejectsNonObjects) {
  for (const json& bad : {json::array(), json("x"), json(nullptr)}) {
    EXPECT_FALSE(parseCanaryRollout(bad));
    EXPECT_FALSE(parseTrafficPolicy(bad));
    EXPECT_FALSE(parseTierLimit(bad));
  }
  json object = testing::validTierLimit();
  object["spec"] = "everything";
  const auto r = parseTierLimit(object);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().toString(), "spec: must be an object");
}

TEST(ParseObject, IntegersOutOfRangeAreNamed) {
  json object = testing::validTierLimit();
  object["spec"]["autoscaling"]["maxReplicas"] = 5'000'000'000LL;
  object["spec"]["tiers"][0]["requestsPerSecond"] = 1.5;
  const auto r = parseTierLimit(object);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().hasErrorAt("spec.autoscaling.maxReplicas")) << r.error().toString();
  EXPECT_NE(r.error().toString().find("spec.autoscaling.maxReplicas: value out of range"),
            std::string::npos);
  EXPECT_NE(r.error().toString().find("spec.tiers[0].requestsPerSecond: must be an integer"),
            std::string::npos);
}

TEST(Enums, RoundTripThroughStrings) {
  for (auto p :
       {CanaryPhase::Pending, CanaryPhase::Progressing, CanaryPhase::Paused, CanaryPhase::Promoting,
        CanaryPhase::Succeeded, CanaryPhase::RolledBack, CanaryPhase::Failed}) {
    EXPECT_EQ(parseCanaryPhase(toString(p)), p);
  }
  for (auto m : {MetricResult::Pass, MetricResult::Fail, MetricResult::Inconclusive}) {
    EXPECT_EQ(parseMetricResult(toString(m)), m);
  }
  EXPECT_STREQ(toString(CanaryPhase::RolledBack), "RolledBack");
  EXPECT_STREQ(toString(MetricResult::Inconclusive), "Inconclusive");
  EXPECT_STREQ(toString(LoadBalancingStrategy::CostOptimized), "CostOptimized");
  EXPECT_FALSE(parseCanaryPhase("progressing"));
  EXPECT_FALSE(parseMetricResult(""));
  EXPECT_EQ(parseLoadBalancingStrategy("Geographic"), LoadBalancingStrategy::Geographic);
}

}  // namespace
}  // namespace sluice::api
