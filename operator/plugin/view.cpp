#include "operator/plugin/view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include "operator/api/units.h"
#include "operator/common/rfc3339.h"

namespace sluice::plugin {
namespace {

using kube::Object;

const Object& at(const Object& object, const char* key) {
  static const Object null;
  if (!object.is_object()) {
    return null;
  }
  auto it = object.find(key);
  return it == object.end() ? null : *it;
}

std::string text(const Object& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_integer()) {
    return std::to_string(value.get<std::int64_t>());
  }
  if (value.is_number()) {
    std::ostringstream out;
    out << value.get<double>();
    return out.str();
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "true" : "false";
  }
  return {};
}

std::int64_t integer(const Object& value, std::int64_t fallback = 0) {
  return value.is_number() ? value.get<std::int64_t>() : fallback;
}

const Object* condition(const Object& object, const char* type) {
  const auto& conditions = at(at(object, "status"), "conditions");
  if (conditions.is_array()) {
    for (const auto& c : conditions) {
      if (text(at(c, "type")) == type) {
        return &c;
      }
    }
  }
  return nullptr;
}

bool isTrue(const Object& object, const char* type) {
  const Object* c = condition(object, type);
  return c != nullptr && text(at(*c, "status")) == "True";
}

std::string reason(const Object& object, const char* type) {
  const Object* c = condition(object, type);
  return c == nullptr ? std::string() : text(at(*c, "reason"));
}

std::string kindOf(const Object& object) {
  return text(at(object, "kind"));
}

std::size_t stepCount(const Object& rollout) {
  const auto& steps = at(at(rollout, "spec"), "steps");
  return steps.is_array() ? steps.size() : 6;  // the API's default 5,10,25,50,75,100
}

std::string stepText(const Object& rollout) {
  const auto& status = at(rollout, "status");
  if (text(at(status, "phase")) == "Succeeded") {
    // Promoted or done: the step it ended at says little; the weight says it all.
    return "complete, " + std::to_string(integer(at(status, "canaryWeight"))) + "% canary";
  }
  return "step " + std::to_string(integer(at(status, "currentStep")) + 1) + "/" +
         std::to_string(stepCount(rollout)) + ", " +
         std::to_string(integer(at(status, "canaryWeight"))) + "% canary";
}

std::string seconds(std::int64_t s) {
  if (s < 0) {
    s = 0;
  }
  if (s < 120) {
    return std::to_string(s) + "s";
  }
  if (s < 2 * 3600) {
    return std::to_string(s / 60) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  }
  if (s < 48 * 3600) {
    return std::to_string(s / 3600) + "h" +
           (s % 3600 / 60 ? std::to_string(s % 3600 / 60) + "m" : "");
  }
  return std::to_string(s / 86400) + "d";
}

std::optional<std::int64_t> secondsUntil(const std::string& rfc3339, Clock::TimePoint now) {
  auto t = parseRfc3339(rfc3339);
  if (!t) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*t - now).count();
}

// Columns padded to their widest cell plus three spaces, as kubectl prints.
std::string columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) {
        line += std::string(width[i] - r[i].size() + 3, ' ');
      }
    }
    out += line + "\n";
  }
  return out;
}

std::string indent(const std::string& block, const std::string& by = "  ") {
  std::string out;
  std::istringstream lines(block);
  std::string line;
  while (std::getline(lines, line)) {
    out += by + line + "\n";
  }
  return out;
}

std::string number(const Object& value) {
  if (!value.is_number() && !value.is_string()) {
    return "-";
  }
  if (value.is_string()) {
    return value.get<std::string>();
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value.get<double>());
  return buffer;
}

std::string eventsBlock(const std::vector<Object>& events, Clock::TimePoint now) {
  if (events.empty()) {
    return "Events: none\n";
  }
  std::vector<std::vector<std::string>> rows{{"AGE", "TYPE", "REASON", "MESSAGE"}};
  const std::size_t first = events.size() > 5 ? events.size() - 5 : 0;
  for (std::size_t i = first; i < events.size(); ++i) {
    const auto& e = events[i];
    std::string when = text(at(at(e, "series"), "lastObservedTime"));
    if (when.empty()) {
      when = text(at(e, "eventTime"));
    }
    if (when.empty()) {
      when = text(at(at(e, "metadata"), "creationTimestamp"));
    }
    rows.push_back(
        {age(when, now), text(at(e, "type")), text(at(e, "reason")), text(at(e, "note"))});
  }
  return "Events (last " + std::to_string(events.size() - first) + "):\n" + indent(columns(rows));
}

