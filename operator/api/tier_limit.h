#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/common.h"

namespace sluice::api {

// Policy attachment, as in Gateway API: the objects these limits apply to.
struct PolicyTargetRef {
  std::string group = "sluice.dev";
  std::string kind;  // TrafficPolicy
  std::string name;
};

struct IdentitySpec {
  std::string header;
};

struct RateLimitTier {
  std::string name;
  std::int64_t requestsPerSecond = 0;
  std::int64_t burst = 0;  // defaults to requestsPerSecond when omitted
  std::optional<std::int64_t> concurrent;
  std::optional<std::int64_t> dailyQuota;
  std::int32_t priority = 1;  // 1..100, 1 is the most important
};

struct QueueSpec {
  std::int32_t maxSize = 100;
  Duration timeout{std::chrono::seconds{2}};
};

struct ScaleTargetRef {
  std::string apiVersion = "apps/v1";
  std::string kind = "Deployment";
  std::string name;
};

struct ScalingRules {
  Duration stabilizationWindow{0};
};

struct ScalingBehavior {
  // The autoscaling/v2 defaults: scale up at once, scale down after five minutes.
  ScalingRules scaleUp{Duration{0}};
  ScalingRules scaleDown{Duration{std::chrono::seconds{300}}};
};

struct ScalingSchedule {
  std::string name;
  std::string cron;  // 5-field cron, evaluated in timeZone
  Duration duration{0};
  std::int32_t minReplicas = 0;
  std::string timeZone = "UTC";
};

struct TierAutoscaling {
  ScaleTargetRef targetRef;
  std::int32_t minReplicas = 1;
  std::int32_t maxReplicas = 0;
  std::optional<std::int32_t> cpuUtilization;
  std::optional<std::int32_t> memoryUtilization;
  std::optional<std::int64_t> requestsPerSecondPerReplica;
  ScalingBehavior behavior;
  std::vector<ScalingSchedule> schedules;
};

struct TierLimitSpec {
  std::vector<PolicyTargetRef> targetRefs;
  std::string tierHeader = "X-Tier";
  std::optional<IdentitySpec> identity;
  // Tier for requests without a known tier header value. When omitted, the tier with the
  // largest priority number (the least important); resolved by effectiveDefaultTier().
  std::string defaultTier;
  // IANA time zone whose midnight resets every daily quota.
  std::string quotaTimeZone = "UTC";
  std::vector<RateLimitTier> tiers;
  std::optional<QueueSpec> queue;
  std::optional<TierAutoscaling> autoscaling;

  std::string effectiveDefaultTier() const;
};

struct HpaStatus {
  std::string name;
  std::int32_t minReplicas = 0;
  std::string activeSchedule;  // empty when no schedule is active
  std::string nextChange;      // RFC 3339; when the floor next changes

  friend bool operator==(const HpaStatus&, const HpaStatus&) = default;
};

struct TierLimitStatus {
  std::int64_t observedGeneration = 0;
  std::string message;
  std::optional<HpaStatus> hpa;
  std::vector<Condition> conditions;

  friend bool operator==(const TierLimitStatus&, const TierLimitStatus&) = default;
};

struct TierLimit {
  ObjectMeta metadata;
  TierLimitSpec spec;
  TierLimitStatus status;
};

}  // namespace sluice::api
