#include "operator/render/haproxy/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <sstream>

#include "operator/render/resilience.h"

namespace sluice::render::haproxy {
namespace {

using Error = Unexpected<std::string>;

bool allOf(std::string_view s, bool (*ok)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), ok);
}

// The CRDs' header-name grammar: nothing HAProxy's parser reads (no quote, '#', '$', '%',
// backslash, ',' or parenthesis), so names go unquoted into req.fhdr() and set-header.
bool isHeaderNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}
bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}
// A Gateway API hostname: a DNS name, or "*." and a DNS name (a suffix match: one or more
// labels in front of it, never the name itself).
bool isWildcard(const std::string& host) {
  return host.size() > 2 && host.starts_with("*.");
}
bool isRoutableHost(const std::string& host) {
  return !host.empty() && allOf(isWildcard(host) ? host.substr(2) : host, isHostChar);
}
bool isPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '/' || c == '@' || c == ':';
}

// Single quotes are HAProxy's strong quoting: nothing inside is interpreted (no escapes, no
// environment variables), so any value without a control character is carried as is. A single
// quote closes the quoting, is written escaped and reopens it ('o'\''brien'), as in a shell.
Expected<std::string, std::string> quoted(std::string_view value, const std::string& what) {
  std::string out = "'";
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error(what + " \"" + std::string(value) + "\" contains a control character");
    }
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// A value for an argument HAProxy reads as a log-format string (http-response set-header):
// '%' starts a sample expression ("%[src]") or a log variable ("%b") there, even within single
// quotes, so every '%' is doubled before quoting.
Expected<std::string, std::string> logFormatQuoted(std::string_view value,
                                                   const std::string& what) {
  std::string literal;
  for (char c : value) {
    literal += c == '%' ? std::string("%%") : std::string(1, c);
  }
  return quoted(literal, what);
}

bool validPort(std::int32_t port) {
  return port > 0 && port < 65536;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string ruleId(const engine::Owner& owner, const engine::Route& route,
                   const engine::Rule& rule) {
  return routeId(owner, route) + ":" + rule.name;
}

std::string serverAddress(const engine::ServiceTarget& s, const ConfigOptions& options) {
  const std::string host = !s.externalName.empty()
                               ? s.externalName
                               : s.name + "." + s.namespace_ + ".svc." + options.clusterDomain;
  return host + ":" + std::to_string(s.port);
}

// The header conditions of one match ("{ req.fhdr(h) -m str -- 'v' } ..."), plus the tier.
Expected<std::string, std::string> matchCondition(const engine::Route& route,
                                                  const engine::Rule& rule,
                                                  const api::RequestMatch* match,
                                                  const std::string& where) {
  std::string out;
  std::vector<api::HeaderMatch> headers;
  if (!rule.tier.empty()) {
    headers.push_back({route.tierHeader, rule.tier, "Exact"});
  }
  if (match != nullptr) {
    headers.insert(headers.end(), match->headers.begin(), match->headers.end());
  }
  for (const auto& header : headers) {
    if (!allOf(header.name, isHeaderNameChar)) {
      return Error(where + ": invalid header name \"" + header.name + "\"");
    }
    auto value = quoted(header.value, where + ": match value");
    if (!value) {
      return Error(value.error());
    }
    const char* how = nullptr;
    if (header.type == "Exact") {
      how = "str";
    } else if (header.type == "RegularExpression") {
      how = "reg";
    } else {
      return Error(where + ": unknown header match type \"" + header.type + "\"");
    }
    out += " { req.fhdr(" + header.name + ") -m " + how + " -- " + *value + " }";
  }
  return out;
}

// http-request set-priority-class takes -2047..2047; the plan's unclassed rules get the last.
constexpr std::int32_t kMaxPriorityClass = 2047;

// The backend lines a route's resilience adds before its server (validateResilience passed).
std::string backendOptions(const engine::Resilience& r, const ConfigOptions& options,
                           bool ownQueueTimeout) {
  std::ostringstream out;
  const std::string& lb = r.loadBalancer;
  out << "  balance "
      << (lb == "LeastRequest" ? "leastconn"
          : lb == "Random"     ? "random"
                               : "roundrobin")
      << "\n";
  if (r.activeHealthCheck) {
    // Healthy is a 200, as for Envoy Gateway's active checks (HAProxy would take any 2xx/3xx).
    // Quoted although validateResilience() let no character HAProxy's parser reads through:
    // a path is the one free-form text on this line.
    out << "  option httpchk\n"
        << "  http-check send meth GET uri '" << r.activeHealthCheck->path << "'\n"
        << "  http-check expect status 200\n"
        << "  timeout check " << healthCheckTimeout(*r.activeHealthCheck).count() << "ms\n";
  }
  if (r.maxConcurrentRequests && !ownQueueTimeout) {
    // Requests past maxconn wait in the queue; unbounded they would wait for "timeout
    // connect" only (HAProxy's default), far less than a server is given to answer.
    out << "  timeout queue " << options.serverTimeoutMillis << "ms\n";
  }
  return out.str();
}

// Routes whose servers run active health checks get a fallback backend (see step 5).
bool hasFallback(const engine::Route& route) {
  return route.resilience && route.resilience->activeHealthCheck;
}

// The options on a route's server lines.
std::string serverOptions(const engine::Resilience& r) {
  std::ostringstream out;
  if (r.activeHealthCheck) {
    const auto& check = *r.activeHealthCheck;
    out << " check inter " << check.interval.count() << "ms rise " << check.healthyThreshold
        << " fall " << check.unhealthyThreshold;
  } else if (r.consecutiveErrors > 0) {
    // A server the passive checks mark down comes back only through a check: a TCP connect
    // every ejection time, the first success restoring it (Envoy re-admits an ejected host
    // after baseEjectionTime likewise).
    out << " check inter " << kEjectionTime.count() << "ms rise 1";
  }
  if (r.consecutiveErrors > 0) {
    // With active checks, errors only hasten the next check (fastinter) and the health
    // endpoint decides: a server is the whole destination here (one Service), so marking it
    // down on errors would cut a region off at once, where the controller drains it in steps.
    // Without them, errors eject the server as Envoy's outlier detection ejects a host.
    out << " observe layer7 error-limit " << r.consecutiveErrors << " on-error "
        << (r.activeHealthCheck ? "fastinter" : "mark-down");
  }
  if (r.maxConcurrentRequests) {
    out << " maxconn " << *r.maxConcurrentRequests;
  }
  return out.str();
}

std::string limitsTable(const std::string& route, const std::string& tier) {
  return route + ":limits:" + tier;
}
std::string dailyTable(const std::string& route) {
  return route + ":daily";  // not "<route>:limits:<x>": a tier may be called "daily"
}

}  // namespace

