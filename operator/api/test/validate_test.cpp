// One broken field at a time, through the public parse functions: each case names the exact
// field path the error must carry, so a rule reported at the wrong place fails too.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "operator/api/parse.h"
#include "operator/api/test/fixtures.h"

namespace sluice::api {
namespace {

using nlohmann::json;
using Pointer = json::json_pointer;

struct Case {
  const char* pointer;  // JSON pointer of the field to change
  json value;           // new value; a discarded json means "remove the field"
  const char* path;     // expected field path of the error
  const char* message;  // expected substring of the error message
};

json remove() {
  return json(json::value_t::discarded);
}

json apply(json object, const Case& c) {
  const Pointer ptr(c.pointer);
  if (c.value.is_discarded()) {
    object.at(ptr.parent_pointer()).erase(ptr.back());
  } else {
    object[ptr] = c.value;
  }
  return object;
}

template <class Parse>
void expectRejected(const json& base, const std::vector<Case>& cases, Parse parse) {
  for (const auto& c : cases) {
    const auto result = parse(apply(base, c));
    ASSERT_FALSE(result) << c.pointer << " = " << c.value.dump() << " was accepted";
    bool found = false;
    for (const auto& e : result.error().errors) {
      found = found || (e.path == c.path && e.message.find(c.message) != std::string::npos);
    }
    EXPECT_TRUE(found) << c.pointer << " = " << c.value.dump() << ": want " << c.path << ": "
                       << c.message << "\n got: " << result.error().toString();
  }
}

template <class Parse>
void expectAccepted(const json& base, const std::vector<Case>& cases, Parse parse) {
  for (const auto& c : cases) {
    const auto result = parse(apply(base, c));
    EXPECT_TRUE(result) << c.pointer << " = " << c.value.dump() << ": "
                        << result.error().toString();
  }
}

TEST(ValidateCanaryRollout, FixtureIsValid) {
  const auto r = parseCanaryRollout(testing::validCanaryRollout());
  ASSERT_TRUE(r) << r.error().toString();
}

TEST(ValidateCanaryRollout, RejectsEachRule) {
  const json trafficPolicyRef = {{"name", "checkout"}, {"backend", "eastus"}};
  std::vector<Case> cases = {
      {"/spec/steps", {5, 10, 20, 15, 100}, "spec.steps[3]", "must be greater than 20"},
      {"/spec/steps", {5, 10, 25, 25, 100}, "spec.steps[3]", "must be greater than 25"},
      {"/spec/steps", {5, 10, 25, 50}, "spec.steps[3]", "the last step must be 100"},
      {"/spec/steps", {0, 100}, "spec.steps[0]", "must be between 1 and 100"},
      {"/spec/steps", {5, 101}, "spec.steps[1]", "must be between 1 and 100"},
      {"/spec/steps", json::array(), "spec.steps", "must have at least 1 item"},
      {"/spec/steps", {5, "ten", 100}, "spec.steps[1]", "must be an integer"},
      {"/spec/steps", "5,100", "spec.steps", "must be a list"},
      {"/spec/stepInterval", "1 minute", "spec.stepInterval", "invalid duration \"1 minute\""},
      {"/spec/stepInterval", "0s", "spec.stepInterval", "must be a positive duration"},
      {"/spec/trafficPolicyRef", trafficPolicyRef, "spec", "not both"},
      {"/spec/route", remove(), "spec", "exactly one of trafficPolicyRef and route is required"},
      {"/spec/route/provider", "nginx", "spec.route.provider", "Unsupported value: \"nginx\""},
      {"/spec/route/parentRefs", json::array(), "spec.route.parentRefs", "Required value"},
      {"/spec/route/hostnames/0", "Pay.Example.com", "spec.route.hostnames[0]", "invalid hostname"},
      {"/spec/stable/serviceRef/port", 0, "spec.stable.serviceRef.port",
       "must be between 1 and 65535"},
      {"/spec/stable/serviceRef/port", "80", "spec.stable.serviceRef.port", "must be an integer"},
      {"/spec/stable/serviceRef/name", remove(), "spec.stable.serviceRef.name", "Required value"},
      {"/spec/canary", remove(), "spec.canary", "Required value"},
      {"/spec/canary/serviceRef/name", "Payment_API", "spec.canary.serviceRef.name",
       "RFC 1123 label"},
      {"/spec/canary/serviceRef/name", "payment-api-stable", "spec.canary.serviceRef",
       "must differ from spec.stable.serviceRef"},
      {"/spec/stickiness/header", "X Tenant", "spec.stickiness.header", "invalid HTTP header name"},
      {"/spec/match/0/headers/0/name", "X:Canary", "spec.match[0].headers[0].name",
       "invalid HTTP header name"},
      {"/spec/match/0/headers/0/type", "Prefix", "spec.match[0].headers[0].type",
       "Unsupported value"},
      {"/spec/analysis/interval", "30", "spec.analysis.interval", "missing unit"},
      {"/spec/analysis/failureLimit", -1, "spec.analysis.failureLimit", "between 0 and 100"},
      {"/spec/analysis/failureLimit", 101, "spec.analysis.failureLimit", "between 0 and 100"},
      {"/spec/analysis/prometheus", remove(), "spec.analysis.prometheus.address",
       "Required value: metrics and requestCountQuery are queried from this Prometheus"},
      {"/spec/steps",
       {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 100},
       "spec.steps",
       "must have at most 20 items"},
      {"/spec/analysis/minRequests", -5, "spec.analysis.minRequests", "greater than or equal to 0"},
      {"/spec/analysis/prometheus/address", "prometheus:9090", "spec.analysis.prometheus.address",
       "http:// or https:// URL"},
      {"/spec/analysis/metrics/0/thresholdRange", json::object(),
       "spec.analysis.metrics[0].thresholdRange", "at least one of min and max"},
      {"/spec/analysis/metrics/0/thresholdRange",
       {{"min", "2"}, {"max", "1"}},
       "spec.analysis.metrics[0].thresholdRange.min",
       "must be less than or equal to max (1)"},
      {"/spec/analysis/metrics/0/thresholdRange/max", "abc",
       "spec.analysis.metrics[0].thresholdRange.max", "invalid decimal \"abc\""},
      {"/spec/analysis/metrics/1/name", "error-rate", "spec.analysis.metrics[1].name",
       "Duplicate value: \"error-rate\""},
      {"/spec/analysis/metrics/0/query", remove(), "spec.analysis.metrics[0].query",
       "Required value"},
      {"/spec/paused", "yes", "spec.paused", "must be a boolean"},
      {"/spec/trafficPolicyRef",
       {{"name", "checkout"}, {"backend", "East_US"}},
       "spec.trafficPolicyRef.backend",
       "RFC 1123 label"},
      {"/spec/autoscaling",
       {{"mirrorStableHPA", 1}},
       "spec.autoscaling.mirrorStableHPA",
       "must be a boolean"},
      {"/kind", "TrafficPolicy", "kind", "Unsupported value: \"TrafficPolicy\""},
      {"/apiVersion", "sluice.dev/v1", "apiVersion", "Unsupported value"},
      {"/metadata/name", remove(), "metadata.name", "Required value"},
      {"/metadata/labels", {{"a", 1}}, "metadata.labels.a", "must be a string"},
      {"/metadata/deletionTimestamp", "now", "metadata.deletionTimestamp",
       "invalid RFC 3339 timestamp"},
      {"/spec", remove(), "spec", "Required value"},
      {"/status", {{"phase", "Exploded"}}, "status.phase", "Unsupported value: \"Exploded\""},
      {"/spec/versionHeader",
       {{"name", "X Canary"}},
       "spec.versionHeader.name",
       "invalid HTTP header name"},
      {"/spec/versionHeader",
       {{"name", "X-V"}, {"revisionName", "x-v"}},
       "spec.versionHeader.revisionName",
       "must differ"},
      {"/spec/tenants",
       {{"canary", {"a"}}, {"stable", {"a"}}},
       "spec.tenants.stable[0]",
       "Duplicate value"},
      {"/spec/tenants", {{"canary", {"a\nb"}}}, "spec.tenants.canary[0]", "control characters"},
      {"/spec/regions", {{{"name", "eu"}}}, "spec.regionHeader", "invalid HTTP header name"},
      {"/spec/regionHeader", "X-Geo", "spec.regionHeader", "needs spec.regions"},
      {"/spec/regions",
       {{{"name", "eu"}, {"steps", {50, 90}}}},
       "spec.regions[0].steps[1]",
       "the last step must be 100"},
      {"/spec/regions",
       {{{"name", "eu"}, {"backend", "eastus"}}},
       "spec.regions[0].backend",
       "only with spec.trafficPolicyRef"},
      {"/spec/regions",
       {{{"name", "eu"}}, {{"name", "us"}, {"values", {"eu"}}}},
       "spec.regions[1].values[0]",
       "Duplicate value"},
  };
  expectRejected(testing::validCanaryRollout(), cases, parseCanaryRollout);
}

TEST(ValidateCanaryRollout, AcceptsBoundaryValues) {
  std::vector<Case> cases = {
      {"/spec/steps", {100}, "", ""},
      {"/spec/steps", {1, 2, 100}, "", ""},
      {"/spec/analysis/metrics/0/thresholdRange", {{"min", "1"}, {"max", "1"}}, "", ""},
      {"/spec/analysis/metrics/0/thresholdRange", {{"min", "0.5"}}, "", ""},
      {"/spec/stable/serviceRef/port", 65535, "", ""},
      {"/spec/route/hostnames/0", "*.example.com", "", ""},
      {"/spec/route", {{"provider", "haproxy"}}, "", ""},
      {"/spec/analysis", remove(), "", ""},
      {"/spec/steps", nullptr, "", ""},  // null is "unset": the default applies
  };
  expectAccepted(testing::validCanaryRollout(), cases, parseCanaryRollout);
}

TEST(ValidateCanaryRollout, ReportsEveryProblemAtOnce) {
  json object = testing::validCanaryRollout();
  object["spec"]["steps"] = {50, 25, 100};
  object["spec"]["stepInterval"] = "soon";
  object["spec"]["analysis"]["failureLimit"] = -1;
  object["spec"]["stable"]["serviceRef"]["port"] = 70000;
  const auto r = parseCanaryRollout(object);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().toString(),
            "spec.stepInterval: invalid duration \"soon\"; "
            "spec.stable.serviceRef.port: must be between 1 and 65535, got 70000; "
            "spec.steps[1]: must be greater than 50; "
            "spec.analysis.failureLimit: must be between 0 and 100, got -1");
}

TEST(ValidateTrafficPolicy, FixtureIsValid) {
  const auto r = parseTrafficPolicy(testing::validTrafficPolicy());
  ASSERT_TRUE(r) << r.error().toString();
}

TEST(ValidateTrafficPolicy, RejectsEachRule) {
  std::vector<Case> cases = {
      {"/spec/backends/1/name", "eastus", "spec.backends[1].name", "Duplicate value: \"eastus\""},
      {"/spec/backends/0/weight", 101, "spec.backends[0].weight", "must be between 0 and 100"},
      {"/spec/backends/0/weight", -1, "spec.backends[0].weight", "must be between 0 and 100"},
      {"/spec/backends", json::array(), "spec.backends", "must have at least 1 item"},
      {"/spec/backends", remove(), "spec.backends", "Required value"},
      {"/spec/backends/0/serviceRef", remove(), "spec.backends[0].serviceRef", "Required value"},
      {"/spec/backends/0/cost/perMillionRequests", "cheap",
       "spec.backends[0].cost.perMillionRequests", "invalid decimal \"cheap\""},
      {"/spec/backends/0/cost/egressPerGB", "-0.01", "spec.backends[0].cost.egressPerGB",
       "greater than or equal to 0"},
      {"/spec/backends/0/capacity/maxRequestsPerSecond", 0,
       "spec.backends[0].capacity.maxRequestsPerSecond", "greater than or equal to 1"},
      {"/spec/strategy", "Random", "spec.strategy", "Unsupported value: \"Random\""},
      {"/spec/provider", "envoy", "spec.provider", "Unsupported value: \"envoy\""},
      {"/spec/parentRefs", json::array(), "spec.parentRefs", "Required value"},
      {"/spec/tiers/1/name", "premium", "spec.tiers[1].name", "Duplicate value: \"premium\""},
      {"/spec/tiers/0/priority", 0, "spec.tiers[0].priority", "between 1 and 100"},
      {"/spec/tiers/0/priority", 101, "spec.tiers[0].priority", "between 1 and 100"},
      {"/spec/tiers/0/bandwidth", "fast", "spec.tiers[0].bandwidth", "invalid quantity \"fast\""},
      {"/spec/tiers/0/bandwidth", "0", "spec.tiers[0].bandwidth", "at least 1 bit/s"},
      {"/spec/tiers/0/burstAllowance", "0.5", "spec.tiers[0].burstAllowance",
       "greater than or equal to 1"},
      {"/spec/tiers/0/strategy", "Fastest", "spec.tiers[0].strategy", "Unsupported value"},
      {"/spec/tiers/0/match/headers/0/name", "", "spec.tiers[0].match.headers[0].name",
       "invalid HTTP header name"},
      {"/spec/failover/errorRateThreshold", "abc", "spec.failover.errorRateThreshold",
       "invalid decimal \"abc\""},
      {"/spec/failover/errorRateThreshold", "1.5", "spec.failover.errorRateThreshold",
       "greater than 0 and at most 1"},
      {"/spec/failover/errorRateThreshold", "0", "spec.failover.errorRateThreshold",
       "greater than 0 and at most 1"},
      {"/spec/failover/shift/steps", 0, "spec.failover.shift.steps", "between 1 and 100"},
      {"/spec/failover/shift/interval", "6", "spec.failover.shift.interval", "missing unit"},
      {"/spec/failover/recovery/healthyFor", "-1m", "spec.failover.recovery.healthyFor",
       "must be a positive duration"},
      {"/spec/tiers/0/match", remove(), "spec.tiers[0].match", "Required value"},
      {"/spec/tiers/0/match/headers", json::array(), "spec.tiers[0].match.headers",
       "must have at least 1 item"},
      {"/spec/parentRefs/0/sectionName", "HTTP_80", "spec.parentRefs[0].sectionName",
       "RFC 1123 subdomain"},
      {"/spec/failover/minHealthyBackends", 3, "spec.failover.minHealthyBackends",
       "must not exceed the number of backends (2)"},
      {"/spec/budget/maxCostPerHour", "0", "spec.budget.maxCostPerHour", "greater than 0"},
      {"/spec/budget/alertAtPercent", 120, "spec.budget.alertAtPercent", "between 1 and 100"},
      {"/spec/budget/maxCostPerHour", remove(), "spec.budget.maxCostPerHour", "Required value"},
      {"/spec/metrics/interval", "15", "spec.metrics.interval", "missing unit"},
      {"/spec/metrics/prometheus", remove(), "spec.metrics.prometheus", "Required value"},
      {"/spec/hostnames/0", "checkout_example", "spec.hostnames[0]", "invalid hostname"},
  };
  expectRejected(testing::validTrafficPolicy(), cases, parseTrafficPolicy);
}

TEST(ValidateTrafficPolicy, AcceptsBoundaryValues) {
  std::vector<Case> cases = {
      {"/spec/backends/0/weight", 0, "", ""},
      {"/spec/backends/0/weight", 100, "", ""},
      {"/spec/failover/errorRateThreshold", "1", "", ""},
      {"/spec/tiers/0/bandwidth", "1Gi", "", ""},
      {"/spec/tiers/0/burstAllowance", "1", "", ""},
      {"/spec/provider", "haproxy", "", ""},
      {"/spec/tiers", remove(), "", ""},
      {"/spec/failover", remove(), "", ""},
  };
  expectAccepted(testing::validTrafficPolicy(), cases, parseTrafficPolicy);
  json haproxy = testing::validTrafficPolicy();
  haproxy["spec"]["provider"] = "haproxy";
  haproxy["spec"].erase("parentRefs");
  EXPECT_TRUE(parseTrafficPolicy(haproxy));
}

TEST(ValidateTrafficPolicy, NeedsSomeWeight) {
  json object = testing::validTrafficPolicy();
  object["spec"]["backends"][0]["weight"] = 0;
  object["spec"]["backends"][1]["weight"] = 0;
  const auto r = parseTrafficPolicy(object);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().hasErrorAt("spec.backends")) << r.error().toString();
}

