#include "operator/api/parse.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "operator/api/units.h"
#include "operator/api/validate.h"
#include "operator/common/rfc3339.h"

namespace sluice::api {
namespace {

using nlohmann::json;

enum class Presence { Optional, Required };

constexpr const char* kRequired = "Required value";

// Walks a JSON tree, writing typed values and collecting every problem with its path.
class Reader {
 public:
  ValidationErrors& errors() { return errors_; }

  // The member `key` of `obj`, or nullptr when absent or null (null means "unset" in a
  // Kubernetes object, e.g. after a merge patch).
  const json* member(const json& obj, const std::string& path, const char* key, Presence presence) {
    if (obj.is_object()) {
      const auto it = obj.find(key);
      if (it != obj.end() && !it->is_null()) {
        return &*it;
      }
    }
    if (presence == Presence::Required) {
      errors_.add(childPath(path, key), kRequired);
    }
    return nullptr;
  }

  const json* object(const json& obj, const std::string& path, const char* key,
                     Presence presence = Presence::Optional) {
    const json* v = member(obj, path, key, presence);
    if (v != nullptr && !v->is_object()) {
      errors_.add(childPath(path, key), "must be an object");
      return nullptr;
    }
    return v;
  }

  const json* array(const json& obj, const std::string& path, const char* key,
                    Presence presence = Presence::Optional) {
    const json* v = member(obj, path, key, presence);
    if (v != nullptr && !v->is_array()) {
      errors_.add(childPath(path, key), "must be a list");
      return nullptr;
    }
    return v;
  }

  bool string(const json& obj, const std::string& path, const char* key, std::string& out,
              Presence presence = Presence::Optional) {
    const json* v = member(obj, path, key, presence);
    if (v == nullptr) {
      return false;
    }
    if (!v->is_string()) {
      errors_.add(childPath(path, key), "must be a string");
      return false;
    }
    out = v->get<std::string>();
    return true;
  }

  bool boolean(const json& obj, const std::string& path, const char* key, bool& out) {
    const json* v = member(obj, path, key, Presence::Optional);
    if (v == nullptr) {
      return false;
    }
    if (!v->is_boolean()) {
      errors_.add(childPath(path, key), "must be a boolean");
      return false;
    }
    out = v->get<bool>();
    return true;
  }

  template <class T>
  bool integerValue(const json& v, const std::string& fieldPath, T& out) {
    static_assert(std::is_integral_v<T>);
    std::int64_t value = 0;
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        errors_.add(fieldPath, "value out of range");
        return false;
      }
      value = static_cast<std::int64_t>(u);
    } else if (v.is_number_integer()) {
      value = v.get<std::int64_t>();
    } else if (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>() &&
               std::abs(v.get<double>()) < 9e15) {
      // JSON has one number type; 5.0 is the integer 5 to a Go decoder too.
      value = static_cast<std::int64_t>(v.get<double>());
    } else {
      errors_.add(fieldPath, "must be an integer");
      return false;
    }
    if (value < std::numeric_limits<T>::min() || value > std::numeric_limits<T>::max()) {
      errors_.add(fieldPath, "value out of range");
      return false;
    }
    out = static_cast<T>(value);
    return true;
  }

  template <class T>
  bool integer(const json& obj, const std::string& path, const char* key, T& out,
               Presence presence = Presence::Optional) {
    const json* v = member(obj, path, key, presence);
    return v != nullptr && integerValue(*v, childPath(path, key), out);
  }

  template <class T>
  void optionalInteger(const json& obj, const std::string& path, const char* key,
                       std::optional<T>& out) {
    T value{};
    if (integer(obj, path, key, value)) {
      out = value;
    }
  }

  bool number(const json& obj, const std::string& path, const char* key,
              std::optional<double>& out) {
    const json* v = member(obj, path, key, Presence::Optional);
    if (v == nullptr) {
      return false;
    }
    if (!v->is_number()) {
      errors_.add(childPath(path, key), "must be a number");
      return false;
    }
    out = v->get<double>();
    return true;
  }

  bool duration(const json& obj, const std::string& path, const char* key, Duration& out,
                Presence presence = Presence::Optional) {
    std::string text;
    if (!string(obj, path, key, text, presence)) {
      return false;
    }
    auto parsed = parseDuration(text);
    if (!parsed) {
      errors_.add(childPath(path, key), parsed.error());
      return false;
    }
    out = *parsed;
    return true;
  }

  bool decimal(const json& obj, const std::string& path, const char* key, Decimal& out,
               Presence presence = Presence::Optional) {
    const json* v = member(obj, path, key, presence);
    if (v == nullptr) {
      return false;
    }
    std::string text;
    if (v->is_string()) {
      text = v->get<std::string>();
    } else if (v->is_number()) {
      // Written unquoted in YAML; the shortest round-trip form is what the user typed.
      text = v->dump();
    } else {
      errors_.add(childPath(path, key), "must be a decimal string such as \"0.05\"");
      return false;
    }
    auto parsed = parseDecimal(text);
    if (!parsed) {
      errors_.add(childPath(path, key), parsed.error());
      return false;
    }
    out = *parsed;
    return true;
  }

