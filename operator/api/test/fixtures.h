#pragma once

// Valid objects of each kind, as the API server would serve them, for tests to break one
// field at a time.

#include <nlohmann/json.hpp>

namespace sluice::api::testing {

inline nlohmann::json validCanaryRollout() {
  return nlohmann::json::parse(R"json({
    "apiVersion": "sluice.dev/v1alpha1",
    "kind": "CanaryRollout",
    "metadata": {"name": "payment-api", "namespace": "payments", "uid": "u-1",
                 "resourceVersion": "42", "generation": 3,
                 "labels": {"app": "payment-api"},
                 "annotations": {"sluice.dev/promote": "true"}},
    "spec": {
      "stable": {"serviceRef": {"name": "payment-api-stable", "port": 80}},
      "canary": {"serviceRef": {"name": "payment-api-canary", "port": 80}},
      "route": {"parentRefs": [{"name": "edge", "namespace": "gateways"}],
                "hostnames": ["pay.example.com"]},
      "stickiness": {"header": "X-Tenant-ID"},
      "match": [{"headers": [{"name": "X-Canary", "value": "always"}]}],
      "analysis": {
        "prometheus": {"address": "http://prometheus.monitoring:9090"},
        "metrics": [
          {"name": "error-rate", "query": "sum(rate(x[1m]))", "thresholdRange": {"max": "0.01"}},
          {"name": "latency-p99", "query": "histogram_quantile(0.99, y)",
           "thresholdRange": {"max": "500"}}
        ]
      }
    }
  })json");
}

inline nlohmann::json validTrafficPolicy() {
  return nlohmann::json::parse(R"json({
    "apiVersion": "sluice.dev/v1alpha1",
    "kind": "TrafficPolicy",
    "metadata": {"name": "checkout", "namespace": "shop", "generation": 1},
    "spec": {
      "parentRefs": [{"name": "edge", "namespace": "gateways"}],
      "hostnames": ["checkout.example.com"],
      "strategy": "Hybrid",
      "backends": [
        {"name": "eastus", "serviceRef": {"name": "checkout-eastus", "port": 8080},
         "region": "eastus", "weight": 50, "capacity": {"maxRequestsPerSecond": 5000},
         "cost": {"perMillionRequests": "0.10", "egressPerGB": "0.02"}},
        {"name": "westeu", "serviceRef": {"name": "checkout-westeu", "port": 8080},
         "region": "westeurope", "weight": 50}
      ],
      "tiers": [
        {"name": "premium", "match": {"headers": [{"name": "X-Tier", "value": "premium"}]},
         "priority": 1, "latencyTargetMilliseconds": 50, "bandwidth": "unlimited",
         "burstAllowance": "2.0", "strategy": "WeightedResponseTime"},
        {"name": "free", "match": {"headers": [{"name": "X-Tier", "value": "free"}]},
         "priority": 3, "bandwidth": "100M", "strategy": "CostOptimized"}
      ],
      "failover": {"errorRateThreshold": "0.05", "latencyThresholdMilliseconds": 500,
                   "shift": {"steps": 10, "interval": "6s"}, "recovery": {"healthyFor": "2m"},
                   "minHealthyBackends": 1},
      "budget": {"maxCostPerHour": "100", "alertAtPercent": 80},
      "metrics": {"prometheus": {"address": "http://prometheus.monitoring:9090"},
                  "interval": "15s", "queries": {"errorRate": "e{{backend}}"}}
    }
  })json");
}

inline nlohmann::json validTierLimit() {
  return nlohmann::json::parse(R"json({
    "apiVersion": "sluice.dev/v1alpha1",
    "kind": "TierLimit",
    "metadata": {"name": "checkout-tiers", "namespace": "shop"},
    "spec": {
      "targetRefs": [{"kind": "TrafficPolicy", "name": "checkout"}],
      "tierHeader": "X-Tier",
      "identity": {"header": "X-Customer-ID"},
      "defaultTier": "free",
      "tiers": [
        {"name": "premium", "requestsPerSecond": 1000, "burst": 2000, "concurrent": 100,
         "dailyQuota": 10000000, "priority": 1},
        {"name": "standard", "requestsPerSecond": 100, "burst": 200, "concurrent": 20,
         "dailyQuota": 1000000, "priority": 2},
        {"name": "free", "requestsPerSecond": 10, "burst": 20, "concurrent": 5,
         "dailyQuota": 10000, "priority": 3}
      ],
      "queue": {"maxSize": 500, "timeout": "2s"},
      "autoscaling": {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"},
        "minReplicas": 2, "maxReplicas": 20, "cpuUtilization": 70, "memoryUtilization": 80,
        "requestsPerSecondPerReplica": 200,
        "behavior": {"scaleUp": {"stabilizationWindow": "30s"},
                     "scaleDown": {"stabilizationWindow": "300s"}},
        "schedules": [{"name": "business-hours", "cron": "0 8 * * 1-5", "duration": "10h",
                       "minReplicas": 6, "timeZone": "Europe/Stockholm"}]
      }
    }
  })json");
}

}  // namespace sluice::api::testing