std::string tierCountsTable(const std::string& routeId) {
  return routeId + ":tiercounts";  // not "<route>:limits:<x>": a tier may be called anything
}

namespace {

bool hasDailyQuota(const engine::RateLimits& limits) {
  return std::any_of(limits.tiers.begin(), limits.tiers.end(),
                     [](const auto& t) { return t.dailyQuota.has_value(); });
}

// The frontend lines of one route's rate limits (see config.h). `isRoute` is the ACL that
// selects the route's requests.
std::string rateLimitRules(const std::string& id, const engine::RateLimits& limits,
                           const std::string& isRoute) {
  std::ostringstream out;
  const auto isTier = [&](const std::string& tier) {
    return "{ var(txn.sluice_tier_table) -m str " + limitsTable(id, tier) + " }";
  };
  out << "  # " << id << ": rate limits of " << limits.source << "\n";
  // The tier: the header's value when it names a tier, else the default tier.
  out << "  http-request set-var(txn.sluice_tier) str(" << limits.defaultTier << ") if " << isRoute
      << "\n";
  for (const auto& tier : limits.tiers) {
    if (tier.name != limits.defaultTier) {
      out << "  http-request set-var(txn.sluice_tier) str(" << tier.name << ") if " << isRoute
          << " { req.fhdr(" << limits.tierHeader << ") -m str " << tier.name << " }\n";
    }
  }
  out << "  http-request set-var(txn.sluice_tier_table) str(" << id
      << ":limits:),concat(,txn.sluice_tier,) if " << isRoute << "\n";
  // The customer: the identity header when present and not empty, else the client address.
  if (!limits.identityHeader.empty()) {
    out << "  http-request set-var(txn.sluice_client) req.fhdr(" << limits.identityHeader << ") if "
        << isRoute << " { req.fhdr(" << limits.identityHeader << ") -m len gt 0 }\n";
  }
  // (As a string: the tables are keyed by strings, and an address would not be converted.)
  out << "  http-request set-var(txn.sluice_src) src if " << isRoute
      << " !{ var(txn.sluice_client) -m found }\n"
      << "  http-request set-var(txn.sluice_client) str(address:),concat(,txn.sluice_src,) if "
      << isRoute << " !{ var(txn.sluice_client) -m found }\n";
  for (const auto& tier : limits.tiers) {
    out << "  http-request track-sc0 var(txn.sluice_client) table " << limitsTable(id, tier.name)
        << " if " << isTier(tier.name) << "\n";
  }
  // Requests and refusals per tier (what sluice_tierlimit_*_total report): http_req_cnt of the
  // tier's entry, and gpc0 counted by each refusal below just before it answers.
  out << "  http-request track-sc2 var(txn.sluice_tier) table " << tierCountsTable(id) << " if "
      << isRoute << "\n";
  // The token bucket (GCRA): gpt0 holds the customer's theoretical arrival time in µs, modulo
  // 2^32 (71 minutes; entries expire long before a wrap could mislead). `ahead` is how far it
  // is ahead of now; behind now, or never set, it is 0 (a full bucket).
  out << "  http-request set-var(txn.sluice_now) date(0,us),and(4294967295) if " << isRoute << "\n"
      << "  http-request set-var(txn.sluice_tat) sc0_get_gpt0 if " << isRoute << "\n"
      << "  http-request set-var(txn.sluice_ahead) var(txn.sluice_tat),sub(txn.sluice_now),"
         "and(4294967295) if "
      << isRoute << "\n"
      << "  http-request set-var(txn.sluice_ahead) int(0) if " << isRoute
      << " { var(txn.sluice_ahead) -m int ge 2147483648 }\n"
      << "  http-request set-var(txn.sluice_ahead) int(0) if " << isRoute
      << " { var(txn.sluice_tat) -m int eq 0 }\n";
  const std::string day = "date(" + std::to_string(limits.dayOffsetSeconds) + ")";
  if (hasDailyQuota(limits)) {
    out << "  http-request set-var(txn.sluice_day_key) " << day
        << ",utime(%Y%m%d),concat(:,txn.sluice_tier,:),concat(,txn.sluice_client,) if " << isRoute
        << "\n"
        << "  http-request set-var(txn.sluice_day_reset) " << day
        << ",mod(86400),neg,add(86400) if " << isRoute << "\n";
    for (const auto& tier : limits.tiers) {
      if (tier.dailyQuota) {
        out << "  http-request track-sc1 var(txn.sluice_day_key) table " << dailyTable(id) << " if "
            << isTier(tier.name) << "\n";
      }
    }
  }
  // Refusals, the most lasting first. HAProxy's return takes header values as log-format.
  const std::string refuse =
      "  http-request return status 429 content-type text/plain string \"rate limit "
      "exceeded\\n\"";
  for (const auto& tier : limits.tiers) {
    const auto tolerance = engine::burstTolerance(tier).count();
    const std::string is = isTier(tier.name);
    const auto refuseIf = [&](const std::string& condition) {
      out << "  http-request sc-inc-gpc0(2) if " << condition << "\n" << refuse;
    };
    if (tier.dailyQuota) {
      const std::string over = is + " { sc1_get_gpc0 ge " + std::to_string(*tier.dailyQuota) + " }";
      refuseIf(over);
      out << " hdr Retry-After %[var(txn.sluice_day_reset)] hdr X-RateLimit-Limit "
          << *tier.dailyQuota
          << " hdr X-RateLimit-Remaining 0 hdr X-RateLimit-Reset %[var(txn.sluice_day_reset)] if "
          << over << "\n";
    }
    if (tier.concurrent) {
      const std::string over = is + " { sc0_conn_cur gt " + std::to_string(*tier.concurrent) + " }";
      refuseIf(over);
      out << " hdr Retry-After 1 hdr X-RateLimit-Limit " << *tier.concurrent
          << " hdr X-RateLimit-Remaining 0 hdr X-RateLimit-Reset 1 if " << over << "\n";
    }
    // Over the bucket: a token is back when `ahead` falls to the tolerance; the bucket is full
    // again after `ahead`.
    const std::string over =
        is + " { var(txn.sluice_ahead) -m int gt " + std::to_string(tolerance) + " }";
    out << "  http-request set-var(txn.sluice_retry) var(txn.sluice_ahead),sub(" << tolerance
        << "),add(999999),div(1000000) if " << over << "\n"
        << "  http-request set-var(txn.sluice_full) var(txn.sluice_ahead),add(999999),div(1000000)"
           " if "
        << over << "\n";
    refuseIf(over);
    out << " hdr Retry-After %[var(txn.sluice_retry)] hdr X-RateLimit-Limit " << tier.burst
        << " hdr X-RateLimit-Remaining 0 hdr X-RateLimit-Reset %[var(txn.sluice_full)] if " << over
        << "\n";
  }
  // Accepted: take the token, count the day, and say what is left of the tighter limit.
  for (const auto& tier : limits.tiers) {
    const auto interval = engine::emissionInterval(tier).count();
    const auto tolerance = engine::burstTolerance(tier).count();
    const std::string is = isTier(tier.name);
    out << "  http-request sc-set-gpt0(0) var(txn.sluice_now),add(txn.sluice_ahead),add("
        << interval << "),and(4294967295) if " << is << "\n"
        << "  http-request set-var(txn.sluice_rl_limit) int(" << tier.burst << ") if " << is << "\n"
        << "  http-request set-var(txn.sluice_rl_remaining) int(" << tolerance
        << "),sub(txn.sluice_ahead),div(" << interval << ") if " << is << "\n"
        << "  http-request set-var(txn.sluice_rl_reset) var(txn.sluice_ahead),add("
        << interval + 999'999 << "),div(1000000) if " << is << "\n";
    if (tier.dailyQuota) {
      const std::string q = std::to_string(*tier.dailyQuota);
      const std::string tighter = " { var(txn.sluice_day_left),sub(txn.sluice_rl_remaining) lt 0 }";
      out << "  http-request sc-inc-gpc0(1) if " << is << "\n"
          << "  http-request set-var(txn.sluice_day_left) sc1_get_gpc0,neg,add(" << q << ") if "
          << is << "\n"
          << "  http-request set-var(txn.sluice_rl_limit) int(" << q << ") if " << is << tighter
          << "\n"
          << "  http-request set-var(txn.sluice_rl_reset) var(txn.sluice_day_reset) if " << is
          << tighter << "\n"
          << "  http-request set-var(txn.sluice_rl_remaining) var(txn.sluice_day_left) if " << is
          << tighter << "\n";
    }
    // The tier's priority decides who leaves a full server's queue first, and with a queue
    // how many may wait.
    out << "  http-request set-priority-class int(" << tier.priority << ") if " << is << "\n";
  }
  if (limits.queue) {
    const auto n = static_cast<std::int64_t>(limits.tiers.size());
    for (std::int64_t k = 0; k < n; ++k) {
      out << "  http-request set-var(txn.sluice_queue_max) int("
          << std::max<std::int64_t>(1, limits.queue->maxSize * (n - k) / n) << ") if "
          << isTier(limits.tiers[static_cast<std::size_t>(k)].name) << "\n";
    }
  }
  return out.str();
}

// The stick tables of one route's rate limits.
std::string rateLimitTables(const std::string& id, const engine::RateLimits& limits,
                            const ConfigOptions& options) {
  std::ostringstream out;
  const std::string peers = options.peersBind.empty() ? "" : " peers sluice";
  for (const auto& tier : limits.tiers) {
    // Kept until the customer's bucket is full again, and at least a minute.
    const auto refill = (engine::burstTolerance(tier) + engine::emissionInterval(tier)).count();
    const auto expire = std::max<std::int64_t>(60'000, refill / 1000 + 1000);
    out << "\nbackend " << limitsTable(id, tier.name) << "\n"
        << "  stick-table type string len 128 size " << options.rateLimitTableSize << " expire "
        << expire << "ms store gpt0,conn_cur" << peers << "\n";
  }
  // One entry per tier, kept while HAProxy runs (a reload starts them again: they are
  // counters, and Prometheus's rate() takes resets in its stride). Not shared with peers: each
  // HAProxy counts what it served.
  out << "\nbackend " << tierCountsTable(id) << "\n"
      << "  stick-table type string len 64 size " << limits.tiers.size() + 1
      << " store http_req_cnt,gpc0\n";
  if (hasDailyQuota(limits)) {
    // Keyed by day, so a day's entries are never reused; they go a day after their last use.
    out << "\nbackend " << dailyTable(id) << "\n"
        << "  stick-table type string len 200 size "
        << static_cast<std::int64_t>(options.rateLimitTableSize) * 2 << " expire 25h store gpc0"
        << peers << "\n";
  }
  return out.str();
}

// The lines a destination backend of a route with a rate-limit queue adds.
std::string queueAdmission(const engine::RateLimits& limits) {
  if (!limits.queue) {
    return {};
  }
  return "  timeout queue " + std::to_string(limits.queue->timeout.count()) +
         "ms\n"
         "  http-request return status 503 content-type text/plain string \"overloaded\\n\" hdr "
         "Retry-After 1 if { var(txn.sluice_queue_max) -m found } "
         "{ queue,sub(txn.sluice_queue_max) ge 0 }\n";
}

}  // namespace

std::string routeId(const engine::Owner& owner, const engine::Route& route) {
  return lower(owner.kind) + ":" + owner.namespace_ + ":" + owner.name + ":" + route.name;
}

std::string backendName(const engine::Owner& owner, const engine::Route& route,
                        const std::string& destination) {
  return routeId(owner, route) + ":" + destination;
}

std::string weightKey(const engine::Owner& owner, const engine::Route& route,
                      const engine::Rule& rule, const std::string& destination) {
  return ruleId(owner, route, rule) + ":" + destination;
}

std::map<std::string, std::int32_t> weightEntries(const engine::RoutePlan& plan) {
  std::map<std::string, std::int32_t> out;
  for (const auto& route : plan.routes) {
    for (const auto& rule : route.rules) {
      std::int32_t threshold = 0;
      for (std::size_t i = rule.destinations.size(); i-- > 1;) {
        threshold += rule.destinations[i].weight;
        out[weightKey(plan.owner, route, rule, rule.destinations[i].name)] = threshold;
      }
    }
  }
  return out;
}

std::string renderWeightsMap(const std::vector<engine::RoutePlan>& plans) {
  std::map<std::string, std::int32_t> all;
  for (const auto& plan : plans) {
    all.merge(weightEntries(plan));
  }
  std::string out;
  for (const auto& [key, threshold] : all) {
    out += key + " " + std::to_string(threshold) + "\n";
  }
  return out;
}

Expected<void, std::string> weightsFromEntries(engine::RoutePlan& plan,
                                               const std::map<std::string, std::string>& entries) {
  for (auto& route : plan.routes) {
    for (auto& rule : route.rules) {
      std::int32_t above = 0;  // the threshold of the destination after this one
      for (std::size_t i = rule.destinations.size(); i-- > 1;) {
        auto& d = rule.destinations[i];
        const auto key = weightKey(plan.owner, route, rule, d.name);
        auto it = entries.find(key);
        if (it == entries.end()) {
          return Error("no weight for " + key);
        }
        std::int32_t threshold = 0;
        const auto& text = it->second;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), threshold);
        if (ec != std::errc() || ptr != text.data() + text.size() || threshold < above ||
            threshold > engine::kWeightScale) {
          return Error("weight entry " + key + " = \"" + text + "\" is not a threshold in " +
                       std::to_string(above) + ".." + std::to_string(engine::kWeightScale));
        }
        d.weight = threshold - above;
        above = threshold;
      }
      if (!rule.destinations.empty()) {
        rule.destinations.front().weight = engine::kWeightScale - above;
      }
    }
  }
  return {};
}