  void optionalDecimal(const json& obj, const std::string& path, const char* key,
                       std::optional<Decimal>& out) {
    Decimal value;
    if (decimal(obj, path, key, value)) {
      out = value;
    }
  }

  // Reads a list of strings.
  void strings(const json& obj, const std::string& path, const char* key,
               std::vector<std::string>& out) {
    const json* list = array(obj, path, key);
    if (list == nullptr) {
      return;
    }
    const std::string listPath = childPath(path, key);
    out.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (!(*list)[i].is_string()) {
        errors_.add(indexPath(listPath, i), "must be a string");
        continue;
      }
      out.push_back((*list)[i].get<std::string>());
    }
  }

  void stringMap(const json& obj, const std::string& path, const char* key,
                 std::map<std::string, std::string>& out) {
    const json* map = object(obj, path, key);
    if (map == nullptr) {
      return;
    }
    for (const auto& [k, v] : map->items()) {
      if (!v.is_string()) {
        errors_.add(childPath(childPath(path, key), k), "must be a string");
        continue;
      }
      out[k] = v.get<std::string>();
    }
  }

  // Calls `each(element, elementPath)` for every element of the list `key` that is an object.
  template <class F>
  void objects(const json& obj, const std::string& path, const char* key, F&& each,
               Presence presence = Presence::Optional) {
    const json* list = array(obj, path, key, presence);
    if (list == nullptr) {
      return;
    }
    const std::string listPath = childPath(path, key);
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string elementPath = indexPath(listPath, i);
      if (!(*list)[i].is_object()) {
        errors_.add(elementPath, "must be an object");
        continue;
      }
      each((*list)[i], elementPath);
    }
  }

  template <class Enum>
  bool enumeration(const json& obj, const std::string& path, const char* key, Enum& out,
                   std::optional<Enum> (*parse)(std::string_view),
                   std::initializer_list<const char*> supported,
                   Presence presence = Presence::Optional) {
    std::string text;
    if (!string(obj, path, key, text, presence)) {
      return false;
    }
    if (auto value = parse(text)) {
      out = *value;
      return true;
    }
    errors_.add(childPath(path, key), unsupported(text, supported));
    return false;
  }

  bool stringEnum(const json& obj, const std::string& path, const char* key, std::string& out,
                  std::initializer_list<const char*> supported) {
    std::string text;
    if (!string(obj, path, key, text)) {
      return false;
    }
    for (const char* s : supported) {
      if (text == s) {
        out = text;
        return true;
      }
    }
    errors_.add(childPath(path, key), unsupported(text, supported));
    return false;
  }

  static std::string unsupported(const std::string& text,
                                 std::initializer_list<const char*> supported) {
    std::string message = "Unsupported value: \"" + text + "\": supported values: ";
    bool first = true;
    for (const char* s : supported) {
      message += std::string(first ? "" : ", ") + "\"" + s + "\"";
      first = false;
    }
    return message;
  }

 private:
  ValidationErrors errors_;
};

constexpr std::initializer_list<const char*> kProviders = {"gatewayAPI", "haproxy"};
constexpr std::initializer_list<const char*> kStrategies = {
    "RoundRobin",  "LeastRequest", "WeightedResponseTime", "Geographic", "CostOptimized",
    "HealthBased", "Hybrid"};
constexpr std::initializer_list<const char*> kPhases = {
    "Pending", "Progressing", "Paused", "Promoting", "Succeeded", "RolledBack", "Failed"};
constexpr std::initializer_list<const char*> kResults = {"Pass", "Fail", "Inconclusive"};

void readObjectMeta(Reader& r, const json& metadata, ObjectMeta& out) {
  const std::string path = "metadata";
  if (!metadata.is_object()) {
    r.errors().add(path, "must be an object");
    return;
  }
  r.string(metadata, path, "name", out.name, Presence::Required);
  r.string(metadata, path, "namespace", out.namespace_);
  r.string(metadata, path, "uid", out.uid);
  r.string(metadata, path, "resourceVersion", out.resourceVersion);
  r.integer(metadata, path, "generation", out.generation);
  r.stringMap(metadata, path, "labels", out.labels);
  r.stringMap(metadata, path, "annotations", out.annotations);
  std::string deletion;
  if (r.string(metadata, path, "deletionTimestamp", deletion)) {
    if (auto parsed = parseRfc3339(deletion); !parsed) {
      r.errors().add(childPath(path, "deletionTimestamp"), parsed.error());
    } else {
      out.deletionTimestamp = deletion;
    }
  }
}

// A reference that names no namespace in the schema resolves in the object's own namespace. A
// `namespace` there anyway (a CRD whose schema does not prune it, or a file checked offline) is
// refused rather than silently ignored: the object's author must not believe the operator will
// read or write in another namespace on their behalf, and must not be able to make it do so.
// Only parentRefs may cross namespaces (the Gateway's allowedRoutes decides, as in Gateway API).
void refuseNamespace(Reader& r, const json& ref, const std::string& refPath, const char* what) {
  if (ref.is_object() && ref.contains("namespace") && !ref["namespace"].is_null()) {
    r.errors().add(childPath(refPath, "namespace"),
                   std::string("cross-namespace references are not allowed: the ") + what +
                       " must be in the object's own namespace");
  }
}