std::string conditionsBlock(const Object& object) {
  const auto& conditions = at(at(object, "status"), "conditions");
  if (!conditions.is_array() || conditions.empty()) {
    return {};
  }
  std::vector<std::vector<std::string>> rows{{"TYPE", "STATUS", "REASON", "MESSAGE"}};
  for (const auto& c : conditions) {
    rows.push_back({text(at(c, "type")), text(at(c, "status")), text(at(c, "reason")),
                    text(at(c, "message"))});
  }
  return "Conditions:\n" + indent(columns(rows));
}

std::string header(const Object& object, Clock::TimePoint now) {
  const auto& meta = at(object, "metadata");
  std::string out = kindOf(object) + " " + text(at(meta, "namespace")) + "/" +
                    text(at(meta, "name")) + "   " + statusOf(object) + " (" + healthOf(object) +
                    ")   age " + age(text(at(meta, "creationTimestamp")), now) + "\n";
  const auto generation = integer(at(meta, "generation"));
  const auto observed = integer(at(at(object, "status"), "observedGeneration"));
  if (generation > observed) {
    out += "Waiting for the operator to observe generation " + std::to_string(generation) +
           " (status is of generation " + std::to_string(observed) + ")\n";
  }
  return out;
}

std::string thresholdText(const Object& range) {
  const auto& min = at(range, "min");
  const auto& max = at(range, "max");
  if (!min.is_null() && !max.is_null()) {
    return number(min) + " .. " + number(max);
  }
  if (!max.is_null()) {
    return "<= " + number(max);
  }
  if (!min.is_null()) {
    return ">= " + number(min);
  }
  return "-";
}

std::string canaryScreen(const Object& rollout, Clock::TimePoint now) {
  const auto& spec = at(rollout, "spec");
  const auto& status = at(rollout, "status");
  std::string out;
  const std::string phase = text(at(status, "phase"));
  const auto weight = integer(at(status, "canaryWeight"));
  // spec.canary/spec.stable are {serviceRef: {name, port}} (crds/); a bare name is accepted
  // too.
  const auto service = [&](const char* side) {
    const auto& ref = at(spec, side);
    const auto name = text(at(at(ref, "serviceRef"), "name"));
    return name.empty() ? text(at(ref, "name")) : name;
  };
  out += "Canary:   " + service("canary") + "   Stable: " + service("stable");
  if (const auto& rev = at(status, "canaryRevision"); rev.is_string()) {
    out += "   Revision: " + rev.get<std::string>();
  }
  out += "\n";
  out += "Step:     " + std::to_string(integer(at(status, "currentStep")) + 1) + "/" +
         std::to_string(stepCount(rollout)) + "   " + progressBar(static_cast<int>(weight), 40) +
         " canary\n";
  if (phase == "Progressing") {
    const auto interval = text(at(spec, "stepInterval"));
    auto started = parseRfc3339(text(at(status, "stepStartedAt")));
    auto step = durationSeconds(interval.empty() ? "1m" : interval);
    if (started && step) {
      const auto due = std::chrono::duration_cast<std::chrono::seconds>(
                           *started + std::chrono::seconds(*step) - now)
                           .count();
      const bool last =
          static_cast<std::size_t>(integer(at(status, "currentStep")) + 1) >= stepCount(rollout);
      out += std::string(last ? "Complete: " : "Next step: ") +
             (due > 0 ? "in " + seconds(due) : "due now, when the analysis passes") +
             " (step interval " + (interval.empty() ? "1m" : interval) + ")\n";
    }
  } else if (phase == "Paused") {
    out += "Paused:   kubectl sluice resume " + text(at(at(rollout, "metadata"), "name")) +
           " to go on\n";
  } else if (phase == "RolledBack") {
    out += "Rolled back: kubectl sluice retry " + text(at(at(rollout, "metadata"), "name")) +
           " starts it again\n";
  }
  if (const auto& message = at(status, "message"); message.is_string()) {
    out += "Message:  " + message.get<std::string>() + "\n";
  }
  // Analysis: each metric's value against its threshold, and the verdict.
  const auto& analysis = at(status, "analysis");
  const auto& metricSpecs = at(at(spec, "analysis"), "metrics");
  if (metricSpecs.is_array() && !metricSpecs.empty()) {
    out += "\nAnalysis";
    if (const auto last = text(at(analysis, "lastRunAt")); !last.empty()) {
      out += " (last run " + age(last, now) + " ago, " +
             std::to_string(integer(at(analysis, "failures"))) + "/" +
             std::to_string(integer(at(at(spec, "analysis"), "failureLimit"), 2)) + " failures)";
    } else {
      out += " (not run yet)";
    }
    out += ":\n";
    std::vector<std::vector<std::string>> rows{{"METRIC", "VALUE", "THRESHOLD", "VERDICT"}};
    for (const auto& m : metricSpecs) {
      const std::string name = text(at(m, "name"));
      std::string value = "-", verdict = "-", message;
      const auto& results = at(analysis, "metrics");
      if (results.is_array()) {
        for (const auto& r : results) {
          if (text(at(r, "name")) == name) {
            value = number(at(r, "value"));
            verdict = text(at(r, "result"));
            message = text(at(r, "message"));
          }
        }
      }
      rows.push_back({name, value, thresholdText(at(m, "thresholdRange")),
                      verdict + (message.empty() ? "" : ": " + message)});
    }
    out += indent(columns(rows));
  }
  const auto& regions = at(status, "regions");
  if (regions.is_array() && !regions.empty()) {
    out += "\nRegions:\n";
    std::vector<std::vector<std::string>> rows{{"REGION", "PHASE", "STEP", "WEIGHT", "MESSAGE"}};
    for (const auto& r : regions) {
      rows.push_back({text(at(r, "name")), text(at(r, "phase")),
                      std::to_string(integer(at(r, "currentStep")) + 1),
                      progressBar(static_cast<int>(integer(at(r, "canaryWeight"))), 20),
                      text(at(r, "message"))});
    }
    out += indent(columns(rows));
  }
  if (const auto& tenants = at(status, "tenants"); tenants.is_object()) {
    out += "\nTenants:  " + std::to_string(integer(at(tenants, "canary"))) +
           " pinned to the canary, " + std::to_string(integer(at(tenants, "stable"))) +
           " kept on stable\n";
  }
  return out;
}

