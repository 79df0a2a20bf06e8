#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/common.h"

namespace sluice::api {

struct ThresholdRange {
  std::optional<Decimal> min;
  std::optional<Decimal> max;
};

struct AnalysisMetric {
  std::string name;
  std::string query;  // PromQL template: {{canary}}, {{stable}}, {{namespace}}, {{interval}}
  ThresholdRange thresholdRange;
};

struct CanaryAnalysis {
  PrometheusRef prometheus;
  Duration interval{std::chrono::seconds{30}};
  std::int32_t failureLimit = 2;
  std::int64_t minRequests = 100;
  // Query returning the canary's request count over the interval; compared with minRequests.
  // Empty: derived by the controller from the provider's own request metric.
  std::string requestCountQuery;
  std::vector<AnalysisMetric> metrics;
};

struct TrafficPolicyRef {
  std::string name;
  std::string backend;  // empty with spec.regions: each region names its backend
};

struct RouteSpec {
  std::vector<ParentRef> parentRefs;
  std::vector<std::string> hostnames;
  std::string provider = "gatewayAPI";  // gatewayAPI | haproxy
};

struct Stickiness {
  std::string header;
};

// Response headers that tell which side served a request: `name` is "true" on the canary's
// responses and "false" on stable's; `revisionName` carries status.canaryRevision on the
// canary's responses. On unless enabled is false.
struct VersionHeader {
  bool enabled = true;
  std::string name = "X-Sluice-Canary";
  std::string revisionName = "X-Sluice-Canary-Revision";
};

// Tenants (values of the stickiness header) taken out of the bucket split: `canary` ones are
// on the canary while it has any weight, `stable` ones are never on it.
struct TenantOverrides {
  std::vector<std::string> canary;
  std::vector<std::string> stable;
};

// One region of a regional rollout: its own steps, analysis and rollback.
struct Region {
  std::string name;                  // DNS label
  std::vector<std::string> values;   // regionHeader values meaning this region; empty: {name}
  std::string backend;               // trafficPolicyRef: the policy's backend; empty: name
  std::optional<ServiceRef> canary;  // trafficPolicyRef: this region's canary; none: spec.canary
  std::vector<std::int32_t> steps;   // empty: spec.steps

  // The policy backend this region is, and the header values that name it (defaults applied).
  const std::string& policyBackend() const { return backend.empty() ? name : backend; }
  std::vector<std::string> headerValues() const {
    return values.empty() ? std::vector<std::string>{name} : values;
  }
};

enum class RegionRollback { Region, All };

struct CanaryAutoscaling {
  bool mirrorStableHPA = false;
};

struct CanaryRolloutSpec {
  ServiceRef stable;
  ServiceRef canary;
  std::optional<TrafficPolicyRef> trafficPolicyRef;
  std::optional<RouteSpec> route;
  std::vector<std::int32_t> steps{5, 10, 25, 50, 75, 100};
  Duration stepInterval{std::chrono::minutes{1}};
  std::optional<Stickiness> stickiness;
  std::vector<RequestMatch> match;
  CanaryAnalysis analysis;
  CanaryAutoscaling autoscaling;
  bool paused = false;
  VersionHeader versionHeader;
  std::optional<TenantOverrides> tenants;
  // With route: the request header whose value names the region. With trafficPolicyRef:
  // empty (each region is one of the policy's backends).
  std::string regionHeader;
  std::vector<Region> regions;
  RegionRollback regionRollback = RegionRollback::Region;
};

enum class CanaryPhase { Pending, Progressing, Paused, Promoting, Succeeded, RolledBack, Failed };

enum class MetricResult { Pass, Fail, Inconclusive };

struct MetricStatus {
  std::string name;
  std::optional<double> value;
  MetricResult result = MetricResult::Inconclusive;
  std::string message;

  friend bool operator==(const MetricStatus&, const MetricStatus&) = default;
};

struct AnalysisStatus {
  std::string lastRunAt;  // RFC 3339, empty before the first run
  std::int32_t failures = 0;
  std::vector<MetricStatus> metrics;

  friend bool operator==(const AnalysisStatus&, const AnalysisStatus&) = default;
};

// A region's own progress (spec.regions); same meaning as the top-level fields.
struct RegionStatus {
  std::string name;
  CanaryPhase phase = CanaryPhase::Pending;
  std::int32_t currentStep = 0;
  std::int32_t canaryWeight = 0;
  std::string stepStartedAt;
  std::string message;
  AnalysisStatus analysis;

  friend bool operator==(const RegionStatus&, const RegionStatus&) = default;
};

struct TenantStatus {
  std::int32_t canary = 0;  // tenants on the canary by spec.tenants.canary now
  std::int32_t stable = 0;  // tenants kept on stable by spec.tenants.stable now
  friend bool operator==(const TenantStatus&, const TenantStatus&) = default;
};

struct CanaryRolloutStatus {
  std::int64_t observedGeneration = 0;
  CanaryPhase phase = CanaryPhase::Pending;
  std::int32_t currentStep = 0;  // index into spec.steps
  std::int32_t canaryWeight = 0;
  std::string stepStartedAt;  // RFC 3339
  // Identifies the canary version this rollout is for (hash of spec + canary pods); a change
  // restarts the rollout.
  std::string canaryRevision;
  std::string message;  // why the phase is what it is (rollback reason, hold reason)
  AnalysisStatus analysis;
  std::optional<TenantStatus> tenants;
  std::vector<RegionStatus> regions;  // with spec.regions; top-level weight = the lowest
  std::vector<Condition> conditions;

  friend bool operator==(const CanaryRolloutStatus&, const CanaryRolloutStatus&) = default;
};

struct CanaryRollout {
  ObjectMeta metadata;
  CanaryRolloutSpec spec;
  CanaryRolloutStatus status;
};

const char* toString(CanaryPhase phase);
const char* toString(MetricResult result);
const char* toString(RegionRollback rollback);

}  // namespace sluice::api
