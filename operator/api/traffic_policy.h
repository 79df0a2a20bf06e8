#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/common.h"
#include "operator/api/units.h"

namespace sluice::api {

enum class LoadBalancingStrategy {
  RoundRobin,
  LeastRequest,
  WeightedResponseTime,
  Geographic,
  CostOptimized,
  HealthBased,
  Hybrid,
};

struct BackendCapacity {
  std::optional<std::int64_t> maxRequestsPerSecond;
};

struct BackendCost {
  std::optional<Decimal> perMillionRequests;
  std::optional<Decimal> egressPerGB;
};

struct Backend {
  std::string name;
  ServiceRef serviceRef;
  std::string region;
  std::int32_t weight = 1;  // baseline share, 0..100; 1 like a Gateway API backendRef
  BackendCapacity capacity;
  BackendCost cost;
};

struct TrafficTier {
  std::string name;
  RequestMatch match;
  std::int32_t priority = 1;  // 1..100, 1 is the most important
  std::optional<std::int64_t> latencyTargetMilliseconds;
  // Bits per second; nullopt means "unlimited" (the default).
  std::optional<Quantity> bandwidth;
  Decimal burstAllowance{1'000'000, "1.0"};
  std::optional<LoadBalancingStrategy> strategy;  // overrides spec.strategy for this tier
  // Geographic: the regions nearest to this tier's clients, nearest first.
  std::vector<std::string> preferredRegions;
};

struct FailoverShift {
  std::int32_t steps = 10;
  Duration interval{std::chrono::seconds{6}};
};

struct FailoverRecovery {
  Duration healthyFor{std::chrono::minutes{2}};
};

struct FailoverSpec {
  Decimal errorRateThreshold{50'000, "0.05"};
  std::int64_t latencyThresholdMilliseconds = 500;
  FailoverShift shift;
  FailoverRecovery recovery;
  std::int32_t minHealthyBackends = 1;
};

struct BudgetSpec {
  Decimal maxCostPerHour;
  std::int32_t alertAtPercent = 80;
};

struct BackendQueries {
  // PromQL templates; {{backend}}, {{service}}, {{namespace}} are filled in. Empty: the
  // controller's built-in query for the provider.
  std::string errorRate;
  std::string latencyP99Milliseconds;
  std::string requestsPerSecond;
  // 1 while the backend passes its health checks, 0 when it fails them: drains a dead backend
  // at once and lets a drained one (no traffic, so no error rate) recover.
  std::string up;
};

struct TrafficMetricsSpec {
  PrometheusRef prometheus;
  Duration interval{std::chrono::seconds{15}};
  BackendQueries queries;
};

// Active health checks the gateway runs (Envoy Gateway healthCheck.active, HAProxy check).
struct HealthCheckSpec {
  std::string path = "/";
  Duration interval{std::chrono::seconds{10}};
  std::int32_t healthyThreshold = 2;
  std::int32_t unhealthyThreshold = 2;
};

struct TrafficPolicySpec {
  std::vector<ParentRef> parentRefs;
  std::vector<std::string> hostnames;
  std::string provider = "gatewayAPI";  // gatewayAPI | haproxy
  LoadBalancingStrategy strategy = LoadBalancingStrategy::RoundRobin;
  std::vector<Backend> backends;
  std::vector<TrafficTier> tiers;
  // Geographic for the default rule (requests of no tier): nearest region first.
  std::vector<std::string> preferredRegions;
  HealthCheckSpec healthCheck;
  std::optional<FailoverSpec> failover;
  std::optional<BudgetSpec> budget;
  std::optional<TrafficMetricsSpec> metrics;
};

struct BackendStatus {
  std::string name;
  std::int32_t weight = 0;
  bool healthy = true;
  std::optional<double> errorRate;
  std::optional<double> latencyP99Milliseconds;
  std::optional<Decimal> costPerHour;
  // The incident shift state, so a restart resumes at the same step: Healthy | Draining |
  // Drained | Recovering, the step (share = 1 - step/failover.shift.steps), when that step was
  // taken, since when the backend has been healthy without a break, and why it left Healthy.
  std::string state = "Healthy";
  std::int32_t step = 0;
  std::string stepAt;        // RFC 3339
  std::string healthySince;  // RFC 3339
  std::string reason;

  friend bool operator==(const BackendStatus&, const BackendStatus&) = default;
};

struct DecisionStatus {
  std::string strategy;
  std::string decidedAt;  // RFC 3339
  std::int64_t durationMicroseconds = 0;

  friend bool operator==(const DecisionStatus&, const DecisionStatus&) = default;
};

// Present while an incident shift runs: traffic moves from one backend to another in steps.
struct ShiftStatus {
  std::string reason;
  std::string from;
  std::string to;
  std::string startedAt;  // RFC 3339
  std::int32_t step = 0;

  friend bool operator==(const ShiftStatus&, const ShiftStatus&) = default;
};

struct TrafficPolicyStatus {
  std::int64_t observedGeneration = 0;
  std::int32_t activeBackends = 0;  // backends with a weight above 0 in the default rule
  std::string message;
  std::vector<BackendStatus> backends;
  std::optional<DecisionStatus> decision;
  std::optional<ShiftStatus> shift;
  std::optional<Decimal> estimatedCostPerHour;
  std::vector<Condition> conditions;

  friend bool operator==(const TrafficPolicyStatus&, const TrafficPolicyStatus&) = default;
};

struct TrafficPolicy {
  ObjectMeta metadata;
  TrafficPolicySpec spec;
  TrafficPolicyStatus status;
};

const char* toString(LoadBalancingStrategy strategy);
std::optional<LoadBalancingStrategy> parseLoadBalancingStrategy(std::string_view text);

}  // namespace sluice::api