std::string policyScreen(const Object& policy, Clock::TimePoint now) {
  const auto& spec = at(policy, "spec");
  const auto& status = at(policy, "status");
  std::string out =
      "Strategy: " + text(at(spec, "strategy")) + "   Provider: " +
      (text(at(spec, "provider")).empty() ? "gatewayAPI" : text(at(spec, "provider")));
  if (const auto& hosts = at(spec, "hostnames"); hosts.is_array()) {
    out += "   Hostnames:";
    for (const auto& h : hosts) {
      out += " " + text(h);
    }
  }
  out += "\n";
  const auto& backends = at(status, "backends");
  if (backends.is_array() && !backends.empty()) {
    std::vector<std::vector<std::string>> rows{
        {"BACKEND", "WEIGHT", "HEALTH", "STATE", "ERRORS", "P99 MS", "COST/H"}};
    for (const auto& b : backends) {
      std::string state = text(at(b, "state"));
      if (state != "Healthy" && !at(b, "step").is_null()) {
        state += " (step " + text(at(b, "step")) + ")";
      }
      const auto& err = at(b, "errorRate");
      rows.push_back(
          {text(at(b, "name")), progressBar(static_cast<int>(integer(at(b, "weight"))), 20),
           at(b, "healthy").is_boolean() && !at(b, "healthy").get<bool>() ? "unhealthy" : "healthy",
           state, err.is_number() ? number(err) : "-", number(at(b, "latencyP99Milliseconds")),
           number(at(b, "costPerHour"))});
    }
    out += "Backends:\n" + indent(columns(rows));
  }
  if (const auto& shift = at(status, "shift"); shift.is_object()) {
    out += "Shift in progress: " + text(at(shift, "from")) + " -> " + text(at(shift, "to")) + ": " +
           text(at(shift, "reason"));
    if (const auto next = text(at(shift, "nextStepAt")); !next.empty()) {
      if (auto in = secondsUntil(next, now)) {
        out += " (next step in " + seconds(*in) + ")";
      }
    }
    out += "\n";
  } else {
    out += "Shift: none\n";
  }
  const auto& cost = at(status, "estimatedCostPerHour");
  const auto& budget = at(at(spec, "budget"), "maxCostPerHour");
  if (!cost.is_null() || !budget.is_null()) {
    out += "Cost:     " + number(cost) + "/h" +
           (budget.is_null() ? std::string() : " of a budget of " + number(budget) + "/h") +
           (isTrue(policy, "OverBudget") ? "  OVER BUDGET" : "") + "\n";
  }
  return out;
}