TEST(ValidateTierLimit, FixtureIsValid) {
  const auto r = parseTierLimit(testing::validTierLimit());
  ASSERT_TRUE(r) << r.error().toString();
}

TEST(ValidateTierLimit, RejectsEachRule) {
  std::vector<Case> cases = {
      {"/spec/tiers/0/burst", 999, "spec.tiers[0].burst",
       "must be greater than or equal to requestsPerSecond (1000), got 999"},
      {"/spec/tiers/2/name", "premium", "spec.tiers[2].name", "Duplicate value: \"premium\""},
      {"/spec/tiers/0/requestsPerSecond", 0, "spec.tiers[0].requestsPerSecond",
       "greater than or equal to 1"},
      {"/spec/tiers/0/requestsPerSecond", remove(), "spec.tiers[0].requestsPerSecond",
       "Required value"},
      {"/spec/tiers/0/concurrent", 0, "spec.tiers[0].concurrent", "greater than or equal to 1"},
      {"/spec/tiers/0/dailyQuota", -1, "spec.tiers[0].dailyQuota", "greater than or equal to 1"},
      {"/spec/tiers", json::array(), "spec.tiers", "must have at least 1 item"},
      {"/spec/defaultTier", "gold", "spec.defaultTier", "must name one of spec.tiers"},
      {"/spec/tierHeader", "X Tier", "spec.tierHeader", "invalid HTTP header name"},
      {"/spec/identity/header", "", "spec.identity.header", "invalid HTTP header name"},
      {"/spec/targetRefs", json::array(), "spec.targetRefs", "must have at least 1 item"},
      {"/spec/targetRefs/0/kind", remove(), "spec.targetRefs[0].kind", "Required value"},
      {"/spec/targetRefs/0/kind", "Service", "spec.targetRefs[0].kind",
       "Unsupported value: \"Service\""},
      {"/spec/targetRefs/0/group", "apps", "spec.targetRefs[0].group",
       "Unsupported value: \"apps\""},
      {"/spec/queue/maxSize", 100001, "spec.queue.maxSize", "between 1 and 100000"},
      {"/spec/tiers/0/priority", 0, "spec.tiers[0].priority", "between 1 and 100"},
      {"/spec/queue/maxSize", 0, "spec.queue.maxSize", "between 1 and 100000"},
      {"/spec/queue/timeout", "2 s", "spec.queue.timeout", "invalid duration"},
      {"/spec/autoscaling/minReplicas", 21, "spec.autoscaling.minReplicas",
       "must be less than or equal to maxReplicas (20), got 21"},
      {"/spec/autoscaling/minReplicas", 0, "spec.autoscaling.minReplicas",
       "greater than or equal to 1"},
      {"/spec/autoscaling/maxReplicas", remove(), "spec.autoscaling.maxReplicas", "Required value"},
      {"/spec/autoscaling/cpuUtilization", 0, "spec.autoscaling.cpuUtilization",
       "between 1 and 100"},
      {"/spec/autoscaling/memoryUtilization", 101, "spec.autoscaling.memoryUtilization",
       "between 1 and 100"},
      {"/spec/autoscaling/requestsPerSecondPerReplica", 0,
       "spec.autoscaling.requestsPerSecondPerReplica", "greater than or equal to 1"},
      {"/spec/autoscaling/targetRef/name", remove(), "spec.autoscaling.targetRef.name",
       "Required value"},
      {"/spec/autoscaling/behavior/scaleDown/stabilizationWindow", "2h",
       "spec.autoscaling.behavior.scaleDown.stabilizationWindow", "between 0s and 1h"},
      {"/spec/autoscaling/schedules/0/cron", "0 8 * *", "spec.autoscaling.schedules[0].cron",
       "expected 5 fields, found 4"},
      {"/spec/autoscaling/schedules/0/cron", "0 25 * * 1-5", "spec.autoscaling.schedules[0].cron",
       "hour field \"25\""},
      {"/spec/autoscaling/schedules/0/duration", "10 hours",
       "spec.autoscaling.schedules[0].duration", "invalid duration"},
      {"/spec/autoscaling/schedules/0/duration", "0s", "spec.autoscaling.schedules[0].duration",
       "must be a positive duration"},
      {"/spec/autoscaling/schedules/0/minReplicas", 30, "spec.autoscaling.schedules[0].minReplicas",
       "must be between spec.autoscaling.minReplicas (2) and spec.autoscaling.maxReplicas (20)"},
      {"/spec/autoscaling/schedules/0/minReplicas", 1, "spec.autoscaling.schedules[0].minReplicas",
       "got 1"},
      {"/spec/autoscaling/schedules/0/timeZone", "1Europe/Stockholm",
       "spec.autoscaling.schedules[0].timeZone", "invalid time zone"},
      {"/spec/autoscaling/schedules/0/timeZone", "Europe/Stock holm",
       "spec.autoscaling.schedules[0].timeZone", "invalid time zone"},
      {"/spec/autoscaling/schedules/0/name", "Business Hours", "spec.autoscaling.schedules[0].name",
       "RFC 1123 label"},
  };
  expectRejected(testing::validTierLimit(), cases, parseTierLimit);
}