void readServiceRef(Reader& r, const json& obj, const std::string& path, const char* key,
                    ServiceRef& out) {
  const json* holder = r.object(obj, path, key, Presence::Required);
  if (holder == nullptr) {
    return;
  }
  const std::string holderPath = childPath(path, key);
  const json* ref = r.object(*holder, holderPath, "serviceRef", Presence::Required);
  if (ref == nullptr) {
    return;
  }
  const std::string refPath = childPath(holderPath, "serviceRef");
  refuseNamespace(r, *ref, refPath, "Service");
  r.string(*ref, refPath, "name", out.name, Presence::Required);
  r.integer(*ref, refPath, "port", out.port, Presence::Required);
}

void readServiceRefDirect(Reader& r, const json& obj, const std::string& path, ServiceRef& out) {
  const json* ref = r.object(obj, path, "serviceRef", Presence::Required);
  if (ref == nullptr) {
    return;
  }
  const std::string refPath = childPath(path, "serviceRef");
  refuseNamespace(r, *ref, refPath, "Service");
  r.string(*ref, refPath, "name", out.name, Presence::Required);
  r.integer(*ref, refPath, "port", out.port, Presence::Required);
}

void readRequestMatch(Reader& r, const json& obj, const std::string& path, RequestMatch& out) {
  r.objects(obj, path, "headers", [&](const json& h, const std::string& hPath) {
    HeaderMatch header;
    r.string(h, hPath, "name", header.name, Presence::Required);
    r.string(h, hPath, "value", header.value, Presence::Required);
    r.stringEnum(h, hPath, "type", header.type, {"Exact", "RegularExpression"});
    out.headers.push_back(std::move(header));
  });
}

void readParentRefs(Reader& r, const json& obj, const std::string& path,
                    std::vector<ParentRef>& out) {
  r.objects(obj, path, "parentRefs", [&](const json& p, const std::string& pPath) {
    ParentRef ref;
    r.string(p, pPath, "name", ref.name, Presence::Required);
    r.string(p, pPath, "namespace", ref.namespace_);
    r.string(p, pPath, "sectionName", ref.sectionName);
    out.push_back(std::move(ref));
  });
}

void readPrometheus(Reader& r, const json& obj, const std::string& path, PrometheusRef& out) {
  if (const json* p = r.object(obj, path, "prometheus")) {
    r.string(*p, childPath(path, "prometheus"), "address", out.address, Presence::Required);
  }
}

void readConditions(Reader& r, const json& obj, const std::string& path,
                    std::vector<Condition>& out) {
  r.objects(obj, path, "conditions", [&](const json& c, const std::string& cPath) {
    Condition condition;
    r.string(c, cPath, "type", condition.type, Presence::Required);
    if (r.member(c, cPath, "status", Presence::Required) != nullptr) {
      r.stringEnum(c, cPath, "status", condition.status, {"True", "False", "Unknown"});
    }
    r.string(c, cPath, "reason", condition.reason);
    r.string(c, cPath, "message", condition.message);
    if (r.string(c, cPath, "lastTransitionTime", condition.lastTransitionTime)) {
      if (auto t = parseRfc3339(condition.lastTransitionTime); !t) {
        r.errors().add(childPath(cPath, "lastTransitionTime"), t.error());
      }
    }
    r.integer(c, cPath, "observedGeneration", condition.observedGeneration);
    out.push_back(std::move(condition));
  });
}

void readTimestamp(Reader& r, const json& obj, const std::string& path, const char* key,
                   std::string& out) {
  if (r.string(obj, path, key, out)) {
    if (auto t = parseRfc3339(out); !t) {
      r.errors().add(childPath(path, key), t.error());
    }
  }
}

// ---- CanaryRollout ----