std::string tierLimitScreen(const Object& limit, const Object* hpa, Clock::TimePoint now) {
  const auto& spec = at(limit, "spec");
  const auto& status = at(limit, "status");
  std::string out;
  const auto& tiers = at(spec, "tiers");
  if (tiers.is_array() && !tiers.empty()) {
    std::vector<std::vector<std::string>> rows{
        {"TIER", "REQ/S", "BURST", "CONCURRENT", "DAILY QUOTA", "PRIORITY"}};
    for (const auto& t : tiers) {
      const auto cell = [&](const char* key) {
        const auto& v = at(t, key);
        return v.is_null() ? std::string("-") : text(v);
      };
      rows.push_back({cell("name"), cell("requestsPerSecond"), cell("burst"), cell("concurrent"),
                      cell("dailyQuota"), cell("priority")});
    }
    out += "Tiers:\n" + indent(columns(rows));
  }
  const auto& h = at(status, "hpa");
  if (h.is_object()) {
    out += "HPA " + text(at(h, "name")) + ": floor " + text(at(h, "minReplicas")) + " now";
    const auto schedule = text(at(h, "activeSchedule"));
    out += schedule.empty() ? " (no schedule active)" : " (schedule " + schedule + ")";
    if (hpa != nullptr) {
      const auto& hs = at(*hpa, "status");
      out += ", replicas " + text(at(hs, "currentReplicas")) + " (desired " +
             text(at(hs, "desiredReplicas")) + ", max " +
             text(at(at(*hpa, "spec"), "maxReplicas")) + ")";
    }
    out += "\n";
    if (const auto next = text(at(h, "nextChange")); !next.empty()) {
      auto in = secondsUntil(next, now);
      out += "Next floor change: " + next + (in ? " (in " + seconds(*in) + ")" : "") + "\n";
    }
  } else {
    out += "HPA: none\n";
  }
  return out;
}

}  // namespace

kube::Resource Kind::resource() const {
  return {"sluice.dev", "v1alpha1", plural, name, true};
}

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> all{
      {"CanaryRollout", "canaryrollouts", "canaryrollout", "cr"},
      {"TrafficPolicy", "trafficpolicies", "trafficpolicy", "tp"},
      {"TierLimit", "tierlimits", "tierlimit", "tl"},
  };
  return all;
}

const Kind* findKind(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (const auto dot = lower.find('.');
      dot != std::string::npos && lower.substr(dot + 1) == "sluice.dev") {
    lower = lower.substr(0, dot);
  }
  for (const auto& k : kinds()) {
    if (lower == k.plural || lower == k.singular || lower == k.shortName) {
      return &k;
    }
  }
  return nullptr;
}

std::string healthOf(const Object& object) {
  const auto& status = at(object, "status");
  if (!status.is_object()) {
    return "Unknown";
  }
  if (isTrue(object, "Stalled") || isTrue(object, "Degraded")) {
    return "Degraded";
  }
  if (text(at(status, "phase")) == "Paused") {
    return "Suspended";
  }
  if (isTrue(object, "Reconciling")) {
    return "Progressing";
  }
  return isTrue(object, "Ready") ? "Healthy" : "Progressing";
}

std::string statusOf(const Object& object) {
  const auto& status = at(object, "status");
  if (!status.is_object()) {
    return "Unknown";
  }
  if (reason(object, "Ready") == "InvalidSpec") {
    return "InvalidSpec";
  }
  if (kindOf(object) == "CanaryRollout") {
    const std::string phase = text(at(status, "phase"));
    if (isTrue(object, "Degraded") && phase != "RolledBack") {
      return phase + "/Degraded";
    }
    return phase.empty() ? "Unknown" : phase;
  }
  if (isTrue(object, "Degraded")) {
    return "Degraded";
  }
  if (kindOf(object) == "TrafficPolicy" && reason(object, "Progressing") == "Shifting") {
    return "Shifting";
  }
  if (kindOf(object) == "TierLimit" && condition(object, "RateLimitsEnforced") != nullptr &&
      !isTrue(object, "RateLimitsEnforced")) {
    return "NotEnforced";
  }
  return isTrue(object, "Ready") ? "Ready" : "NotReady";
}