Expected<std::string, std::string> renderConfig(const ConfigOptions& options,
                                                const std::vector<engine::RoutePlan>& plans) {
  if (!validPort(options.frontendPort) || !validPort(options.exporterPort)) {
    return Error("frontendPort and exporterPort must be 1..65535");
  }
  if (!allOf(options.bindAddress, isHostChar) && options.bindAddress != "*") {
    return Error("invalid bindAddress \"" + options.bindAddress + "\"");
  }
  if (options.weightsMapPath.empty() || options.weightsMapPath.front() != '/' ||
      !allOf(options.weightsMapPath, isPathChar)) {
    return Error("weightsMapPath must be an absolute path of [A-Za-z0-9._/@:-]");
  }
  if (!allOf(options.runtimeAddress, isPathChar)) {
    return Error("runtimeAddress must be ipv4@host:port or an absolute unix socket path");
  }
  if (!allOf(options.clusterDomain, isHostChar)) {
    return Error("invalid clusterDomain \"" + options.clusterDomain + "\"");
  }

  struct Entry {
    const engine::RoutePlan* plan;
    const engine::Route* route;
    std::string id;
  };
  // No routes is valid: HAProxy starts before the first owner exists and answers 404.
  std::vector<Entry> routes;
  std::map<std::string, std::string> hostOwner;  // lower-case hostname -> route id
  const Entry* defaultRoute = nullptr;
  routes.reserve(plans.size());
  for (const auto& plan : plans) {
    if (auto valid = engine::validate(plan); !valid) {
      return Error(plan.owner.key() + ": " + valid.error());
    }
    for (const auto& route : plan.routes) {
      routes.push_back({&plan, &route, routeId(plan.owner, route)});
    }
  }
  for (const auto& entry : routes) {
    const auto& route = *entry.route;
    const std::string where = entry.plan->owner.key() + " route " + route.name;
    if (route.hostnames.empty()) {
      if (defaultRoute != nullptr) {
        return Error(where + ": only one route may have no hostnames, and " +
                     defaultRoute->plan->owner.key() + " route " + defaultRoute->route->name +
                     " has none already");
      }
      defaultRoute = &entry;
    }
    for (const auto& host : route.hostnames) {
      if (!isRoutableHost(host)) {
        return Error(where + ": invalid hostname \"" + host + "\"");
      }
      auto [it, inserted] = hostOwner.emplace(lower(host), entry.id);
      if (!inserted && it->second != entry.id) {
        return Error(where + ": hostname " + host + " is already routed by " + it->second);
      }
    }
    if (!route.tierHeader.empty() && !allOf(route.tierHeader, isHeaderNameChar)) {
      return Error(where + ": invalid tier header \"" + route.tierHeader + "\"");
    }
    for (const auto& rule : route.rules) {
      if (!rule.stickinessHeader.empty() && !allOf(rule.stickinessHeader, isHeaderNameChar)) {
        return Error(where + " rule " + rule.name + ": invalid stickiness header \"" +
                     rule.stickinessHeader + "\"");
      }
      if (rule.queueClass &&
          (*rule.queueClass < -kMaxPriorityClass || *rule.queueClass >= kMaxPriorityClass)) {
        return Error(where + " rule " + rule.name + ": queueClass " +
                     std::to_string(*rule.queueClass) + " is not " +
                     std::to_string(-kMaxPriorityClass) + ".." +
                     std::to_string(kMaxPriorityClass - 1));
      }
    }
    if (auto valid = validateResilience(route); !valid) {
      return Error(entry.plan->owner.key() + " " + valid.error());
    }
    if (const auto& limits = route.rateLimits) {
      for (const auto* header : {&limits->tierHeader, &limits->identityHeader}) {
        if (!header->empty() && !allOf(*header, isHeaderNameChar)) {
          return Error(where + " rate limits: invalid header name \"" + *header + "\"");
        }
      }
    }
  }
  if (!options.peersBind.empty()) {
    const auto colon = options.peersBind.rfind(':');
    std::int32_t port = 0;
    if (colon == std::string::npos || !allOf(options.peersBind.substr(0, colon), isHostChar) ||
        std::from_chars(options.peersBind.data() + colon + 1,
                        options.peersBind.data() + options.peersBind.size(), port)
                .ec != std::errc() ||
        !validPort(port)) {
      return Error("invalid peersBind \"" + options.peersBind + "\": want host:port");
    }
  }
  if (options.rateLimitTableSize < 1) {
    return Error("rateLimitTableSize must be at least 1");
  }
  const bool anyLimits = std::any_of(
      routes.begin(), routes.end(), [](const Entry& e) { return e.route->rateLimits.has_value(); });

  const std::string& map = options.weightsMapPath;
  std::ostringstream out;
  out << "# Generated by sluice; do not edit. Weights live in " << map << "\n"
      << "# and move at run time through the runtime API (set map), without a reload.\n"
      << "global\n";
  if (options.runtimeAddress.rfind("ipv4@", 0) == 0 ||
      options.runtimeAddress.rfind("ipv6@", 0) == 0) {
    out << "  stats socket " << options.runtimeAddress << " level admin\n";
  } else {
    out << "  stats socket " << options.runtimeAddress << " mode 600 level admin\n";
  }
  const bool peers = anyLimits && !options.peersBind.empty();
  if (peers) {
    out << "  localpeer sluice\n";
  }
  out << "\n";
  if (peers) {
    // Only this HAProxy: on a reload the old process hands its stick tables to the new one.
    out << "peers sluice\n"
        << "  peer sluice " << options.peersBind << "\n"
        << "\n";
  }
  out << "defaults\n"
      << "  mode http\n"
      << "  option http-keep-alive\n"
      << "  timeout connect " << options.connectTimeoutMillis << "ms\n"
      << "  timeout client " << options.clientTimeoutMillis << "ms\n"
      << "  timeout server " << options.serverTimeoutMillis << "ms\n"
      << "  # A Service name that does not resolve yet must not stop every other route.\n"
      << "  default-server init-addr last,libc,none\n"
      << "\n"
      << "frontend sluice-metrics\n"
      << "  bind " << options.bindAddress << ":" << options.exporterPort << "\n"
      << "  no log\n"
      << "  http-request use-service prometheus-exporter if { path /metrics }\n"
      << "  http-request return status 404\n"
      << "\n"
      << "frontend sluice\n"
      << "  bind " << options.bindAddress << ":" << options.frontendPort << "\n";

  // 1. Which route: by Host (port stripped): exact names first, then wildcards longest suffix
  // first (Gateway API: the most specific hostname wins), the default route last.
  std::vector<std::pair<std::string, const std::string*>> wildcards;  // ".suffix", route id
  for (const auto& entry : routes) {
    std::string exact;
    for (const auto& host : entry.route->hostnames) {
      if (isWildcard(host)) {
        wildcards.emplace_back(host.substr(1), &entry.id);
      } else {
        exact += " " + host;
      }
    }
    if (exact.empty()) {
      continue;
    }
    out << "  http-request set-var(txn.sluice_route) str(" << entry.id
        << ") if !{ var(txn.sluice_route) -m found } { req.hdr(host),field(1,:) -m str -i" << exact
        << " }\n";
  }
  std::stable_sort(wildcards.begin(), wildcards.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [suffix, id] : wildcards) {
    out << "  http-request set-var(txn.sluice_route) str(" << *id
        << ") if !{ var(txn.sluice_route) -m found } { req.hdr(host),field(1,:) -m end -i "
        << suffix << " }\n";
  }
  if (defaultRoute != nullptr) {
    out << "  http-request set-var(txn.sluice_route) str(" << defaultRoute->id
        << ") if !{ var(txn.sluice_route) -m found }\n";
  }
  out << "  http-request return status 404 content-type text/plain string \"no route\\n\" if "
         "!{ var(txn.sluice_route) -m found }\n";

  // 2. Which rule: the first that matches, in evaluation order.
  for (const auto& entry : routes) {
    const std::string isRoute = "{ var(txn.sluice_route) -m str " + entry.id + " }";
    for (const auto* rule : engine::evaluationOrder(*entry.route)) {
      const std::string where =
          entry.plan->owner.key() + " route " + entry.route->name + " rule " + rule->name;
      std::vector<const api::RequestMatch*> matches;
      for (const auto& m : rule->matches) {
        matches.push_back(&m);
      }
      if (matches.empty()) {
        matches.push_back(nullptr);
      }
      for (const auto* match : matches) {
        auto condition = matchCondition(*entry.route, *rule, match, where);
        if (!condition) {
          return Error(condition.error());
        }
        out << "  http-request set-var(txn.sluice_rule) str("
            << ruleId(entry.plan->owner, *entry.route, *rule) << ") if " << isRoute
            << " !{ var(txn.sluice_rule) -m found }" << *condition << "\n";
      }
    }
  }
  out << "  http-request return status 404 content-type text/plain string \"no rule\\n\" if "
         "!{ var(txn.sluice_rule) -m found }\n";

  // 2b. The queueing class: HAProxy dequeues lower classes first, and an unset class is 0, so
  //     in a route with classed rules the others get the last class (the plan puts them behind
  //     every classed request). Rules of one route share its backends, hence their queues.
  for (const auto& entry : routes) {
    const auto& rules = entry.route->rules;
    if (std::none_of(rules.begin(), rules.end(), [](const auto& r) { return r.queueClass; })) {
      continue;
    }
    for (const auto& rule : rules) {
      out << "  http-request set-priority-class int(" << rule.queueClass.value_or(kMaxPriorityClass)
          << ") if { var(txn.sluice_rule) -m str " << ruleId(entry.plan->owner, *entry.route, rule)
          << " }\n";
    }
  }

  // 2c. Rate limits, after the rule (a request without one was answered 404 and counts for
  //     nothing), and after 2b: a tier's priority class replaces the rule's.
  for (const auto& entry : routes) {
    if (entry.route->rateLimits) {
      out << rateLimitRules(entry.id, *entry.route->rateLimits,
                            "{ var(txn.sluice_route) -m str " + entry.id + " }");
    }
  }

  // 3. The bucket: a hash of the rule's stickiness header, or random without it.
  for (const auto& entry : routes) {
    for (const auto& rule : entry.route->rules) {
      if (rule.stickinessHeader.empty()) {
        continue;
      }
      const std::string& h = rule.stickinessHeader;
      out << "  http-request set-var(txn.sluice_bucket) req.fhdr(" << h
          << "),xxh32,mod(1000000) if { var(txn.sluice_rule) -m str "
          << ruleId(entry.plan->owner, *entry.route, rule) << " } { req.fhdr(" << h
          << ") -m found }\n";
    }
  }
  out << "  http-request set-var(txn.sluice_bucket) rand(1000000) if "
         "!{ var(txn.sluice_bucket) -m found }\n";

  // 4. The backend: from the last destination down, the first whose threshold is above the
  //    bucket (bucket - threshold < 0); the first destination otherwise.
  for (const auto& entry : routes) {
    for (const auto& rule : entry.route->rules) {
      const std::string open = "{ var(txn.sluice_rule) -m str " +
                               ruleId(entry.plan->owner, *entry.route, rule) +
                               " } !{ var(txn.sluice_backend) -m found }";
      const auto& ds = rule.destinations;
      for (std::size_t i = ds.size(); i-- > 1;) {
        out << "  http-request set-var(txn.sluice_limit) str("
            << weightKey(entry.plan->owner, *entry.route, rule, ds[i].name) << "),map_str_int("
            << map << ",0) if " << open << "\n"
            << "  http-request set-var(txn.sluice_delta) var(txn.sluice_bucket),sub(txn.sluice_"
               "limit) if "
            << open << "\n"
            << "  http-request set-var(txn.sluice_backend) str("
            << backendName(entry.plan->owner, *entry.route, ds[i].name) << ") if " << open
            << " { var(txn.sluice_delta) -m int lt 0 }\n";
      }
      out << "  http-request set-var(txn.sluice_backend) str("
          << backendName(entry.plan->owner, *entry.route, ds.front().name) << ") if " << open
          << "\n";
    }
  }
  // 5. A destination whose server is down (its health checks fail) is not waited for: its
  //    requests go to the route's fallback backend, every destination's server tracking its
  //    own backend's health, until the controller moves the weights.
  for (const auto& entry : routes) {
    if (!hasFallback(*entry.route)) {
      continue;
    }
    std::set<std::string> seen;
    for (const auto& rule : entry.route->rules) {
      for (const auto& d : rule.destinations) {
        if (!seen.insert(d.name).second) {
          continue;
        }
        const std::string backend = backendName(entry.plan->owner, *entry.route, d.name);
        out << "  http-request set-var(txn.sluice_backend) str(" << entry.id
            << ":fallback) if { var(txn.sluice_backend) -m str " << backend << " } { nbsrv("
            << backend << ") eq 0 }\n";
      }
    }
  }
  out << "  use_backend %[var(txn.sluice_backend)]\n";
  if (anyLimits) {
    out << "  http-response set-header X-RateLimit-Limit %[var(txn.sluice_rl_limit)] if "
           "{ var(txn.sluice_rl_limit) -m found }\n"
        << "  http-response set-header X-RateLimit-Remaining %[var(txn.sluice_rl_remaining)] if "
           "{ var(txn.sluice_rl_remaining) -m found }\n"
        << "  http-response set-header X-RateLimit-Reset %[var(txn.sluice_rl_reset)] if "
           "{ var(txn.sluice_rl_reset) -m found }\n";
  }
  if (std::any_of(routes.begin(), routes.end(), [](const Entry& e) {
        return e.route->rateLimits && e.route->rateLimits->queue;
      })) {
    // A request that waited its queue timeout out gets HAProxy's own 503: it too says when to
    // come back.
    out << "  http-after-response set-header Retry-After 1 if { status 503 } "
           "!{ res.hdr(Retry-After) -m found } { var(txn.sluice_queue_max) -m found }\n";
  }

  for (const auto& entry : routes) {
    std::set<std::string> written;
    std::string fallback;
    std::string fallbackResponse;
    const std::string queue =
        entry.route->rateLimits ? queueAdmission(*entry.route->rateLimits) : std::string();
    for (const auto& rule : entry.route->rules) {
      for (const auto& d : rule.destinations) {
        if (!written.insert(d.name).second) {
          continue;
        }
        const std::string address = serverAddress(d.service, options);
        if (!allOf(address.substr(0, address.rfind(':')), isHostChar)) {
          return Error(entry.plan->owner.key() + " route " + entry.route->name + " destination " +
                       d.name + ": invalid server address " + address);
        }
        std::string headers;
        std::string fallbackHeaders;
        for (const auto& h : d.responseHeaders) {
          const std::string where = entry.plan->owner.key() + " route " + entry.route->name +
                                    " destination " + d.name + ": response header " + h.name;
          if (!allOf(h.name, isHeaderNameChar)) {
            return Error(where + ": HAProxy carries header names of letters, digits, -, _ and .");
          }
          auto value = logFormatQuoted(h.value, where + " value");
          if (!value) {
            return Error(value.error());
          }
          headers += "  http-response set-header " + h.name + " " + *value + "\n";
          fallbackHeaders += "  http-response set-header " + h.name + " " + *value +
                             " if { srv_name " + d.name + " }\n";
        }
        out << "\nbackend " << backendName(entry.plan->owner, *entry.route, d.name) << "\n";
        if (entry.route->resilience) {
          out << backendOptions(*entry.route->resilience, options, !queue.empty()) << queue
              << "  server s0 " << address << serverOptions(*entry.route->resilience) << "\n";
        } else {
          out << "  balance roundrobin\n" << queue << "  server s0 " << address << "\n";
        }
        out << headers;
        fallback +=
            "  server " + d.name + " " + address + " track " +
            backendName(entry.plan->owner, *entry.route, d.name) + "/s0" +
            (entry.route->resilience && entry.route->resilience->maxConcurrentRequests
                 ? " maxconn " + std::to_string(*entry.route->resilience->maxConcurrentRequests)
                 : std::string()) +
            "\n";
        fallbackResponse += fallbackHeaders;
      }
    }
    if (hasFallback(*entry.route)) {
      out << "\nbackend " << entry.id << ":fallback\n"
          << "  balance roundrobin\n"
          << queue << fallbackResponse << fallback;
    }
    if (entry.route->rateLimits) {
      out << rateLimitTables(entry.id, *entry.route->rateLimits, options);
    }
  }
  return out.str();
}

}  // namespace sluice::render::haproxy