TEST(ValidateTierLimit, AutoscalingNeedsAMetric) {
  json object = testing::validTierLimit();
  for (const char* key : {"cpuUtilization", "memoryUtilization", "requestsPerSecondPerReplica"}) {
    object["spec"]["autoscaling"].erase(key);
  }
  const auto r = parseTierLimit(object);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().toString(),
            "spec.autoscaling: set at least one of cpuUtilization, memoryUtilization and "
            "requestsPerSecondPerReplica");
}

TEST(ValidateTierLimit, AcceptsBoundaryValues) {
  std::vector<Case> cases = {
      {"/spec/tiers/0/burst", 1000, "", ""},
      {"/spec/tiers/0/burst", remove(), "", ""},  // defaults to requestsPerSecond
      {"/spec/autoscaling/maxReplicas", 6, "", ""},
      {"/spec/autoscaling/schedules/0/minReplicas", 20, "", ""},
      {"/spec/autoscaling/schedules/0/minReplicas", 2, "", ""},
      {"/spec/defaultTier", remove(), "", ""},
      {"/spec/autoscaling/schedules/0/timeZone", remove(), "", ""},
      {"/spec/tiers/0/priority", remove(), "", ""},  // defaults to 1
      {"/spec/queue/maxSize", remove(), "", ""},     // defaults to 100
      {"/spec/autoscaling/schedules/0/cron", "0 8 * * 0,7", "", ""},
  };
  expectAccepted(testing::validTierLimit(), cases, parseTierLimit);
}

