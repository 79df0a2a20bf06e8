#include "operator/render/gatewayapi/httproute.h"

#include <numeric>
#include <set>

#include "operator/render/object_meta.h"

namespace sluice::render::gatewayapi {
namespace {

using nlohmann::json;

// The API server defaults an omitted path to PathPrefix "/"; writing it keeps server-side
// apply from seeing a difference on every reconcile.
json pathPrefixRoot() {
  return {{"type", "PathPrefix"}, {"value", "/"}};
}

json httpMatches(const engine::Route& route, const engine::Rule& rule) {
  json tierHeader = json::array();
  if (!rule.tier.empty()) {
    tierHeader.push_back({{"type", "Exact"}, {"name", route.tierHeader}, {"value", rule.tier}});
  }
  json out = json::array();
  for (const auto& match : rule.matches) {
    json headers = tierHeader;
    for (const auto& h : match.headers) {
      headers.push_back({{"type", h.type}, {"name", h.name}, {"value", h.value}});
    }
    json m{{"path", pathPrefixRoot()}};
    if (!headers.empty()) {
      m["headers"] = headers;
    }
    out.push_back(std::move(m));
  }
  if (out.empty()) {
    json m{{"path", pathPrefixRoot()}};
    if (!tierHeader.empty()) {
      m["headers"] = tierHeader;
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

Expected<std::vector<json>, std::string> renderHttpRoutes(const engine::RoutePlan& plan) {
  if (auto valid = engine::validate(plan); !valid) {
    return Unexpected(valid.error());
  }
  std::vector<json> out;
  for (const auto& route : plan.routes) {
    if (route.parents.empty()) {
      return Unexpected("route " + route.name + ": Gateway API needs parentRefs");
    }
    json parentRefs = json::array();
    for (const auto& ref : route.parents) {
      json p{{"group", "gateway.networking.k8s.io"}, {"kind", "Gateway"}, {"name", ref.name}};
      if (!ref.namespace_.empty()) {
        p["namespace"] = ref.namespace_;
      }
      if (!ref.sectionName.empty()) {
        p["sectionName"] = ref.sectionName;
      }
      parentRefs.push_back(std::move(p));
    }
    // The HTTPRoute CRD (v1.2.1 through v1.4.1) caps both lists; the API server would refuse
    // the whole route with a message that names no plan rule.
    if (route.rules.size() > kMaxRules) {
      return Unexpected("route " + route.name + ": " + std::to_string(route.rules.size()) +
                        " rules, Gateway API allows at most " + std::to_string(kMaxRules) +
                        " rules a route");
    }
    json rules = json::array();
    std::set<std::string> seen;
    std::size_t matchCount = 0;
    for (const auto* rule : engine::evaluationOrder(route)) {
      if (rule->destinations.size() > kMaxBackendRefs) {
        return Unexpected("route " + route.name + " rule " + rule->name + ": " +
                          std::to_string(rule->destinations.size()) +
                          " destinations, Gateway API allows at most " +
                          std::to_string(kMaxBackendRefs) + " backendRefs a rule");
      }
      json matches = httpMatches(route, *rule);
      matchCount += matches.size();
      if (matches.size() > kMaxMatchesPerRule || matchCount > kMaxMatches) {
        return Unexpected(
            "route " + route.name + " rule " + rule->name + ": " + std::to_string(matches.size()) +
            " matches (" + std::to_string(matchCount) +
            " in the route so far); Gateway API allows at most " +
            std::to_string(kMaxMatchesPerRule) + " a rule and " + std::to_string(kMaxMatches) +
            " a route (each tenant, region value or match entry is one)");
      }
      if (!seen.insert(matches.dump()).second) {
        return Unexpected("route " + route.name + " rule " + rule->name +
                          ": another rule has the same matches; Gateway API cannot order them");
      }
      std::int32_t divisor = 10'000;
      for (const auto& d : rule->destinations) {
        divisor = std::gcd(divisor, d.weight);
      }
      json backendRefs = json::array();
      for (const auto& d : rule->destinations) {
        json ref{{"group", ""}, {"kind", "Service"}, {"name", d.service.name}};
        if (!d.service.namespace_.empty() && d.service.namespace_ != plan.owner.namespace_) {
          ref["namespace"] = d.service.namespace_;
        }
        ref["port"] = d.service.port;
        ref["weight"] = d.weight / divisor;
        if (!d.responseHeaders.empty()) {
          json set = json::array();
          for (const auto& h : d.responseHeaders) {
            set.push_back({{"name", h.name}, {"value", h.value}});
          }
          ref["filters"] = json::array(
              {{{"type", "ResponseHeaderModifier"}, {"responseHeaderModifier", {{"set", set}}}}});
        }
        backendRefs.push_back(std::move(ref));
      }
      rules.push_back({{"matches", matches}, {"backendRefs", backendRefs}});
    }
    json spec{{"parentRefs", parentRefs}, {"rules", rules}};
    if (!route.hostnames.empty()) {
      spec["hostnames"] = route.hostnames;
    }
    out.push_back({{"apiVersion", kHttpRouteApiVersion},
                   {"kind", "HTTPRoute"},
                   {"metadata", generatedMetadata(plan.owner, route.name)},
                   {"spec", spec}});
  }
  return out;
}

Expected<engine::Route, std::string> routeOf(const json& httpRoute) {
  try {
    engine::Route route;
    route.name = httpRoute.at("metadata").at("name").get<std::string>();
    const auto& spec = httpRoute.at("spec");
    if (spec.contains("hostnames")) {
      route.hostnames = spec["hostnames"].get<std::vector<std::string>>();
    }
    for (const auto& p : spec.value("parentRefs", json::array())) {
      route.parents.push_back(
          {p.value("name", ""), p.value("namespace", ""), p.value("sectionName", "")});
    }
    const auto& rules = spec.at("rules");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      engine::Rule rule;
      rule.name = "rule-" + std::to_string(i);
      const auto refs = rules[i].value("backendRefs", json::array());
      std::int64_t sum = 0;
      for (const auto& ref : refs) {
        sum += ref.value("weight", 1);
      }
      std::int64_t given = 0;
      for (std::size_t r = 0; r < refs.size(); ++r) {
        const auto& ref = refs[r];
        engine::Destination d;
        d.name = ref.at("name").get<std::string>();
        d.service = {ref.value("namespace", ""), d.name, ref.value("port", 0), ""};
        const std::int64_t w = ref.value("weight", 1);
        // The last destination takes the rounding remainder, so weights sum to the scale.
        const std::int64_t scaled = sum == 0               ? 0
                                    : r + 1 == refs.size() ? engine::kWeightScale - given
                                                           : w * engine::kWeightScale / sum;
        d.weight = static_cast<std::int32_t>(scaled);
        for (const auto& f : ref.value("filters", json::array())) {
          if (f.value("type", "") != "ResponseHeaderModifier") {
            continue;
          }
          for (const auto& h : f.at("responseHeaderModifier").value("set", json::array())) {
            d.responseHeaders.push_back(
                {h.at("name").get<std::string>(), h.at("value").get<std::string>()});
          }
        }
        given += scaled;
        rule.destinations.push_back(std::move(d));
      }
      route.rules.push_back(std::move(rule));
    }
    return route;
  } catch (const json::exception& e) {
    return Unexpected(std::string("HTTPRoute does not have the rendered shape: ") + e.what());
  }
}

}  // namespace sluice::render::gatewayapi