void readCanarySpec(Reader& r, const json& spec, CanaryRolloutSpec& out) {
  const std::string path = "spec";
  readServiceRef(r, spec, path, "stable", out.stable);
  readServiceRef(r, spec, path, "canary", out.canary);
  if (const json* ref = r.object(spec, path, "trafficPolicyRef")) {
    const std::string refPath = childPath(path, "trafficPolicyRef");
    TrafficPolicyRef value;
    refuseNamespace(r, *ref, refPath, "TrafficPolicy");
    r.string(*ref, refPath, "name", value.name, Presence::Required);
    r.string(*ref, refPath, "backend", value.backend);
    out.trafficPolicyRef = std::move(value);
  }
  if (const json* route = r.object(spec, path, "route")) {
    const std::string routePath = childPath(path, "route");
    RouteSpec value;
    readParentRefs(r, *route, routePath, value.parentRefs);
    r.strings(*route, routePath, "hostnames", value.hostnames);
    r.stringEnum(*route, routePath, "provider", value.provider, kProviders);
    out.route = std::move(value);
  }
  if (const json* steps = r.array(spec, path, "steps")) {
    out.steps.clear();
    for (std::size_t i = 0; i < steps->size(); ++i) {
      std::int32_t step = 0;
      if (r.integerValue((*steps)[i], indexPath(childPath(path, "steps"), i), step)) {
        out.steps.push_back(step);
      }
    }
  }
  r.duration(spec, path, "stepInterval", out.stepInterval);
  if (const json* stickiness = r.object(spec, path, "stickiness")) {
    Stickiness value;
    r.string(*stickiness, childPath(path, "stickiness"), "header", value.header,
             Presence::Required);
    out.stickiness = std::move(value);
  }
  r.objects(spec, path, "match", [&](const json& m, const std::string& mPath) {
    RequestMatch match;
    readRequestMatch(r, m, mPath, match);
    out.match.push_back(std::move(match));
  });
  if (const json* analysis = r.object(spec, path, "analysis")) {
    const std::string aPath = childPath(path, "analysis");
    CanaryAnalysis& a = out.analysis;
    readPrometheus(r, *analysis, aPath, a.prometheus);
    r.duration(*analysis, aPath, "interval", a.interval);
    r.integer(*analysis, aPath, "failureLimit", a.failureLimit);
    r.integer(*analysis, aPath, "minRequests", a.minRequests);
    r.string(*analysis, aPath, "requestCountQuery", a.requestCountQuery);
    r.objects(*analysis, aPath, "metrics", [&](const json& m, const std::string& mPath) {
      AnalysisMetric metric;
      r.string(m, mPath, "name", metric.name, Presence::Required);
      r.string(m, mPath, "query", metric.query, Presence::Required);
      if (const json* range = r.object(m, mPath, "thresholdRange", Presence::Required)) {
        const std::string rangePath = childPath(mPath, "thresholdRange");
        r.optionalDecimal(*range, rangePath, "min", metric.thresholdRange.min);
        r.optionalDecimal(*range, rangePath, "max", metric.thresholdRange.max);
      }
      a.metrics.push_back(std::move(metric));
    });
  }
  if (const json* autoscaling = r.object(spec, path, "autoscaling")) {
    r.boolean(*autoscaling, childPath(path, "autoscaling"), "mirrorStableHPA",
              out.autoscaling.mirrorStableHPA);
  }
  r.boolean(spec, path, "paused", out.paused);
  if (const json* header = r.object(spec, path, "versionHeader")) {
    const std::string hPath = childPath(path, "versionHeader");
    r.boolean(*header, hPath, "enabled", out.versionHeader.enabled);
    r.string(*header, hPath, "name", out.versionHeader.name);
    r.string(*header, hPath, "revisionName", out.versionHeader.revisionName);
  }
  if (const json* tenants = r.object(spec, path, "tenants")) {
    const std::string tPath = childPath(path, "tenants");
    TenantOverrides value;
    r.strings(*tenants, tPath, "canary", value.canary);
    r.strings(*tenants, tPath, "stable", value.stable);
    out.tenants = std::move(value);
  }
  r.string(spec, path, "regionHeader", out.regionHeader);
  r.objects(spec, path, "regions", [&](const json& g, const std::string& gPath) {
    Region region;
    r.string(g, gPath, "name", region.name, Presence::Required);
    r.strings(g, gPath, "values", region.values);
    r.string(g, gPath, "backend", region.backend);
    if (g.contains("canary")) {
      ServiceRef canary;
      readServiceRef(r, g, gPath, "canary", canary);
      region.canary = canary;
    }
    if (const json* steps = r.array(g, gPath, "steps")) {
      for (std::size_t i = 0; i < steps->size(); ++i) {
        std::int32_t step = 0;
        if (r.integerValue((*steps)[i], indexPath(childPath(gPath, "steps"), i), step)) {
          region.steps.push_back(step);
        }
      }
    }
    out.regions.push_back(std::move(region));
  });
  std::string rollback = "Region";
  if (r.stringEnum(spec, path, "regionRollback", rollback, {"Region", "All"})) {
    out.regionRollback = rollback == "All" ? RegionRollback::All : RegionRollback::Region;
  }
}

void readAnalysisStatus(Reader& r, const json& status, const std::string& path,
                        AnalysisStatus& out) {
  if (const json* analysis = r.object(status, path, "analysis")) {
    const std::string aPath = childPath(path, "analysis");
    readTimestamp(r, *analysis, aPath, "lastRunAt", out.lastRunAt);
    r.integer(*analysis, aPath, "failures", out.failures);
    r.objects(*analysis, aPath, "metrics", [&](const json& m, const std::string& mPath) {
      MetricStatus metric;
      r.string(m, mPath, "name", metric.name, Presence::Required);
      r.number(m, mPath, "value", metric.value);
      r.enumeration(m, mPath, "result", metric.result, &parseMetricResult, kResults);
      r.string(m, mPath, "message", metric.message);
      out.metrics.push_back(std::move(metric));
    });
  }
}

