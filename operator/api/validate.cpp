#include "operator/api/validate.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "operator/api/units.h"

namespace sluice::api {
namespace {

std::string str(std::int64_t v) {
  return std::to_string(v);
}

// A value quoted in an error message, its control characters shown as \xNN: the message goes
// to status, Events and logs, which must not carry a raw newline from a CR.
std::string printableText(std::string_view value) {
  std::string out;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

void checkRange(ValidationErrors& errors, const std::string& path, std::int64_t value,
                std::int64_t min, std::int64_t max) {
  if (value < min || value > max) {
    errors.add(path, "must be between " + str(min) + " and " + str(max) + ", got " + str(value));
  }
}

void checkMin(ValidationErrors& errors, const std::string& path, std::int64_t value,
              std::int64_t min) {
  if (value < min) {
    errors.add(path, "must be greater than or equal to " + str(min) + ", got " + str(value));
  }
}

void checkMaxItems(ValidationErrors& errors, const std::string& path, std::size_t size,
                   std::size_t max) {
  if (size > max) {
    errors.add(path, "Too many: " + std::to_string(size) + ": must have at most " +
                         std::to_string(max) + " items");
  }
}

void checkPositiveDuration(ValidationErrors& errors, const std::string& path, Duration d) {
  if (d.count() <= 0) {
    errors.add(path, "must be a positive duration, got " + formatDuration(d));
  }
}

// The header-name grammar of the CRDs ('^[A-Za-z0-9][-A-Za-z0-9_.]*$', at most 256): a subset
// of the RFC 7230 token that the Gateway API accepts too and HAProxy carries unquoted, so no
// '#', quote, '$' or '%' reaches haproxy.cfg. Response header names (`dots` false) take no '.'.
void checkHeaderName(ValidationErrors& errors, const std::string& path, const std::string& name,
                     bool dots = true) {
  const auto ok = [dots](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || (dots && c == '.');
  };
  if (name.empty() || name.size() > 256 || name.front() == '-' || name.front() == '_' ||
      name.front() == '.' || !std::all_of(name.begin(), name.end(), ok) || !isHttpToken(name)) {
    errors.add(path, "invalid HTTP header name \"" + printableText(name) +
                         "\": must start with a letter or digit and have only letters, digits, "
                         "'-', '_'" +
                         (dots ? std::string(" and '.'") : std::string()) + " (at most 256)");
  }
}

// A match value (spec.match[].headers[].value, spec.tiers[].match.headers[].value): 1..4096
// characters without control characters, as the CRDs say: the Gateway API refuses an empty
// one, and no data plane can match a newline.
void checkMatchValue(ValidationErrors& errors, const std::string& path, const std::string& value) {
  if (value.empty() || value.size() > 4096) {
    errors.add(path, "must be 1 to 4096 characters, got " +
                         std::to_string(static_cast<std::int64_t>(value.size())));
    return;
  }
  if (std::any_of(value.begin(), value.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    errors.add(path, "must not contain control characters (newline, tab, ...)");
  }
}

void checkDnsLabel(ValidationErrors& errors, const std::string& path, const std::string& name) {
  if (!isDns1123Label(name)) {
    errors.add(path, "invalid name \"" + printableText(name) +
                         "\": must be a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63)");
  }
}

void checkDnsSubdomain(ValidationErrors& errors, const std::string& path, const std::string& name) {
  if (!isDns1123Subdomain(name)) {
    errors.add(path, "invalid name \"" + printableText(name) +
                         "\": must be a lowercase RFC 1123 subdomain");
  }
}

void checkUnique(ValidationErrors& errors, std::set<std::string>& seen, const std::string& path,
                 const std::string& name) {
  if (!name.empty() && !seen.insert(name).second) {
    errors.add(path, "Duplicate value: \"" + printableText(name) + "\"");
  }
}

void checkServiceRef(ValidationErrors& errors, const std::string& path, const ServiceRef& ref) {
  checkDnsLabel(errors, childPath(path, "name"), ref.name);
  checkRange(errors, childPath(path, "port"), ref.port, 1, 65535);
}

void checkRequestMatch(ValidationErrors& errors, const std::string& path,
                       const RequestMatch& match) {
  const std::string headersPath = childPath(path, "headers");
  checkMaxItems(errors, headersPath, match.headers.size(), 16);
  for (std::size_t i = 0; i < match.headers.size(); ++i) {
    const std::string hPath = indexPath(headersPath, i);
    checkHeaderName(errors, childPath(hPath, "name"), match.headers[i].name);
    checkMatchValue(errors, childPath(hPath, "value"), match.headers[i].value);
    if (match.headers[i].type != "Exact" && match.headers[i].type != "RegularExpression") {
      errors.add(childPath(hPath, "type"), "Unsupported value: \"" +
                                               printableText(match.headers[i].type) +
                                               "\": supported values: \"Exact\", "
                                               "\"RegularExpression\"");
    }
  }
}

// Gateway API hostname: a DNS subdomain, optionally with a single leading "*." wildcard label.
void checkHostnames(ValidationErrors& errors, const std::string& path,
                    const std::vector<std::string>& hostnames) {
  checkMaxItems(errors, path, hostnames.size(), 16);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < hostnames.size(); ++i) {
    const std::string hPath = indexPath(path, i);
    std::string_view host = hostnames[i];
    if (host.starts_with("*.")) {
      host.remove_prefix(2);
    }
    if (!isDns1123Subdomain(host)) {
      errors.add(hPath, "invalid hostname \"" + printableText(hostnames[i]) +
                            "\": must be a lowercase DNS name, optionally prefixed by \"*.\"");
    }
    checkUnique(errors, seen, hPath, hostnames[i]);
  }
}

void checkParentRefs(ValidationErrors& errors, const std::string& path,
                     const std::vector<ParentRef>& refs, const std::string& provider) {
  if (refs.empty() && provider == "gatewayAPI") {
    errors.add(path, "Required value: an HTTPRoute needs at least one parent Gateway");
  }
  checkMaxItems(errors, path, refs.size(), 32);
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const std::string pPath = indexPath(path, i);
    checkDnsSubdomain(errors, childPath(pPath, "name"), refs[i].name);
    if (!refs[i].namespace_.empty()) {
      checkDnsLabel(errors, childPath(pPath, "namespace"), refs[i].namespace_);
    }
    if (!refs[i].sectionName.empty()) {
      checkDnsSubdomain(errors, childPath(pPath, "sectionName"), refs[i].sectionName);
    }
  }
}

void checkPrometheusAddress(ValidationErrors& errors, const std::string& path,
                            const std::string& address) {
  const bool http = address.starts_with("http://") && address.size() > 7;
  const bool https = address.starts_with("https://") && address.size() > 8;
  if (!http && !https) {
    errors.add(path, "invalid address \"" + printableText(address) +
                         "\": must be an http:// or https:// URL");
  }
}

void checkDecimalMin(ValidationErrors& errors, const std::string& path, const Decimal& value,
                     std::int64_t minMicros, bool inclusive) {
  if (inclusive ? value.micros < minMicros : value.micros <= minMicros) {
    errors.add(path, std::string(inclusive ? "must be greater than or equal to "
                                           : "must be greater than ") +
                         formatDecimal(minMicros) + ", got " + formatDecimal(value.micros));
  }
}

void checkProvider(ValidationErrors& errors, const std::string& path, const std::string& provider) {
  if (provider != "gatewayAPI" && provider != "haproxy") {
    errors.add(path, "Unsupported value: \"" + printableText(provider) +
                         "\": supported values: \"gatewayAPI\", \"haproxy\"");
  }
}

// IANA zone names ("Europe/Stockholm", "UTC", "America/Argentina/Buenos_Aires"). Checked for
// shape only: whether the zone exists depends on the tz database where the schedule runs.
bool isTimeZoneName(std::string_view name) {
  const bool startsWithLetter = !name.empty() && ((name.front() >= 'a' && name.front() <= 'z') ||
                                                  (name.front() >= 'A' && name.front() <= 'Z'));
  if (!startsWithLetter || name.back() == '/' || name.find("//") != std::string_view::npos) {
    return false;
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string toLower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A header value a tenant or region list matches exactly: 1..256 characters, none a control
// character (no data plane can carry a newline in a match).
void checkHeaderValue(ValidationErrors& errors, const std::string& path, const std::string& value) {
  if (value.empty() || value.size() > 256) {
    errors.add(path,
               "must be 1 to 256 characters, got " + str(static_cast<std::int64_t>(value.size())));
    return;
  }
  for (const unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      errors.add(path, "must not contain control characters (newline, tab, ...)");
      return;
    }
  }
}

void checkSteps(ValidationErrors& errors, const std::string& path,
                const std::vector<std::int32_t>& steps) {
  if (steps.empty()) {
    errors.add(path, "must have at least 1 item");
  }
  checkMaxItems(errors, path, steps.size(), 20);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string sPath = indexPath(path, i);
    checkRange(errors, sPath, steps[i], 1, 100);
    if (i > 0 && steps[i] <= steps[i - 1]) {
      errors.add(sPath, "must be greater than " + str(steps[i - 1]));
    }
  }
  if (!steps.empty() && steps.back() != 100) {
    errors.add(indexPath(path, steps.size() - 1),
               "the last step must be 100, got " + str(steps.back()));
  }
}

void checkCanaryRouting(ValidationErrors& errors, const CanaryRolloutSpec& spec) {
  const VersionHeader& v = spec.versionHeader;
  if (v.enabled) {
    checkHeaderName(errors, "spec.versionHeader.name", v.name, false);
    if (!v.revisionName.empty()) {
      checkHeaderName(errors, "spec.versionHeader.revisionName", v.revisionName, false);
      if (toLower(v.revisionName) == toLower(v.name)) {
        errors.add("spec.versionHeader.revisionName", "must differ from spec.versionHeader.name");
      }
    }
  }
  if (spec.tenants) {
    if (!spec.stickiness) {
      errors.add("spec.tenants",
                 "requires spec.stickiness: tenants are matched on the stickiness header");
    }
    std::set<std::string> seen;
    for (const auto* list : {&spec.tenants->canary, &spec.tenants->stable}) {
      const std::string lPath =
          std::string("spec.tenants.") + (list == &spec.tenants->canary ? "canary" : "stable");
      checkMaxItems(errors, lPath, list->size(), 64);
      for (std::size_t i = 0; i < list->size(); ++i) {
        checkHeaderValue(errors, indexPath(lPath, i), (*list)[i]);
        if (!(*list)[i].empty() && !seen.insert((*list)[i]).second) {
          errors.add(indexPath(lPath, i), "Duplicate value: \"" + (*list)[i] +
                                              "\": a tenant is in at most one list, once");
        }
      }
    }
  }
  if (spec.regions.empty()) {
    if (!spec.regionHeader.empty()) {
      errors.add("spec.regionHeader", "needs spec.regions");
    }
    if (spec.trafficPolicyRef && spec.trafficPolicyRef->backend.empty()) {
      errors.add("spec.trafficPolicyRef.backend", "Required value (or set spec.regions)");
    }
    return;
  }
  checkMaxItems(errors, "spec.regions", spec.regions.size(), 8);
  // One HTTPRoute rule per match entry and per region, plus two tenant lists and the default:
  // Gateway API allows 16.
  if (spec.route && spec.route->provider == "gatewayAPI" &&
      spec.match.size() + spec.regions.size() > 13) {
    errors.add("spec",
               "with provider gatewayAPI, match entries plus regions must be at most 13 "
               "(an HTTPRoute has at most 16 rules), got " +
                   str(static_cast<std::int64_t>(spec.match.size() + spec.regions.size())));
  }
  const bool byPolicy = spec.trafficPolicyRef.has_value();
  if (byPolicy) {
    if (!spec.regionHeader.empty()) {
      errors.add("spec.regionHeader",
                 "must be empty with spec.trafficPolicyRef: each region is one of the policy's "
                 "backends");
    }
    if (!spec.trafficPolicyRef->backend.empty()) {
      errors.add("spec.trafficPolicyRef.backend",
                 "must be empty with spec.regions: each region names its backend");
    }
  } else {
    checkHeaderName(errors, "spec.regionHeader", spec.regionHeader);
  }
  std::set<std::string> names;
  std::set<std::string> values;
  std::set<std::string> backends;
  for (std::size_t i = 0; i < spec.regions.size(); ++i) {
    const Region& g = spec.regions[i];
    const std::string gPath = indexPath("spec.regions", i);
    checkDnsLabel(errors, childPath(gPath, "name"), g.name);
    checkUnique(errors, names, childPath(gPath, "name"), g.name);
    if (!g.steps.empty()) {
      checkSteps(errors, childPath(gPath, "steps"), g.steps);
    }
    if (byPolicy) {
      if (!g.values.empty()) {
        errors.add(childPath(gPath, "values"),
                   "only with spec.route (the region of a trafficPolicyRef is its backend)");
      }
      const std::string& backend = g.policyBackend();
      checkDnsLabel(errors, childPath(gPath, "backend"), backend);
      checkUnique(errors, backends, childPath(gPath, "backend"), backend);
      if (g.canary) {
        checkServiceRef(errors, childPath(gPath, "canary.serviceRef"), *g.canary);
      }
      continue;
    }
    if (!g.backend.empty()) {
      errors.add(childPath(gPath, "backend"), "only with spec.trafficPolicyRef");
    }
    if (g.canary) {
      errors.add(childPath(gPath, "canary"), "only with spec.trafficPolicyRef");
    }
    checkMaxItems(errors, childPath(gPath, "values"), g.values.size(), 16);
    const std::vector<std::string> own = g.headerValues();
    for (std::size_t k = 0; k < own.size(); ++k) {
      const std::string vPath =
          g.values.empty() ? childPath(gPath, "name") : indexPath(childPath(gPath, "values"), k);
      checkHeaderValue(errors, vPath, own[k]);
      if (!own[k].empty() && !values.insert(own[k]).second) {
        errors.add(vPath, "Duplicate value: \"" + printableText(own[k]) +
                              "\": a header value names one region");
      }
    }
  }
}

ValidationErrors validateCanaryRolloutSpec(const CanaryRolloutSpec& spec) {
  ValidationErrors errors;
  const std::string path = "spec";
  checkServiceRef(errors, "spec.stable.serviceRef", spec.stable);
  checkServiceRef(errors, "spec.canary.serviceRef", spec.canary);
  if (!spec.stable.name.empty() && spec.stable.name == spec.canary.name &&
      spec.stable.port == spec.canary.port) {
    errors.add("spec.canary.serviceRef", "must differ from spec.stable.serviceRef");
  }
  if (spec.trafficPolicyRef.has_value() == spec.route.has_value()) {
    errors.add(path, spec.route ? "exactly one of trafficPolicyRef and route may be set, not both"
                                : "exactly one of trafficPolicyRef and route is required");
  }
  if (spec.trafficPolicyRef) {
    checkDnsSubdomain(errors, "spec.trafficPolicyRef.name", spec.trafficPolicyRef->name);
    if (!spec.trafficPolicyRef->backend.empty()) {
      checkDnsLabel(errors, "spec.trafficPolicyRef.backend", spec.trafficPolicyRef->backend);
    }
  }
  if (spec.route) {
    checkProvider(errors, "spec.route.provider", spec.route->provider);
    checkParentRefs(errors, "spec.route.parentRefs", spec.route->parentRefs, spec.route->provider);
    checkHostnames(errors, "spec.route.hostnames", spec.route->hostnames);
  }
  checkSteps(errors, "spec.steps", spec.steps);
  checkPositiveDuration(errors, "spec.stepInterval", spec.stepInterval);
  if (spec.stickiness) {
    checkHeaderName(errors, "spec.stickiness.header", spec.stickiness->header);
  }
  checkMaxItems(errors, "spec.match", spec.match.size(), 8);
  for (std::size_t i = 0; i < spec.match.size(); ++i) {
    checkRequestMatch(errors, indexPath("spec.match", i), spec.match[i]);
  }
  checkCanaryRouting(errors, spec);
  const CanaryAnalysis& a = spec.analysis;
  checkPositiveDuration(errors, "spec.analysis.interval", a.interval);
  checkRange(errors, "spec.analysis.failureLimit", a.failureLimit, 0, 100);
  checkMin(errors, "spec.analysis.minRequests", a.minRequests, 0);
  // The CRD lets metrics go without a Prometheus; they could never be evaluated, and a canary
  // that cannot be analysed must not look valid.
  if (a.prometheus.address.empty() && (!a.metrics.empty() || !a.requestCountQuery.empty())) {
    errors.add("spec.analysis.prometheus.address",
               "Required value: metrics and requestCountQuery are queried from this Prometheus");
  } else if (!a.prometheus.address.empty()) {
    checkPrometheusAddress(errors, "spec.analysis.prometheus.address", a.prometheus.address);
  }
  checkMaxItems(errors, "spec.analysis.metrics", a.metrics.size(), 16);
  std::set<std::string> metricNames;
  for (std::size_t i = 0; i < a.metrics.size(); ++i) {
    const std::string mPath = indexPath("spec.analysis.metrics", i);
    const AnalysisMetric& m = a.metrics[i];
    checkDnsLabel(errors, childPath(mPath, "name"), m.name);
    checkUnique(errors, metricNames, childPath(mPath, "name"), m.name);
    if (m.name == "request-count") {
      // The engine reports the canary's request count in status.analysis.metrics under this
      // name (engine::kRequestCountMetric); a user metric with it would be indistinguishable.
      errors.add(childPath(mPath, "name"),
                 "Invalid value: \"request-count\": reserved for the canary's request count");
    }
    if (m.query.empty()) {
      errors.add(childPath(mPath, "query"), "Required value");
    }
    const std::string rPath = childPath(mPath, "thresholdRange");
    if (!m.thresholdRange.min && !m.thresholdRange.max) {
      errors.add(rPath, "at least one of min and max is required");
    } else if (m.thresholdRange.min && m.thresholdRange.max &&
               *m.thresholdRange.min > *m.thresholdRange.max) {
      errors.add(childPath(rPath, "min"), "must be less than or equal to max (" +
                                              formatDecimal(m.thresholdRange.max->micros) + ")");
    }
  }
  return errors;
}

ValidationErrors validateTrafficPolicySpec(const TrafficPolicySpec& spec) {
  ValidationErrors errors;
  checkProvider(errors, "spec.provider", spec.provider);
  checkParentRefs(errors, "spec.parentRefs", spec.parentRefs, spec.provider);
  checkHostnames(errors, "spec.hostnames", spec.hostnames);
  if (spec.backends.empty()) {
    errors.add("spec.backends", "must have at least 1 item");
  }
  checkMaxItems(errors, "spec.backends", spec.backends.size(), 1000);
  std::set<std::string> backendNames;
  std::int64_t totalWeight = 0;
  for (std::size_t i = 0; i < spec.backends.size(); ++i) {
    const std::string bPath = indexPath("spec.backends", i);
    const Backend& b = spec.backends[i];
    checkDnsLabel(errors, childPath(bPath, "name"), b.name);
    checkUnique(errors, backendNames, childPath(bPath, "name"), b.name);
    checkServiceRef(errors, childPath(bPath, "serviceRef"), b.serviceRef);
    checkRange(errors, childPath(bPath, "weight"), b.weight, 0, 100);
    totalWeight += b.weight;
    if (b.capacity.maxRequestsPerSecond) {
      checkMin(errors, childPath(bPath, "capacity.maxRequestsPerSecond"),
               *b.capacity.maxRequestsPerSecond, 1);
    }
    if (b.cost.perMillionRequests) {
      checkDecimalMin(errors, childPath(bPath, "cost.perMillionRequests"),
                      *b.cost.perMillionRequests, 0, true);
    }
    if (b.cost.egressPerGB) {
      checkDecimalMin(errors, childPath(bPath, "cost.egressPerGB"), *b.cost.egressPerGB, 0, true);
    }
  }
  if (!spec.backends.empty() && totalWeight == 0) {
    errors.add("spec.backends", "at least one backend must have a weight above 0");
  }
  checkMaxItems(errors, "spec.tiers", spec.tiers.size(), 16);
  std::set<std::string> tierNames;
  for (std::size_t i = 0; i < spec.tiers.size(); ++i) {
    const std::string tPath = indexPath("spec.tiers", i);
    const TrafficTier& t = spec.tiers[i];
    if (t.match.headers.empty()) {
      errors.add(childPath(tPath, "match.headers"), "must have at least 1 item");
    }
    checkDnsLabel(errors, childPath(tPath, "name"), t.name);
    checkUnique(errors, tierNames, childPath(tPath, "name"), t.name);
    checkRequestMatch(errors, childPath(tPath, "match"), t.match);
    checkRange(errors, childPath(tPath, "priority"), t.priority, 1, 100);
    if (t.latencyTargetMilliseconds) {
      checkMin(errors, childPath(tPath, "latencyTargetMilliseconds"), *t.latencyTargetMilliseconds,
               1);
    }
    if (t.bandwidth && t.bandwidth->milli < 1000) {
      errors.add(childPath(tPath, "bandwidth"),
                 "must be \"unlimited\" or at least 1 bit/s, got \"" +
                     printableText(t.bandwidth->text) + "\"");
    }
    // Below 1.0 a "burst" would cap the tier under its steady rate.
    checkDecimalMin(errors, childPath(tPath, "burstAllowance"), t.burstAllowance, 1'000'000, true);
  }
  if (spec.failover) {
    const FailoverSpec& f = *spec.failover;
    const std::string fPath = "spec.failover";
    const std::string ePath = childPath(fPath, "errorRateThreshold");
    if (f.errorRateThreshold.micros <= 0 || f.errorRateThreshold.micros > 1'000'000) {
      errors.add(ePath, "must be a fraction greater than 0 and at most 1, got " +
                            formatDecimal(f.errorRateThreshold.micros));
    }
    checkMin(errors, childPath(fPath, "latencyThresholdMilliseconds"),
             f.latencyThresholdMilliseconds, 1);
    checkRange(errors, childPath(fPath, "shift.steps"), f.shift.steps, 1, 100);
    checkPositiveDuration(errors, childPath(fPath, "shift.interval"), f.shift.interval);
    checkPositiveDuration(errors, childPath(fPath, "recovery.healthyFor"), f.recovery.healthyFor);
    checkMin(errors, childPath(fPath, "minHealthyBackends"), f.minHealthyBackends, 0);
    if (!spec.backends.empty() &&
        f.minHealthyBackends > static_cast<std::int64_t>(spec.backends.size())) {
      errors.add(childPath(fPath, "minHealthyBackends"),
                 "must not exceed the number of backends (" + str(spec.backends.size()) + ")");
    }
  }
  if (spec.budget) {
    checkDecimalMin(errors, "spec.budget.maxCostPerHour", spec.budget->maxCostPerHour, 0, false);
    checkRange(errors, "spec.budget.alertAtPercent", spec.budget->alertAtPercent, 1, 100);
  }
  if (spec.metrics) {
    checkPrometheusAddress(errors, "spec.metrics.prometheus.address",
                           spec.metrics->prometheus.address);
    checkPositiveDuration(errors, "spec.metrics.interval", spec.metrics->interval);
  }
  // The CRD's pattern: an RFC 3986 path (pchar and '/'), at most 1024. No backslash: HAProxy
  // reads "\r\n" in a config line as CR LF, which would add lines to its health-check request.
  const auto& check = spec.healthCheck;
  if (check.path.empty() || check.path.front() != '/' || check.path.size() > 1024 ||
      !std::all_of(check.path.begin(), check.path.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("._~!$&()*+,;=:@/%-").find(c) != std::string_view::npos;
      })) {
    errors.add("spec.healthCheck.path",
               "must be an absolute path of at most 1024 characters from "
               "A-Za-z0-9._~!$&()*+,;=:@/%- (no spaces, quotes, '#', '?', backslashes or "
               "control characters), got \"" +
                   printableText(check.path) + "\"");
  }
  checkPositiveDuration(errors, "spec.healthCheck.interval", check.interval);
  checkRange(errors, "spec.healthCheck.healthyThreshold", check.healthyThreshold, 1, 10);
  checkRange(errors, "spec.healthCheck.unhealthyThreshold", check.unhealthyThreshold, 1, 10);
  auto checkRegions = [&](const std::string& path, const std::vector<std::string>& regions) {
    checkMaxItems(errors, path, regions.size(), 32);
    for (std::size_t i = 0; i < regions.size(); ++i) {
      if (regions[i].empty()) {
        errors.add(indexPath(path, i), "must not be empty");
      }
    }
  };
  checkRegions("spec.preferredRegions", spec.preferredRegions);
  for (std::size_t i = 0; i < spec.tiers.size(); ++i) {
    checkRegions(childPath(indexPath("spec.tiers", i), "preferredRegions"),
                 spec.tiers[i].preferredRegions);
  }
  return errors;
}

ValidationErrors validateTierLimitSpec(const TierLimitSpec& spec) {
  ValidationErrors errors;
  if (spec.targetRefs.empty()) {
    errors.add("spec.targetRefs", "must have at least 1 item");
  }
  checkMaxItems(errors, "spec.targetRefs", spec.targetRefs.size(), 16);
  for (std::size_t i = 0; i < spec.targetRefs.size(); ++i) {
    const std::string tPath = indexPath("spec.targetRefs", i);
    // Only TrafficPolicy can carry tier limits today; the CRD enums say the same.
    if (spec.targetRefs[i].group != kGroup) {
      errors.add(childPath(tPath, "group"), "Unsupported value: \"" +
                                                printableText(spec.targetRefs[i].group) +
                                                "\": supported values: \"sluice.dev\"");
    }
    if (spec.targetRefs[i].kind.empty()) {
      errors.add(childPath(tPath, "kind"), "Required value");
    } else if (spec.targetRefs[i].kind != "TrafficPolicy") {
      errors.add(childPath(tPath, "kind"), "Unsupported value: \"" +
                                               printableText(spec.targetRefs[i].kind) +
                                               "\": supported values: \"TrafficPolicy\"");
    }
    checkDnsSubdomain(errors, childPath(tPath, "name"), spec.targetRefs[i].name);
  }
  checkHeaderName(errors, "spec.tierHeader", spec.tierHeader);
  if (spec.identity) {
    checkHeaderName(errors, "spec.identity.header", spec.identity->header);
  }
  if (spec.tiers.empty()) {
    errors.add("spec.tiers", "must have at least 1 item");
  }
  checkMaxItems(errors, "spec.tiers", spec.tiers.size(), 16);
  std::set<std::string> tierNames;
  for (std::size_t i = 0; i < spec.tiers.size(); ++i) {
    const std::string tPath = indexPath("spec.tiers", i);
    const RateLimitTier& t = spec.tiers[i];
    checkDnsLabel(errors, childPath(tPath, "name"), t.name);
    checkUnique(errors, tierNames, childPath(tPath, "name"), t.name);
    checkMin(errors, childPath(tPath, "requestsPerSecond"), t.requestsPerSecond, 1);
    if (t.requestsPerSecond > 1'000'000'000) {
      errors.add(childPath(tPath, "requestsPerSecond"),
                 "must be less than or equal to 1000000000, got " + str(t.requestsPerSecond));
    }
    if (t.burst < t.requestsPerSecond) {
      errors.add(childPath(tPath, "burst"), "must be greater than or equal to requestsPerSecond (" +
                                                str(t.requestsPerSecond) + "), got " +
                                                str(t.burst));
    }
    if (t.requestsPerSecond >= 1 && t.burst > t.requestsPerSecond * 1000) {
      errors.add(childPath(tPath, "burst"), "must be at most 1000 × requestsPerSecond (" +
                                                str(t.requestsPerSecond * 1000) + "), got " +
                                                str(t.burst));
    }
    if (t.concurrent) {
      checkMin(errors, childPath(tPath, "concurrent"), *t.concurrent, 1);
    }
    if (t.dailyQuota) {
      checkMin(errors, childPath(tPath, "dailyQuota"), *t.dailyQuota, 1);
    }
    checkRange(errors, childPath(tPath, "priority"), t.priority, 1, 100);
  }
  if (!isTimeZoneName(spec.quotaTimeZone)) {
    errors.add("spec.quotaTimeZone", "invalid time zone \"" + printableText(spec.quotaTimeZone) +
                                         "\": must be an IANA name such as "
                                         "\"Europe/Stockholm\" or \"UTC\"");
  }
  if (!spec.defaultTier.empty() && !spec.tiers.empty() && !tierNames.contains(spec.defaultTier)) {
    errors.add("spec.defaultTier",
               "must name one of spec.tiers, got \"" + printableText(spec.defaultTier) + "\"");
  }
  if (spec.queue) {
    checkRange(errors, "spec.queue.maxSize", spec.queue->maxSize, 1, 100'000);
    checkPositiveDuration(errors, "spec.queue.timeout", spec.queue->timeout);
  }
  if (spec.autoscaling) {
    const TierAutoscaling& a = *spec.autoscaling;
    const std::string aPath = "spec.autoscaling";
    if (a.targetRef.apiVersion.empty()) {
      errors.add(childPath(aPath, "targetRef.apiVersion"), "Required value");
    }
    if (a.targetRef.kind.empty()) {
      errors.add(childPath(aPath, "targetRef.kind"), "Required value");
    }
    checkDnsSubdomain(errors, childPath(aPath, "targetRef.name"), a.targetRef.name);
    checkMin(errors, childPath(aPath, "minReplicas"), a.minReplicas, 1);
    checkMin(errors, childPath(aPath, "maxReplicas"), a.maxReplicas, 1);
    if (a.minReplicas > a.maxReplicas) {
      errors.add(childPath(aPath, "minReplicas"), "must be less than or equal to maxReplicas (" +
                                                      str(a.maxReplicas) + "), got " +
                                                      str(a.minReplicas));
    }
    if (!a.cpuUtilization && !a.memoryUtilization && !a.requestsPerSecondPerReplica) {
      errors.add(aPath,
                 "set at least one of cpuUtilization, memoryUtilization and "
                 "requestsPerSecondPerReplica");
    }
    if (a.cpuUtilization) {
      checkRange(errors, childPath(aPath, "cpuUtilization"), *a.cpuUtilization, 1, 100);
    }
    if (a.memoryUtilization) {
      checkRange(errors, childPath(aPath, "memoryUtilization"), *a.memoryUtilization, 1, 100);
    }
    if (a.requestsPerSecondPerReplica) {
      checkMin(errors, childPath(aPath, "requestsPerSecondPerReplica"),
               *a.requestsPerSecondPerReplica, 1);
    }
    // autoscaling/v2 caps stabilization windows at one hour.
    const auto checkWindow = [&](const std::string& wPath, Duration d) {
      if (d.count() < 0 || d > std::chrono::hours{1}) {
        errors.add(wPath, "must be between 0s and 1h, got " + formatDuration(d));
      }
    };
    checkWindow(childPath(aPath, "behavior.scaleUp.stabilizationWindow"),
                a.behavior.scaleUp.stabilizationWindow);
    checkWindow(childPath(aPath, "behavior.scaleDown.stabilizationWindow"),
                a.behavior.scaleDown.stabilizationWindow);
    checkMaxItems(errors, childPath(aPath, "schedules"), a.schedules.size(), 16);
    std::set<std::string> scheduleNames;
    for (std::size_t i = 0; i < a.schedules.size(); ++i) {
      const std::string sPath = indexPath(childPath(aPath, "schedules"), i);
      const ScalingSchedule& s = a.schedules[i];
      checkDnsLabel(errors, childPath(sPath, "name"), s.name);
      checkUnique(errors, scheduleNames, childPath(sPath, "name"), s.name);
      if (std::string cron = cronError(s.cron); !cron.empty()) {
        errors.add(childPath(sPath, "cron"), cron);
      }
      checkPositiveDuration(errors, childPath(sPath, "duration"), s.duration);
      if (s.minReplicas < a.minReplicas || s.minReplicas > a.maxReplicas) {
        errors.add(childPath(sPath, "minReplicas"),
                   "must be between spec.autoscaling.minReplicas (" + str(a.minReplicas) +
                       ") and spec.autoscaling.maxReplicas (" + str(a.maxReplicas) + "), got " +
                       str(s.minReplicas));
      }
      if (!isTimeZoneName(s.timeZone)) {
        errors.add(childPath(sPath, "timeZone"), "invalid time zone \"" +
                                                     printableText(s.timeZone) +
                                                     "\": must be an IANA name such as "
                                                     "\"Europe/Stockholm\" or \"UTC\"");
      }
    }
  }
  return errors;
}

}  // namespace sluice::api