std::string detailOf(const Object& object) {
  const auto& status = at(object, "status");
  const std::string kind = kindOf(object);
  if (kind == "CanaryRollout") {
    return status.is_object() ? stepText(object) : "";
  }
  if (kind == "TrafficPolicy") {
    const auto& backends = at(status, "backends");
    if (!backends.is_array()) {
      return "";
    }
    std::size_t healthy = 0;
    for (const auto& b : backends) {
      healthy += at(b, "healthy").is_boolean() && at(b, "healthy").get<bool>() ? 1 : 0;
    }
    return std::to_string(healthy) + "/" + std::to_string(backends.size()) + " backends healthy, " +
           text(at(at(object, "spec"), "strategy"));
  }
  if (kind == "TierLimit") {
    const auto& hpa = at(status, "hpa");
    if (!hpa.is_object()) {
      return "";
    }
    const auto schedule = text(at(hpa, "activeSchedule"));
    return "floor " + text(at(hpa, "minReplicas")) +
           (schedule.empty() ? "" : " (" + schedule + ")");
  }
  return "";
}

std::string age(const std::string& rfc3339, Clock::TimePoint now) {
  auto in = secondsUntil(rfc3339, now);
  return in ? seconds(-*in) : "<unknown>";
}

Row rowOf(const Object& object, Clock::TimePoint now) {
  const auto& meta = at(object, "metadata");
  const Kind* k = findKind(kindOf(object));
  return {text(at(meta, "namespace")),
          k ? std::string(k->singular) : kindOf(object),
          text(at(meta, "name")),
          statusOf(object),
          healthOf(object),
          detailOf(object),
          age(text(at(meta, "creationTimestamp")), now)};
}

std::string table(const std::vector<Row>& rows, bool withNamespace) {
  std::vector<std::vector<std::string>> cells;
  auto row = [&](const Row& r) {
    std::vector<std::string> c;
    if (withNamespace) {
      c.push_back(r.ns);
    }
    c.insert(c.end(), {r.kind + "/" + r.name, r.status, r.health, r.detail, r.age});
    return c;
  };
  Row head{"NAMESPACE", "", "NAME", "STATUS", "HEALTH", "DETAIL", "AGE"};
  auto h = row(head);
  h[withNamespace ? 1 : 0] = "NAME";
  cells.push_back(h);
  for (const auto& r : rows) {
    cells.push_back(row(r));
  }
  return columns(cells);
}

std::string statusScreen(const Object& object, const std::vector<Object>& events,
                         const Object* related, Clock::TimePoint now) {
  std::string out = header(object, now);
  const std::string kind = kindOf(object);
  if (kind == "CanaryRollout") {
    out += canaryScreen(object, now);
  } else if (kind == "TrafficPolicy") {
    out += policyScreen(object, now);
  } else if (kind == "TierLimit") {
    out += tierLimitScreen(object, related, now);
  }
  if (const auto c = conditionsBlock(object); !c.empty()) {
    out += "\n" + c;
  }
  out += "\n" + eventsBlock(events, now);
  return out;
}

std::string summaryLine(const Object& object, bool withValues) {
  const auto& meta = at(object, "metadata");
  std::string line = kindOf(object) + " " + text(at(meta, "namespace")) + "/" +
                     text(at(meta, "name")) + " " + statusOf(object) + " " + healthOf(object);
  if (const auto d = detailOf(object); !d.empty()) {
    line += " " + d;
  }
  const auto& status = at(object, "status");
  const auto& results = at(at(status, "analysis"), "metrics");
  if (results.is_array()) {
    for (const auto& r : results) {
      line += " " + text(at(r, "name")) + (withValues ? "=" + number(at(r, "value")) : "") + ":" +
              text(at(r, "result"));
    }
  }
  const auto& backends = at(status, "backends");
  if (backends.is_array()) {
    for (const auto& b : backends) {
      line += " " + text(at(b, "name")) + "=" + text(at(b, "weight"));
    }
  }
  if (const auto& message = at(status, "message"); message.is_string() && !message.empty()) {
    line += " | " + message.get<std::string>();
  }
  return line;
}

std::string progressBar(int percent, int width) {
  percent = std::clamp(percent, 0, 100);
  const int filled = (percent * width + 50) / 100;
  std::string bar = "[";
  for (int i = 0; i < width; ++i) {
    bar += i < filled ? "\u2588" : "\u2591";
  }
  return bar + "] " + std::to_string(percent) + "%";
}

std::optional<std::int64_t> durationSeconds(const std::string& text) {
  auto d = api::parseDuration(text);  // the parser the CRDs' durations go through
  if (!d) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*d).count();
}

}  // namespace sluice::plugin