// The step progress a rollout and each of its regions record (same field names in both).
template <class Progress>
void readProgress(Reader& r, const json& obj, const std::string& path, Progress& out) {
  r.enumeration(obj, path, "phase", out.phase, &parseCanaryPhase, kPhases);
  r.integer(obj, path, "currentStep", out.currentStep);
  r.integer(obj, path, "canaryWeight", out.canaryWeight);
  readTimestamp(r, obj, path, "stepStartedAt", out.stepStartedAt);
  r.string(obj, path, "message", out.message);
  readAnalysisStatus(r, obj, path, out.analysis);
}

void readCanaryStatus(Reader& r, const json& status, CanaryRolloutStatus& out) {
  const std::string path = "status";
  r.integer(status, path, "observedGeneration", out.observedGeneration);
  readProgress(r, status, path, out);
  r.string(status, path, "canaryRevision", out.canaryRevision);
  if (const json* tenants = r.object(status, path, "tenants")) {
    TenantStatus value;
    r.integer(*tenants, childPath(path, "tenants"), "canary", value.canary);
    r.integer(*tenants, childPath(path, "tenants"), "stable", value.stable);
    out.tenants = value;
  }
  r.objects(status, path, "regions", [&](const json& g, const std::string& gPath) {
    RegionStatus region;
    r.string(g, gPath, "name", region.name, Presence::Required);
    readProgress(r, g, gPath, region);
    out.regions.push_back(std::move(region));
  });
  readConditions(r, status, path, out.conditions);
}

// ---- TrafficPolicy ----

void readTrafficSpec(Reader& r, const json& spec, TrafficPolicySpec& out) {
  const std::string path = "spec";
  readParentRefs(r, spec, path, out.parentRefs);
  r.strings(spec, path, "hostnames", out.hostnames);
  r.stringEnum(spec, path, "provider", out.provider, kProviders);
  r.enumeration(spec, path, "strategy", out.strategy, &parseLoadBalancingStrategy, kStrategies);
  r.strings(spec, path, "preferredRegions", out.preferredRegions);
  if (const json* check = r.object(spec, path, "healthCheck")) {
    const std::string hPath = childPath(path, "healthCheck");
    r.string(*check, hPath, "path", out.healthCheck.path);
    r.duration(*check, hPath, "interval", out.healthCheck.interval);
    r.integer(*check, hPath, "healthyThreshold", out.healthCheck.healthyThreshold);
    r.integer(*check, hPath, "unhealthyThreshold", out.healthCheck.unhealthyThreshold);
  }
  r.objects(
      spec, path, "backends",
      [&](const json& b, const std::string& bPath) {
        Backend backend;
        r.string(b, bPath, "name", backend.name, Presence::Required);
        readServiceRefDirect(r, b, bPath, backend.serviceRef);
        r.string(b, bPath, "region", backend.region);
        r.integer(b, bPath, "weight", backend.weight);
        if (const json* capacity = r.object(b, bPath, "capacity")) {
          r.optionalInteger(*capacity, childPath(bPath, "capacity"), "maxRequestsPerSecond",
                            backend.capacity.maxRequestsPerSecond);
        }
        if (const json* cost = r.object(b, bPath, "cost")) {
          const std::string costPath = childPath(bPath, "cost");
          r.optionalDecimal(*cost, costPath, "perMillionRequests", backend.cost.perMillionRequests);
          r.optionalDecimal(*cost, costPath, "egressPerGB", backend.cost.egressPerGB);
        }
        out.backends.push_back(std::move(backend));
      },
      Presence::Required);
  r.objects(spec, path, "tiers", [&](const json& t, const std::string& tPath) {
    TrafficTier tier;
    r.string(t, tPath, "name", tier.name, Presence::Required);
    if (const json* match = r.object(t, tPath, "match", Presence::Required)) {
      const std::string matchPath = childPath(tPath, "match");
      if (r.array(*match, matchPath, "headers", Presence::Required) != nullptr) {
        readRequestMatch(r, *match, matchPath, tier.match);
      }
    }
    r.integer(t, tPath, "priority", tier.priority);
    r.optionalInteger(t, tPath, "latencyTargetMilliseconds", tier.latencyTargetMilliseconds);
    if (const json* bandwidth = r.member(t, tPath, "bandwidth", Presence::Optional)) {
      const std::string bwPath = childPath(tPath, "bandwidth");
      if (bandwidth->is_number_integer()) {
        tier.bandwidth = Quantity{bandwidth->get<std::int64_t>() * 1000, bandwidth->dump()};
      } else if (!bandwidth->is_string()) {
        r.errors().add(bwPath, "must be \"unlimited\" or a quantity in bits/s such as \"100M\"");
      } else if (bandwidth->get<std::string>() != "unlimited") {
        auto q = parseQuantity(bandwidth->get<std::string>());
        if (q) {
          tier.bandwidth = *q;
        } else {
          r.errors().add(bwPath, q.error() + " (want \"unlimited\" or bits/s such as \"100M\")");
        }
      }
    }
    r.decimal(t, tPath, "burstAllowance", tier.burstAllowance);
    LoadBalancingStrategy strategy{};
    if (r.enumeration(t, tPath, "strategy", strategy, &parseLoadBalancingStrategy, kStrategies)) {
      tier.strategy = strategy;
    }
    r.strings(t, tPath, "preferredRegions", tier.preferredRegions);
    out.tiers.push_back(std::move(tier));
  });
  if (const json* failover = r.object(spec, path, "failover")) {
    const std::string fPath = childPath(path, "failover");
    FailoverSpec f;
    r.decimal(*failover, fPath, "errorRateThreshold", f.errorRateThreshold);
    r.integer(*failover, fPath, "latencyThresholdMilliseconds", f.latencyThresholdMilliseconds);
    if (const json* shift = r.object(*failover, fPath, "shift")) {
      const std::string sPath = childPath(fPath, "shift");
      r.integer(*shift, sPath, "steps", f.shift.steps);
      r.duration(*shift, sPath, "interval", f.shift.interval);
    }
    if (const json* recovery = r.object(*failover, fPath, "recovery")) {
      r.duration(*recovery, childPath(fPath, "recovery"), "healthyFor", f.recovery.healthyFor);
    }
    r.integer(*failover, fPath, "minHealthyBackends", f.minHealthyBackends);
    out.failover = std::move(f);
  }
  if (const json* budget = r.object(spec, path, "budget")) {
    const std::string bPath = childPath(path, "budget");
    BudgetSpec b;
    r.decimal(*budget, bPath, "maxCostPerHour", b.maxCostPerHour, Presence::Required);
    r.integer(*budget, bPath, "alertAtPercent", b.alertAtPercent);
    out.budget = std::move(b);
  }
  if (const json* metrics = r.object(spec, path, "metrics")) {
    const std::string mPath = childPath(path, "metrics");
    TrafficMetricsSpec m;
    if (r.object(*metrics, mPath, "prometheus", Presence::Required) != nullptr) {
      readPrometheus(r, *metrics, mPath, m.prometheus);
    }
    r.duration(*metrics, mPath, "interval", m.interval);
    if (const json* queries = r.object(*metrics, mPath, "queries")) {
      const std::string qPath = childPath(mPath, "queries");
      r.string(*queries, qPath, "errorRate", m.queries.errorRate);
      r.string(*queries, qPath, "latencyP99Milliseconds", m.queries.latencyP99Milliseconds);
      r.string(*queries, qPath, "requestsPerSecond", m.queries.requestsPerSecond);
      r.string(*queries, qPath, "up", m.queries.up);
    }
    out.metrics = std::move(m);
  }
}

