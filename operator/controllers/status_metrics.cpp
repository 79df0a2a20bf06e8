#include "operator/controllers/status_metrics.h"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string>

#include "operator/api/canary_rollout.h"
#include "operator/api/conditions.h"

namespace sluice::controllers {
namespace {

using kube::Labels;
using kube::Object;

const Object& field(const Object& object, const char* key) {
  static const Object null;
  if (!object.is_object()) {
    return null;
  }
  auto it = object.find(key);
  return it == object.end() ? null : *it;
}

// Numbers arrive as JSON numbers or, for decimals (costs, thresholds), as strings.
std::optional<double> number(const Object& value) {
  if (value.is_number()) {
    return value.get<double>();
  }
  if (value.is_string()) {
    try {
      std::size_t used = 0;
      const auto& text = value.get_ref<const std::string&>();
      const double d = std::stod(text, &used);
      if (used == text.size()) {
        return d;
      }
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

std::string text(const Object& value) {
  return value.is_string() ? value.get<std::string>() : std::string();
}

Labels identity(const Object& object) {
  const auto& meta = field(object, "metadata");
  return {{"name", text(field(meta, "name"))}, {"namespace", text(field(meta, "namespace"))}};
}

Labels with(Labels labels, const char* key, std::string value) {
  labels.emplace_back(key, std::move(value));
  return labels;
}

void gauge(kube::Metrics& out, const char* name, const char* help, const Labels& labels,
           std::optional<double> value) {
  if (value) {
    out.gaugeSet(name, help, labels, *value);
  }
}

const Object* conditionOf(const Object& status, const char* type) {
  const auto& conditions = field(status, "conditions");
  if (conditions.is_array()) {
    for (const auto& c : conditions) {
      if (text(field(c, "type")) == type) {
        return &c;
      }
    }
  }
  return nullptr;
}

constexpr std::array kPhases{api::CanaryPhase::Pending,   api::CanaryPhase::Progressing,
                             api::CanaryPhase::Paused,    api::CanaryPhase::Promoting,
                             api::CanaryPhase::Succeeded, api::CanaryPhase::RolledBack,
                             api::CanaryPhase::Failed};

}  // namespace

void canaryRolloutMetrics(const Object& rollout, kube::Metrics& out) {
  const Labels id = identity(rollout);
  const auto& spec = field(rollout, "spec");
  const auto& status = field(rollout, "status");
  const auto& steps = field(spec, "steps");
  const auto stepCount = steps.is_array() ? steps.size() : api::CanaryRolloutSpec{}.steps.size();
  gauge(out, "sluice_canary_steps", "Steps of a CanaryRollout (spec.steps)", id,
        static_cast<double>(stepCount));
  if (!status.is_object()) {
    return;  // not reconciled yet: no phase to report
  }
  const std::string phase = text(field(status, "phase"));
  for (auto p : kPhases) {
    out.gaugeSet("sluice_canary_phase",
                 "1 for a CanaryRollout's status.phase, 0 for the other phases",
                 with(id, "phase", api::toString(p)), phase == api::toString(p) ? 1 : 0);
  }
  gauge(out, "sluice_canary_weight", "Percent of traffic on the canary (status.canaryWeight)", id,
        number(field(status, "canaryWeight")).value_or(0));
  gauge(out, "sluice_canary_step",
        "The step a CanaryRollout is at, 1-based (status.currentStep + 1)", id,
        number(field(status, "currentStep")).value_or(0) + 1);
  const Object* progressing = conditionOf(status, api::kConditionProgressing);
  gauge(out, "sluice_canary_analysis_inconclusive",
        "1 while a CanaryRollout's last analysis was inconclusive (no data, too few requests, "
        "Prometheus unreachable)",
        id,
        progressing != nullptr && text(field(*progressing, "reason")) == "AnalysisInconclusive"
            ? 1
            : 0);
  const auto& values = field(field(status, "analysis"), "metrics");
  if (values.is_array()) {
    for (const auto& m : values) {
      gauge(out, "sluice_canary_analysis_value",
            "A CanaryRollout analysis metric's last value (status.analysis.metrics[].value)",
            with(id, "metric", text(field(m, "name"))), number(field(m, "value")));
    }
  }
  const auto& metrics = field(field(spec, "analysis"), "metrics");
  if (metrics.is_array()) {
    for (const auto& m : metrics) {
      const auto& range = field(m, "thresholdRange");
      for (const char* bound : {"min", "max"}) {
        gauge(out, "sluice_canary_analysis_threshold",
              "A CanaryRollout analysis metric's bound (spec.analysis.metrics[].thresholdRange)",
              with(with(id, "metric", text(field(m, "name"))), "bound", bound),
              number(field(range, bound)));
      }
    }
  }
  const auto& regions = field(status, "regions");
  if (regions.is_array()) {
    for (const auto& r : regions) {
      gauge(out, "sluice_canary_region_weight",
            "Percent of a region's traffic on the canary (status.regions[].canaryWeight)",
            with(id, "region", text(field(r, "name"))),
            number(field(r, "canaryWeight")).value_or(0));
    }
  }
}

void trafficPolicyMetrics(const Object& policy, kube::Metrics& out) {
  const Labels id = identity(policy);
  const auto& status = field(policy, "status");
  gauge(out, "sluice_trafficpolicy_budget_per_hour", "A TrafficPolicy's spec.budget.maxCostPerHour",
        id, number(field(field(field(policy, "spec"), "budget"), "maxCostPerHour")));
  gauge(out, "sluice_trafficpolicy_cost_per_hour",
        "A TrafficPolicy's estimated cost per hour (status.estimatedCostPerHour)", id,
        number(field(status, "estimatedCostPerHour")));
  const auto& backends = field(status, "backends");
  if (!backends.is_array()) {
    return;
  }
  for (const auto& b : backends) {
    const Labels l = with(id, "backend", text(field(b, "name")));
    gauge(out, "sluice_trafficpolicy_backend_weight",
          "A TrafficPolicy backend's weight (status.backends[].weight)", l,
          number(field(b, "weight")));
    const auto& healthy = field(b, "healthy");
    gauge(out, "sluice_trafficpolicy_backend_healthy",
          "1 while a TrafficPolicy backend is healthy (status.backends[].healthy)", l,
          healthy.is_boolean() ? std::optional<double>(healthy.get<bool>() ? 1 : 0) : std::nullopt);
    gauge(out, "sluice_trafficpolicy_backend_cost_per_hour",
          "A TrafficPolicy backend's cost per hour (status.backends[].costPerHour)", l,
          number(field(b, "costPerHour")));
    gauge(out, "sluice_trafficpolicy_backend_error_rate",
          "A TrafficPolicy backend's measured error rate (status.backends[].errorRate)", l,
          number(field(b, "errorRate")));
    auto p99 = number(field(b, "latencyP99Milliseconds"));
    gauge(
        out, "sluice_trafficpolicy_backend_latency_p99_seconds",
        "A TrafficPolicy backend's measured p99 latency (status.backends[].latencyP99Milliseconds)",
        l, p99 ? std::optional<double>(*p99 / 1000) : std::nullopt);
  }
}

void tierLimitMetrics(const Object& tierLimit, const Object* hpa, kube::Metrics& out) {
  const Labels id = identity(tierLimit);
  gauge(out, "sluice_tierlimit_hpa_min_replicas",
        "The replica floor a TierLimit's HPA has now, scheduled floors included "
        "(status.hpa.minReplicas)",
        id, number(field(field(field(tierLimit, "status"), "hpa"), "minReplicas")));
  if (hpa == nullptr) {
    return;
  }
  gauge(out, "sluice_tierlimit_hpa_max_replicas", "A TierLimit HPA's spec.maxReplicas", id,
        number(field(field(*hpa, "spec"), "maxReplicas")));
  const auto& status = field(*hpa, "status");
  gauge(out, "sluice_tierlimit_hpa_current_replicas", "A TierLimit HPA's status.currentReplicas",
        id, number(field(status, "currentReplicas")));
  gauge(out, "sluice_tierlimit_hpa_desired_replicas", "A TierLimit HPA's status.desiredReplicas",
        id, number(field(status, "desiredReplicas")));
}

void tierLimitCounts(const Object& tierLimit, const std::string& trafficPolicy,
                     const std::vector<render::TierCounts>& counts, kube::Metrics& out) {
  const Labels id = with(identity(tierLimit), "trafficpolicy", trafficPolicy);
  // Every tier of the spec has a series from the start (0 before its first request), so
  // rate() and increase() see the first requests and refusals too.
  std::vector<render::TierCounts> all = counts;
  const auto& tiers = field(field(tierLimit, "spec"), "tiers");
  if (tiers.is_array()) {
    for (const auto& t : tiers) {
      const std::string name = text(field(t, "name"));
      if (!name.empty() &&
          std::none_of(all.begin(), all.end(), [&](const auto& c) { return c.tier == name; })) {
        all.push_back({name, 0, 0});
      }
    }
  }
  for (const auto& c : all) {
    const Labels l = with(id, "tier", c.tier);
    out.counterAdd("sluice_tierlimit_requests_total",
                   "Requests a TierLimit's tier sent to a TrafficPolicy's data plane", l,
                   static_cast<double>(c.requests));
    out.counterAdd("sluice_tierlimit_rejected_total",
                   "Requests of a TierLimit's tier answered 429 by the data plane", l,
                   static_cast<double>(c.rejected));
  }
}

namespace {

// Each target policy's counts from its provider. A provider that fails once (HAProxy down)
// is not asked again in this scrape, so a dead data plane costs one timeout, not one each.
void collectTierCounts(const StatusMetricsSources& sources, const Object& limit,
                       std::set<const render::TrafficProvider*>& failed, kube::Metrics& out) {
  const std::string ns = text(field(field(limit, "metadata"), "namespace"));
  const auto& targets = field(field(limit, "spec"), "targetRefs");
  if (sources.providers == nullptr || sources.policies == nullptr || !targets.is_array()) {
    return;
  }
  for (const auto& target : targets) {
    const std::string name = text(field(target, "name"));
    auto policy = sources.policies->get({ns, name});
    if (!policy) {
      continue;
    }
    const auto& provider = field(field(*policy, "spec"), "provider");
    auto* p = sources.providers->find(provider.is_string() ? provider.get<std::string>()
                                                           : std::string("gatewayAPI"));
    if (p == nullptr || failed.contains(p)) {
      continue;
    }
    const engine::Owner owner{api::kApiVersion, "TrafficPolicy", ns, name,
                              text(field(field(*policy, "metadata"), "uid"))};
    auto counts = p->rateLimitCounts(owner);
    if (!counts) {
      failed.insert(p);
      continue;
    }
    tierLimitCounts(limit, name, *counts, out);
  }
}

}  // namespace

void collectStatusMetrics(const StatusMetricsSources& sources, kube::Metrics& out) {
  std::set<const render::TrafficProvider*> failed;
  const auto each = [](const kube::Informer* informer, auto&& visit) {
    if (informer == nullptr) {
      return;
    }
    for (const auto& key : informer->keys()) {
      if (auto cached = informer->getCached(key)) {
        visit(cached->decode());
      }
    }
  };
  each(sources.rollouts, [&](const Object& o) { canaryRolloutMetrics(o, out); });
  each(sources.policies, [&](const Object& o) { trafficPolicyMetrics(o, out); });
  each(sources.tierLimits, [&](const Object& limit) {
    std::optional<Object> hpa;
    const auto& name = field(field(field(limit, "status"), "hpa"), "name");
    if (sources.hpas != nullptr && name.is_string()) {
      hpa = sources.hpas->get(
          {text(field(field(limit, "metadata"), "namespace")), name.get<std::string>()});
    }
    tierLimitMetrics(limit, hpa ? &*hpa : nullptr, out);
    collectTierCounts(sources, limit, failed, out);
  });
}

}  // namespace sluice::controllers