// Data-plane injection (issue 15): every CR field that reaches haproxy.cfg, its weights map or
// an HTTPRoute, tried with each character that could end a quoted word, a line or a map entry
// in those files. Names are refused with the field's path; free-form values are refused only
// for control characters (the renderers quote and escape the rest, see haproxy_config_test).
const std::vector<std::string>& hostileTexts() {
  static const std::vector<std::string> texts = {
      "a\nb",
      "a\r\nb",
      "a\"b",
      "a'b",
      "a b",
      "a#b",
      "a\\b",
      "a%[src]b",
      "a\x01"
      "b",
      "a\tb",
      "a\x7f"
      "b",
      "a}b",
      "a,b",
      "a$b",
      "a`b",
      "a{b",
  };
  return texts;
}
bool hasControl(const std::string& text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

struct Field {
  const char* pointer;
  const char* path;
};

template <class Parse>
void expectNameRefused(const json& base, const std::vector<Field>& fields, Parse parse,
                       const char* message) {
  for (const auto& f : fields) {
    for (const auto& text : hostileTexts()) {
      const std::string value = "X-" + text;
      expectRejected(base, {{f.pointer, value, f.path, message}}, parse);
    }
  }
}

TEST(DataPlaneInjection, HeaderNamesAreRefusedWithTheirField) {
  json canary = testing::validCanaryRollout();
  canary["spec"]["regionHeader"] = "X-Region";
  canary["spec"]["regions"] = {{{"name", "eu"}}};
  expectNameRefused(canary,
                    {{"/spec/versionHeader/name", "spec.versionHeader.name"},
                     {"/spec/versionHeader/revisionName", "spec.versionHeader.revisionName"},
                     {"/spec/stickiness/header", "spec.stickiness.header"},
                     {"/spec/match/0/headers/0/name", "spec.match[0].headers[0].name"},
                     {"/spec/regionHeader", "spec.regionHeader"}},
                    parseCanaryRollout, "invalid HTTP header name");
  expectNameRefused(testing::validTrafficPolicy(),
                    {{"/spec/tiers/0/match/headers/0/name", "spec.tiers[0].match.headers[0].name"}},
                    parseTrafficPolicy, "invalid HTTP header name");
  expectNameRefused(
      testing::validTierLimit(),
      {{"/spec/tierHeader", "spec.tierHeader"}, {"/spec/identity/header", "spec.identity.header"}},
      parseTierLimit, "invalid HTTP header name");
  // The CRDs' grammar exactly: '.' in request header names, not in the response headers.
  expectAccepted(canary, {{"/spec/stickiness/header", "X.Tenant_ID-2", "", ""}},
                 parseCanaryRollout);
  expectRejected(
      canary,
      {{"/spec/versionHeader/name", "X.Canary", "spec.versionHeader.name",
        "invalid HTTP header name"},
       {"/spec/stickiness/header", "-X", "spec.stickiness.header", "invalid HTTP header name"},
       {"/spec/stickiness/header", std::string(257, 'x'), "spec.stickiness.header", "at most 256"}},
      parseCanaryRollout);
}

TEST(DataPlaneInjection, MatchValuesRefuseControlCharactersOnly) {
  json canary = testing::validCanaryRollout();
  canary["spec"]["tenants"] = {{"canary", {"t-1"}}};
  canary["spec"]["regionHeader"] = "X-Region";
  canary["spec"]["regions"] = {{{"name", "eu"}, {"values", {"eu-1"}}}};
  const std::vector<Field> canaryFields = {
      {"/spec/match/0/headers/0/value", "spec.match[0].headers[0].value"},
      {"/spec/tenants/canary/0", "spec.tenants.canary[0]"},
      {"/spec/regions/0/values/0", "spec.regions[0].values[0]"}};
  const std::vector<Field> policyFields = {
      {"/spec/tiers/0/match/headers/0/value", "spec.tiers[0].match.headers[0].value"}};
  for (const auto& text : hostileTexts()) {
    for (const auto& f : canaryFields) {
      if (hasControl(text)) {
        expectRejected(canary, {{f.pointer, text, f.path, "control characters"}},
                       parseCanaryRollout);
      } else {
        expectAccepted(canary, {{f.pointer, text, "", ""}}, parseCanaryRollout);
      }
    }
    for (const auto& f : policyFields) {
      if (hasControl(text)) {
        expectRejected(testing::validTrafficPolicy(),
                       {{f.pointer, text, f.path, "control characters"}}, parseTrafficPolicy);
      } else {
        expectAccepted(testing::validTrafficPolicy(), {{f.pointer, text, "", ""}},
                       parseTrafficPolicy);
      }
    }
  }
  // The Gateway API refuses an empty match value (minLength 1).
  expectRejected(canary,
                 {{"/spec/match/0/headers/0/value", "", "spec.match[0].headers[0].value",
                   "must be 1 to 4096 characters"},
                  {"/spec/match/0/headers/0/value", std::string(4097, 'v'),
                   "spec.match[0].headers[0].value", "must be 1 to 4096 characters"}},
                 parseCanaryRollout);
  expectRejected(testing::validTrafficPolicy(),
                 {{"/spec/tiers/0/match/headers/0/value", "",
                   "spec.tiers[0].match.headers[0].value", "must be 1 to 4096 characters"}},
                 parseTrafficPolicy);
}

TEST(DataPlaneInjection, HealthCheckPathIsTheCrdPattern) {
  int refused = 0;
  for (const auto& text : hostileTexts()) {
    // ',' and '$' are sub-delims of an RFC 3986 path: the CRD allows them (and haproxy.cfg
    // quotes the path, see HaproxyConfig.HealthCheckPathIsQuoted).
    if (text == "a,b" || text == "a$b") {
      expectAccepted(testing::validTrafficPolicy(),
                     {{"/spec/healthCheck/path", "/" + text, "", ""}}, parseTrafficPolicy);
      continue;
    }
    ++refused;
    expectRejected(testing::validTrafficPolicy(),
                   {{"/spec/healthCheck/path", "/" + text, "spec.healthCheck.path",
                     "must be an absolute path"}},
                   parseTrafficPolicy);
  }
  EXPECT_EQ(refused, 14);
  // HAProxy reads a backslash escape in its config: "\r\n" would add lines to the request.
  expectRejected(testing::validTrafficPolicy(),
                 {{"/spec/healthCheck/path", "/a\\r\\nX-Injected:\\x20yes", "spec.healthCheck.path",
                   "backslashes"}},
                 parseTrafficPolicy);
  expectAccepted(testing::validTrafficPolicy(),
                 {{"/spec/healthCheck/path", "/a-b._~!$&()*+,;=:@/%41", "", ""}},
                 parseTrafficPolicy);
}

TEST(DataPlaneInjection, ObjectNamesAreKubernetesNames) {
  for (const auto& text : hostileTexts()) {
    expectRejected(testing::validCanaryRollout(),
                   {{"/metadata/name", text, "metadata.name", "RFC 1123 subdomain"},
                    {"/metadata/namespace", text, "metadata.namespace", "RFC 1123 label"}},
                   parseCanaryRollout);
    expectRejected(testing::validTrafficPolicy(),
                   {{"/metadata/name", text, "metadata.name", "RFC 1123 subdomain"}},
                   parseTrafficPolicy);
    expectRejected(testing::validTierLimit(),
                   {{"/metadata/name", text, "metadata.name", "RFC 1123 subdomain"}},
                   parseTierLimit);
  }
  // A newline and a second "key value" would be a second weights-map entry.
  expectRejected(testing::validCanaryRollout(),
                 {{"/metadata/name", "pay\ntrafficpolicy:shop:web:web:all:us 0", "metadata.name",
                   "RFC 1123 subdomain"}},
                 parseCanaryRollout);
  // Kubernetes does not hold the parts of a name to 63 characters, nor does the operator.
  expectAccepted(testing::validCanaryRollout(),
                 {{"/metadata/name", "pay.v2-api", "", ""},
                  {"/metadata/name", std::string(200, 'a') + ".b", "", ""}},
                 parseCanaryRollout);
}

// Error messages go to status, Events and logs: a value is quoted with its control characters
// spelled out, never raw.
TEST(DataPlaneInjection, MessagesCarryNoRawControlCharacters) {
  json object = testing::validCanaryRollout();
  object["spec"]["stickiness"]["header"] = "X\nInjected: yes";
  object["spec"]["route"]["hostnames"][0] = "a\r\nb";
  const auto r = parseCanaryRollout(object);
  ASSERT_FALSE(r);
  const std::string text = r.error().toString();
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_NE(text.find("X\\x0aInjected: yes"), std::string::npos) << text;
}

}  // namespace
}  // namespace sluice::api