void readTrafficStatus(Reader& r, const json& status, TrafficPolicyStatus& out) {
  const std::string path = "status";
  r.integer(status, path, "observedGeneration", out.observedGeneration);
  r.integer(status, path, "activeBackends", out.activeBackends);
  r.string(status, path, "message", out.message);
  r.objects(status, path, "backends", [&](const json& b, const std::string& bPath) {
    BackendStatus backend;
    r.string(b, bPath, "name", backend.name, Presence::Required);
    r.integer(b, bPath, "weight", backend.weight);
    r.boolean(b, bPath, "healthy", backend.healthy);
    r.number(b, bPath, "errorRate", backend.errorRate);
    r.number(b, bPath, "latencyP99Milliseconds", backend.latencyP99Milliseconds);
    r.optionalDecimal(b, bPath, "costPerHour", backend.costPerHour);
    r.string(b, bPath, "state", backend.state);
    r.integer(b, bPath, "step", backend.step);
    readTimestamp(r, b, bPath, "stepAt", backend.stepAt);
    readTimestamp(r, b, bPath, "healthySince", backend.healthySince);
    r.string(b, bPath, "reason", backend.reason);
    out.backends.push_back(std::move(backend));
  });
  if (const json* decision = r.object(status, path, "decision")) {
    const std::string dPath = childPath(path, "decision");
    DecisionStatus d;
    r.string(*decision, dPath, "strategy", d.strategy);
    readTimestamp(r, *decision, dPath, "decidedAt", d.decidedAt);
    r.integer(*decision, dPath, "durationMicroseconds", d.durationMicroseconds);
    out.decision = std::move(d);
  }
  if (const json* shift = r.object(status, path, "shift")) {
    const std::string sPath = childPath(path, "shift");
    ShiftStatus s;
    r.string(*shift, sPath, "reason", s.reason);
    r.string(*shift, sPath, "from", s.from);
    r.string(*shift, sPath, "to", s.to);
    readTimestamp(r, *shift, sPath, "startedAt", s.startedAt);
    r.integer(*shift, sPath, "step", s.step);
    out.shift = std::move(s);
  }
  r.optionalDecimal(status, path, "estimatedCostPerHour", out.estimatedCostPerHour);
  readConditions(r, status, path, out.conditions);
}

// ---- TierLimit ----

