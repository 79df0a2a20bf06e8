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
  std::string backend;
};

struct RouteSpec {
  std::vector<ParentRef> parentRefs;
  std::vector<std::string> hostnames;
  std::string provider = "gatewayAPI";  // gatewayAPI | haproxy
};

struct Stickiness {
  std::string header;
};

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

}  // namespace sluice::api