void readTierLimitSpec(Reader& r, const json& spec, TierLimitSpec& out) {
  const std::string path = "spec";
  r.objects(
      spec, path, "targetRefs",
      [&](const json& t, const std::string& tPath) {
        PolicyTargetRef ref;
        refuseNamespace(r, t, tPath, "target");
        r.string(t, tPath, "group", ref.group);
        r.string(t, tPath, "kind", ref.kind, Presence::Required);
        r.string(t, tPath, "name", ref.name, Presence::Required);
        out.targetRefs.push_back(std::move(ref));
      },
      Presence::Required);
  r.string(spec, path, "tierHeader", out.tierHeader);
  if (const json* identity = r.object(spec, path, "identity")) {
    IdentitySpec value;
    r.string(*identity, childPath(path, "identity"), "header", value.header, Presence::Required);
    out.identity = std::move(value);
  }
  r.string(spec, path, "defaultTier", out.defaultTier);
  r.string(spec, path, "quotaTimeZone", out.quotaTimeZone);
  r.objects(
      spec, path, "tiers",
      [&](const json& t, const std::string& tPath) {
        RateLimitTier tier;
        r.string(t, tPath, "name", tier.name, Presence::Required);
        r.integer(t, tPath, "requestsPerSecond", tier.requestsPerSecond, Presence::Required);
        if (!r.integer(t, tPath, "burst", tier.burst)) {
          tier.burst = tier.requestsPerSecond;
        }
        r.optionalInteger(t, tPath, "concurrent", tier.concurrent);
        r.optionalInteger(t, tPath, "dailyQuota", tier.dailyQuota);
        r.integer(t, tPath, "priority", tier.priority);
        out.tiers.push_back(std::move(tier));
      },
      Presence::Required);
  if (const json* queue = r.object(spec, path, "queue")) {
    const std::string qPath = childPath(path, "queue");
    QueueSpec q;
    r.integer(*queue, qPath, "maxSize", q.maxSize);
    r.duration(*queue, qPath, "timeout", q.timeout);
    out.queue = std::move(q);
  }
  if (const json* autoscaling = r.object(spec, path, "autoscaling")) {
    const std::string aPath = childPath(path, "autoscaling");
    TierAutoscaling a;
    if (const json* target = r.object(*autoscaling, aPath, "targetRef", Presence::Required)) {
      const std::string tPath = childPath(aPath, "targetRef");
      refuseNamespace(r, *target, tPath, "workload to scale");
      r.string(*target, tPath, "apiVersion", a.targetRef.apiVersion);
      r.string(*target, tPath, "kind", a.targetRef.kind);
      r.string(*target, tPath, "name", a.targetRef.name, Presence::Required);
    }
    r.integer(*autoscaling, aPath, "minReplicas", a.minReplicas);
    r.integer(*autoscaling, aPath, "maxReplicas", a.maxReplicas, Presence::Required);
    r.optionalInteger(*autoscaling, aPath, "cpuUtilization", a.cpuUtilization);
    r.optionalInteger(*autoscaling, aPath, "memoryUtilization", a.memoryUtilization);
    r.optionalInteger(*autoscaling, aPath, "requestsPerSecondPerReplica",
                      a.requestsPerSecondPerReplica);
    if (const json* behavior = r.object(*autoscaling, aPath, "behavior")) {
      const std::string bPath = childPath(aPath, "behavior");
      if (const json* up = r.object(*behavior, bPath, "scaleUp")) {
        r.duration(*up, childPath(bPath, "scaleUp"), "stabilizationWindow",
                   a.behavior.scaleUp.stabilizationWindow);
      }
      if (const json* down = r.object(*behavior, bPath, "scaleDown")) {
        r.duration(*down, childPath(bPath, "scaleDown"), "stabilizationWindow",
                   a.behavior.scaleDown.stabilizationWindow);
      }
    }
    r.objects(*autoscaling, aPath, "schedules", [&](const json& s, const std::string& sPath) {
      ScalingSchedule schedule;
      r.string(s, sPath, "name", schedule.name, Presence::Required);
      r.string(s, sPath, "cron", schedule.cron, Presence::Required);
      r.duration(s, sPath, "duration", schedule.duration, Presence::Required);
      r.integer(s, sPath, "minReplicas", schedule.minReplicas, Presence::Required);
      r.string(s, sPath, "timeZone", schedule.timeZone);
      a.schedules.push_back(std::move(schedule));
    });
    out.autoscaling = std::move(a);
  }
}

void readTierLimitStatus(Reader& r, const json& status, TierLimitStatus& out) {
  const std::string path = "status";
  r.integer(status, path, "observedGeneration", out.observedGeneration);
  if (const json* hpa = r.object(status, path, "hpa")) {
    const std::string hPath = childPath(path, "hpa");
    HpaStatus h;
    r.string(*hpa, hPath, "name", h.name);
    r.integer(*hpa, hPath, "minReplicas", h.minReplicas);
    r.string(*hpa, hPath, "activeSchedule", h.activeSchedule);
    readTimestamp(r, *hpa, hPath, "nextChange", h.nextChange);
    out.hpa = std::move(h);
  }
  r.string(status, path, "message", out.message);
  readConditions(r, status, path, out.conditions);
}

// ---- whole objects ----

void checkTypeMeta(Reader& r, const json& object, const char* kind) {
  std::string apiVersion;
  if (r.string(object, "", "apiVersion", apiVersion) && apiVersion != kApiVersion) {
    r.errors().add("apiVersion", "Unsupported value: \"" + apiVersion + "\": supported values: \"" +
                                     kApiVersion + "\"");
  }
  std::string actualKind;
  if (r.string(object, "", "kind", actualKind) && actualKind != kind) {
    r.errors().add("kind",
                   "Unsupported value: \"" + actualKind + "\": supported values: \"" + kind + "\"");
  }
}

// Semantic errors on a field that already failed to parse would only repeat the problem
// (an unparsable port also reads as port 0), so they are dropped.
void mergeValidation(ValidationErrors& errors, const ValidationErrors& semantic) {
  const std::size_t parseErrorCount = errors.errors.size();
  for (const auto& e : semantic.errors) {
    bool covered = false;
    for (std::size_t i = 0; i < parseErrorCount && !covered; ++i) {
      const std::string& parsePath = errors.errors[i].path;
      // A list-level rule (steps ascending) is noise when an element failed to parse; the
      // spec-wide "exactly one of" rule is not.
      covered =
          isPathWithin(e.path, parsePath) || (e.path != "spec" && isPathWithin(parsePath, e.path));
    }
    if (!covered) {
      errors.errors.push_back(e);
    }
  }
}

// The API server holds a Sluice object's name to a DNS subdomain and its namespace to a DNS
// label; objects fed by `kubectl sluice render -f` never met it. The name and namespace become
// haproxy.cfg names, weights-map keys and HTTPRoute names, where a space or a newline would
// start another directive or map entry.
void checkObjectName(Reader& r, const ObjectMeta& meta) {
  if (!meta.name.empty() && !isObjectName(meta.name)) {
    r.errors().add("metadata.name",
                   "invalid name: must be a lowercase RFC 1123 subdomain "
                   "(a-z, 0-9, '-' and '.', at most 253)");
  }
  if (!meta.namespace_.empty() && !isDns1123Label(meta.namespace_)) {
    r.errors().add("metadata.namespace",
                   "invalid namespace: must be a lowercase RFC 1123 label (a-z, 0-9, '-', at most "
                   "63)");
  }
}

template <class Object, class SpecReader, class StatusReader, class Validate>
Expected<Object, ValidationErrors> parseObject(const json& object, const char* kind,
                                               SpecReader readSpec, StatusReader readStatus,
                                               Validate validateSpec) {
  Reader r;
  Object out;
  if (!object.is_object()) {
    r.errors().add("", std::string(kind) + " must be a JSON object");
    return Unexpected(std::move(r.errors()));
  }
  checkTypeMeta(r, object, kind);
  if (const json* metadata = r.member(object, "", "metadata", Presence::Required)) {
    readObjectMeta(r, *metadata, out.metadata);
    checkObjectName(r, out.metadata);
  }
  if (const json* spec = r.object(object, "", "spec", Presence::Required)) {
    readSpec(r, *spec, out.spec);
    mergeValidation(r.errors(), validateSpec(out.spec));
  }
  if (const json* status = r.object(object, "", "status")) {
    readStatus(r, *status, out.status);
  }
  if (!r.errors().empty()) {
    return Unexpected(std::move(r.errors()));
  }
  return out;
}

template <class Status, class StatusReader>
Expected<Status, ValidationErrors> parseStatus(const json& status, StatusReader readStatus) {
  Reader r;
  Status out;
  if (!status.is_object()) {
    r.errors().add("status", "must be an object");
    return Unexpected(std::move(r.errors()));
  }
  readStatus(r, status, out);
  if (!r.errors().empty()) {
    return Unexpected(std::move(r.errors()));
  }
  return out;
}

}  // namespace

Expected<ObjectMeta, ValidationErrors> parseObjectMeta(const json& metadata) {
  Reader r;
  ObjectMeta out;
  readObjectMeta(r, metadata, out);
  if (!r.errors().empty()) {
    return Unexpected(std::move(r.errors()));
  }
  return out;
}

Expected<CanaryRollout, ValidationErrors> parseCanaryRollout(const json& object) {
  return parseObject<CanaryRollout>(object, kKindCanaryRollout, readCanarySpec, readCanaryStatus,
                                    validateCanaryRolloutSpec);
}

Expected<TrafficPolicy, ValidationErrors> parseTrafficPolicy(const json& object) {
  return parseObject<TrafficPolicy>(object, kKindTrafficPolicy, readTrafficSpec, readTrafficStatus,
                                    validateTrafficPolicySpec);
}

Expected<TierLimit, ValidationErrors> parseTierLimit(const json& object) {
  return parseObject<TierLimit>(object, kKindTierLimit, readTierLimitSpec, readTierLimitStatus,
                                validateTierLimitSpec);
}

Expected<CanaryRolloutStatus, ValidationErrors> parseCanaryRolloutStatus(const json& status) {
  return parseStatus<CanaryRolloutStatus>(status, readCanaryStatus);
}

Expected<TrafficPolicyStatus, ValidationErrors> parseTrafficPolicyStatus(const json& status) {
  return parseStatus<TrafficPolicyStatus>(status, readTrafficStatus);
}

Expected<TierLimitStatus, ValidationErrors> parseTierLimitStatus(const json& status) {
  return parseStatus<TierLimitStatus>(status, readTierLimitStatus);
}

}  // namespace sluice::api
