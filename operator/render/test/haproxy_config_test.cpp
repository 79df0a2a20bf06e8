#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "operator/engine/canary_route.h"
#include "operator/render/haproxy/config.h"
#include "operator/render/test/checkout_limits.h"
#include "operator/render/test/golden.h"

namespace sluice::render::haproxy {
namespace {

ConfigOptions options() {
  ConfigOptions o;
  o.frontendPort = 18080;
  o.exporterPort = 18405;
  o.runtimeAddress = "ipv4@127.0.0.1:18999";
  o.weightsMapPath = "/tmp/sluice-test/weights.map";
  return o;
}

engine::ServiceTarget external(const std::string& host, std::int32_t port) {
  return {"shop", "svc-" + std::to_string(port), port, host};
}

// Two owners of different kinds: a sticky canary with tenant lists and match rules on a
// hostname, and a
// three-way split as the default route (Services reached through cluster DNS).
std::vector<engine::RoutePlan> twoPlans() {
  api::CanaryRollout pay;
  pay.metadata.name = "payment-api";
  pay.metadata.namespace_ = "shop";
  pay.metadata.uid = "uid-1";
  pay.spec.route = api::RouteSpec{{}, {"pay.example.com"}, "haproxy"};
  pay.spec.stickiness = api::Stickiness{"X-Tenant-ID"};
  pay.spec.match = {
      {{{"X-Canary", "always", "Exact"}}},
      {{{"X-Tier", "^(beta|internal)$", "RegularExpression"}, {"X-Env", "qa env", "Exact"}}}};
  // Tenant lists (a quote and a space in a value) and the version headers with a revision.
  pay.spec.tenants = api::TenantOverrides{{"o'brien qa"}, {"bank"}};
  pay.status.canaryRevision = "0123456789abcdef";
  auto canary =
      engine::canaryRoutePlan(pay, 5, external("127.0.0.1", 9001), external("127.0.0.1", 9101));
  engine::RoutePlan web;
  web.owner = {"sluice.dev/v1alpha1", "TrafficPolicy", "shop", "web", "uid-2"};
  engine::Route route;
  route.name = "web";
  route.tierHeader = "X-Tier";
  engine::Rule premium;
  premium.name = "premium";
  premium.tier = "premium";
  premium.priority = 10;
  premium.destinations = {{"eu", {"shop", "web-eu", 80, ""}, engine::kWeightScale, {}}};
  engine::Rule all;
  all.name = "all";
  all.destinations = {{"eu", {"shop", "web-eu", 80, ""}, 500000, {}},
                      {"us", {"shop", "web-us", 80, ""}, 300000, {}},
                      {"ap", {"shop", "web-ap", 8080, ""}, 200000, {}}};
  route.rules = {all, premium};
  web.routes = {route};
  return {canary, web};
}

TEST(HaproxyConfig, TwoOwnersGolden) {
  auto cfg = renderConfig(options(), twoPlans());
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  testing::expectGolden("haproxy_two_routes.cfg", *cfg);
  EXPECT_EQ(renderWeightsMap(twoPlans()),
            "canaryrollout:shop:payment-api:payment-api:default:canary 50000\n"
            "canaryrollout:shop:payment-api:payment-api:match-0:canary 1000000\n"
            "canaryrollout:shop:payment-api:payment-api:match-1:canary 1000000\n"
            "canaryrollout:shop:payment-api:payment-api:tenants-canary:override-canary 1000000\n"
            "canaryrollout:shop:payment-api:payment-api:tenants-stable:override-canary 0\n"
            "trafficpolicy:shop:web:web:all:ap 200000\n"
            "trafficpolicy:shop:web:web:all:us 500000\n");
}

// twoPlans() with every resilience setting and queue classes: the web route load-balances by
// least connections, checks /healthz actively and passively and limits each server to 100;
// the canary's passive checks alone; web's premium tier leaves a full queue first.
std::vector<engine::RoutePlan> resilientPlans() {
  using namespace std::chrono_literals;
  auto plans = twoPlans();
  plans[0].routes[0].resilience = engine::Resilience{"Random", std::nullopt, 3, std::nullopt};
  plans[1].routes[0].resilience =
      engine::Resilience{"LeastRequest", engine::HealthCheck{"/healthz?probe=1", 5s, 2, 3}, 5, 100};
  plans[1].routes[0].rules[1].queueClass = 1;
  return plans;
}

TEST(HaproxyConfig, ResilienceAndQueueClassesGolden) {
  auto cfg = renderConfig(options(), resilientPlans());
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  testing::expectGolden("haproxy_resilience.cfg", *cfg);
}

// Routes without resilience or queue classes render exactly as before: only the route that
// has them changes.
TEST(HaproxyConfig, ResilienceChangesOnlyItsRoute) {
  auto plain = renderConfig(options(), twoPlans());
  auto plans = twoPlans();
  plans[1].routes[0].resilience = engine::Resilience{};
  auto empty = renderConfig(options(), plans);
  ASSERT_TRUE(plain.hasValue() && empty.hasValue());
  EXPECT_EQ(*plain, *empty) << "a resilience that asks for nothing changes nothing";
  auto resilient = renderConfig(options(), resilientPlans());
  ASSERT_TRUE(resilient.hasValue());
  EXPECT_EQ(plain->find("set-priority-class"), std::string::npos);
  EXPECT_EQ(plain->find(" check"), std::string::npos);
  // The canary's backends carry passive checks; their way back up is a TCP check.
  EXPECT_NE(resilient->find("  balance random\n  server s0 127.0.0.1:9001 check inter 30000ms "
                            "rise 1 observe layer7 error-limit 3 on-error mark-down\n"),
            std::string::npos)
      << *resilient;
  EXPECT_NE(resilient->find("http-request set-priority-class int(1) if { var(txn.sluice_rule) "
                            "-m str trafficpolicy:shop:web:web:premium }"),
            std::string::npos);
  EXPECT_NE(resilient->find("http-request set-priority-class int(2047) if { var(txn.sluice_rule) "
                            "-m str trafficpolicy:shop:web:web:all }"),
            std::string::npos);
}

TEST(HaproxyConfig, WeightsReadBackFromTheMap) {
  auto plans = twoPlans();
  std::map<std::string, std::string> live;
  for (const auto& [key, threshold] : weightEntries(plans[1])) {
    live[key] = std::to_string(threshold);
  }
  auto back = plans[1];
  for (auto& d : back.routes[0].rules[0].destinations) {
    d.weight = 0;
  }
  ASSERT_TRUE(weightsFromEntries(back, live).hasValue());
  EXPECT_EQ(back, plans[1]);
  live.begin()->second = "x";
  EXPECT_FALSE(weightsFromEntries(back, live).hasValue());
}

TEST(HaproxyConfig, UnixRuntimeSocket) {
  auto o = options();
  o.runtimeAddress = "/tmp/sluice-test/admin.sock";
  auto cfg = renderConfig(o, twoPlans());
  ASSERT_TRUE(cfg.hasValue());
  EXPECT_NE(cfg->find("stats socket /tmp/sluice-test/admin.sock mode 600 level admin\n"),
            std::string::npos);
}

// resilientPlans() with a TierLimit's rate limits on the web route: three tiers, the daily
// quota in Stockholm time (UTC+1 in winter), a queue.
engine::RateLimits checkoutLimits() {
  return testing::checkoutLimits("TierLimit/shop/web");
}
std::vector<engine::RoutePlan> limitedPlans() {
  auto plans = resilientPlans();
  plans[1].routes[0].rateLimits = checkoutLimits();
  return plans;
}
ConfigOptions withPeers(ConfigOptions o) {
  o.peersBind = "127.0.0.1:18406";
  return o;
}

TEST(HaproxyConfig, RateLimitsGolden) {
  auto cfg = renderConfig(withPeers(options()), limitedPlans());
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  testing::expectGolden("haproxy_rate_limits.cfg", *cfg);
}

// Without rate limits nothing of them appears: no peers, no tables, no headers.
TEST(HaproxyConfig, RateLimitsChangeOnlyTheirRoute) {
  auto plain = renderConfig(withPeers(options()), resilientPlans());
  ASSERT_TRUE(plain.hasValue()) << plain.error();
  auto expected = renderConfig(options(), resilientPlans());
  EXPECT_EQ(*plain, *expected);
  EXPECT_EQ(plain->find("peers"), std::string::npos);
  EXPECT_EQ(plain->find("X-RateLimit"), std::string::npos);
  auto limited = renderConfig(withPeers(options()), limitedPlans());
  ASSERT_TRUE(limited.hasValue());
  EXPECT_NE(limited->find("backend trafficpolicy:shop:web:web:limits:free\n"), std::string::npos);
  EXPECT_EQ(limited->find("canaryrollout:shop:payment-api:payment-api:limits"), std::string::npos);
}

// The generated file must be accepted by the real haproxy (`haproxy -c`).
// Runs `haproxy -c` on the rendered config; empty when HAProxy accepts it, else its output.
std::string haproxyRejects(const std::vector<engine::RoutePlan>& routes, const std::string& tag) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sluice-cfg-check-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto o = withPeers(options());
  o.weightsMapPath = (dir / "weights.map").string();
  o.runtimeAddress = (dir / "admin.sock").string();
  auto cfg = renderConfig(o, routes);
  if (!cfg.hasValue()) {
    return "render failed: " + cfg.error();
  }
  std::ofstream(dir / "haproxy.cfg") << *cfg;
  std::ofstream(o.weightsMapPath) << renderWeightsMap(routes);
  const std::string command = std::string(SLUICE_HAPROXY_BIN) + " -c -q -f " +
                              (dir / "haproxy.cfg").string() + " > " +
                              (dir / "check.log").string() + " 2>&1";
  const int rc = std::system(command.c_str());
  std::ifstream log(dir / "check.log");
  std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  return WIFEXITED(rc) && WEXITSTATUS(rc) == 0 ? std::string() : output + "\n" + *cfg;
}

TEST(HaproxyConfig, RealHaproxyAcceptsIt) {
  EXPECT_EQ(haproxyRejects(twoPlans(), "two"), "");
}

// Every keyword resilience and queue classes add exists in the HAProxy this machine (and the
// image: Debian bookworm, 2.6) runs.
TEST(HaproxyConfig, RealHaproxyAcceptsResilienceAndQueueClasses) {
  EXPECT_EQ(haproxyRejects(resilientPlans(), "resilience"), "");
  auto plans = resilientPlans();
  plans[1].routes[0].resilience->loadBalancer = "RoundRobin";
  plans[1].routes[0].resilience->consecutiveErrors = 0;
  plans[0].routes[0].resilience->maxConcurrentRequests = 1;
  plans[0].routes[0].rules[0].queueClass = -2047;
  EXPECT_EQ(haproxyRejects(plans, "resilience-2"), "");
}

// Every keyword of the rate limits exists in HAProxy 2.6, with and without peers, a queue, a
// daily quota and an identity header.
TEST(HaproxyConfig, RealHaproxyAcceptsRateLimits) {
  EXPECT_EQ(haproxyRejects(limitedPlans(), "limits"), "");
  auto plans = limitedPlans();
  auto& l = *plans[1].routes[0].rateLimits;
  l.queue.reset();
  l.identityHeader.clear();
  l.dayOffsetSeconds = -5 * 3600;
  for (auto& t : l.tiers) {
    t.dailyQuota.reset();
    t.concurrent.reset();
  }
  EXPECT_EQ(haproxyRejects(plans, "limits-2"), "");
  plans[1].routes[0].resilience.reset();
  plans[0].routes[0].rateLimits = checkoutLimits();
  EXPECT_EQ(haproxyRejects(plans, "limits-3"), "");
  // Tiers may be called anything, even what the route's other tables are called.
  auto named = limitedPlans();
  auto& tiers = named[1].routes[0].rateLimits->tiers;
  ASSERT_GE(tiers.size(), 2u);
  tiers[0].name = "daily";
  tiers[1].name = "tiercounts";
  named[1].routes[0].rateLimits->defaultTier = "daily";
  EXPECT_EQ(haproxyRejects(named, "limits-4"), "");
}

// HAProxy starts before the first rollout exists: no routes is a valid config whose frontend
// answers 404.
// Gateway API wildcard hostnames: exact names are matched first, then wildcards by longest
// suffix, whatever order the owners come in; "*.example.com" never matches example.com.
TEST(HaproxyConfig, WildcardHostnamesMatchBySuffixAfterExactNames) {
  auto plans = twoPlans();
  plans[0].routes[0].hostnames = {"*.example.com"};
  plans[1].routes[0].hostnames = {"*.eu.example.com", "web.example.com"};
  auto cfg = renderConfig(options(), plans);
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  const auto exact = cfg->find("-m str -i web.example.com }");
  const auto longer = cfg->find("-m end -i .eu.example.com }");
  const auto shorter = cfg->find("-m end -i .example.com }");
  ASSERT_NE(exact, std::string::npos) << *cfg;
  ASSERT_NE(longer, std::string::npos) << *cfg;
  ASSERT_NE(shorter, std::string::npos) << *cfg;
  EXPECT_LT(exact, longer);
  EXPECT_LT(longer, shorter);
  EXPECT_EQ(cfg->find("*."), std::string::npos) << "no wildcard reaches HAProxy as text";
  EXPECT_EQ(haproxyRejects(plans, "wildcards"), "");
  // The same wildcard for two owners is a clash like an exact name.
  plans[1].routes[0].hostnames = {"*.example.com"};
  auto clash = renderConfig(options(), plans);
  ASSERT_FALSE(clash.hasValue());
  EXPECT_NE(clash.error().find("already routed by"), std::string::npos) << clash.error();
  for (const char* bad : {"*.", "*", "a.*.example.com", "*example.com", "*.*.example.com"}) {
    plans[1].routes[0].hostnames = {bad};
    EXPECT_FALSE(renderConfig(options(), plans).hasValue()) << bad;
  }
}

TEST(HaproxyConfig, RealHaproxyAcceptsNoRoutes) {
  auto cfg = renderConfig(options(), {});
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  EXPECT_NE(cfg->find("no route"), std::string::npos);
  EXPECT_EQ(haproxyRejects({}, "empty"), "");
}

// Data-plane injection (issue 15). Free-form values (match and tenant values, response header
// values) may hold any printable character: each is quoted so that real HAProxy accepts the file
// and every line means what it did with a plain value. The texts try to end the quoted word
// (quotes), the line (a comment: '#'), an ACL block ('}'), or to start HAProxy's expansions
// (backslash escapes, "$VAR", log-format "%[...]" and "%b").
const std::vector<std::string>& hostileValues() {
  static const std::vector<std::string> values = {
      "a'b",          "a\"b",          "a b  c", "a # b",          "a\\r\\nb",     "} or { always",
      "%[src] %b %%", "${HOME} $HOME", "'\\''",  "x' }\\nbackend", "-- -m reg .*", "a,b)(c",
      "\\",           "a\\x0ab",       "'",
  };
  return values;
}

// twoPlans() with `value` as the X-Canary match value, the canary tenant and the revision
// response header (which HAProxy reads as log-format).
std::vector<engine::RoutePlan> plansWithValue(const std::string& value) {
  auto plans = twoPlans();
  for (auto& rule : plans[0].routes[0].rules) {
    for (auto& m : rule.matches) {
      for (auto& h : m.headers) {
        if (h.value == "always" || h.value == "o'brien qa") {
          h.value = value;
        }
      }
    }
    for (auto& d : rule.destinations) {
      for (auto& h : d.responseHeaders) {
        if (h.name == "X-Sluice-Canary-Revision") {
          h.value = value;
        }
      }
    }
  }
  return plans;
}

// What the renderer must write for a value: single-quoted, a quote as '\'', and in a
// log-format argument every '%' doubled.
std::string haproxyQuoted(const std::string& value, bool logFormat) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '%' && logFormat) {
      out += "%%";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST(HaproxyConfig, HostileValuesAreQuotedAndAddNoDirective) {
  const auto plain = renderConfig(options(), plansWithValue("plain"));
  ASSERT_TRUE(plain.hasValue()) << plain.error();
  const auto plainLines = lines(*plain);
  int checked = 0;
  for (const auto& value : hostileValues()) {
    const auto plans = plansWithValue(value);
    const auto cfg = renderConfig(options(), plans);
    ASSERT_TRUE(cfg.hasValue()) << ::testing::PrintToString(value) << ": " << cfg.error();
    // Line for line the same config, but for the value in its quoted form.
    const auto got = lines(*cfg);
    ASSERT_EQ(got.size(), plainLines.size()) << ::testing::PrintToString(value) << "\n" << *cfg;
    int changed = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i] == plainLines[i]) {
        continue;
      }
      ++changed;
      const bool logFormat = got[i].find("http-response set-header") != std::string::npos;
      EXPECT_EQ(replaceAll(got[i], haproxyQuoted(value, logFormat), "'plain'"), plainLines[i])
          << ::testing::PrintToString(value);
    }
    EXPECT_GE(changed, 4) << "match, tenant and both revision headers";
    EXPECT_EQ(renderWeightsMap(plans), renderWeightsMap(plansWithValue("plain")));
    // And the real HAProxy reads it as one valid file.
    EXPECT_EQ(haproxyRejects(plans, "hostile-" + std::to_string(checked)), "")
        << ::testing::PrintToString(value);
    ++checked;
  }
  EXPECT_EQ(checked, 15);
}

// A health-check path is quoted too: '$' (which the CRD allows) is not an expansion.
TEST(HaproxyConfig, HealthCheckPathIsQuoted) {
  auto plans = resilientPlans();
  plans[1].routes[0].resilience->activeHealthCheck->path = "/healthz$HOME;a=(b)*+,!&~@:%41";
  auto cfg = renderConfig(options(), plans);
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  EXPECT_NE(cfg->find("http-check send meth GET uri '/healthz$HOME;a=(b)*+,!&~@:%41'\n"),
            std::string::npos)
      << *cfg;
  EXPECT_EQ(haproxyRejects(plans, "path"), "");
}

// Header names of the CRDs' grammar, '.' included, are carried unquoted and accepted.
TEST(HaproxyConfig, DottedHeaderNamesAreAccepted) {
  auto plans = limitedPlans();
  plans[0].routes[0].rules.back().stickinessHeader = "X.Tenant_ID";
  plans[0].routes[0].rules[0].matches[0].headers[0].name = "X.Canary";
  plans[1].routes[0].tierHeader = "X.Tier";
  plans[1].routes[0].rateLimits->tierHeader = "X.Tier";
  plans[1].routes[0].rateLimits->identityHeader = "X.Customer.ID";
  EXPECT_EQ(haproxyRejects(plans, "dotted"), "");
}

struct BadCase {
  const char* name;
  void (*mutate)(ConfigOptions&, std::vector<engine::RoutePlan>&);
  const char* messagePart;
};

// Names the case in test output and CTest names (the default prints raw bytes).
void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.name;
}

class HaproxyConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(HaproxyConfigErrors, AreRejectedWithAReason) {
  auto o = options();
  auto routes = twoPlans();
  GetParam().mutate(o, routes);
  auto cfg = renderConfig(o, routes);
  ASSERT_FALSE(cfg.hasValue()) << GetParam().name;
  EXPECT_NE(cfg.error().find(GetParam().messagePart), std::string::npos) << cfg.error();
}

INSTANTIATE_TEST_SUITE_P(Table, HaproxyConfigErrors,
                         ::
                             testing::Values(BadCase{"bad port",
                                                     [](auto& o, auto&) { o.frontendPort = 70000; },
                                                     "1..65535"},
                                             BadCase{
                                                 "relative map",
                                                 [](auto& o, auto&) { o.weightsMapPath = "w.map"; },
                                                 "weightsMapPath"},
                                             BadCase{"upper-case name",
                                                     [](auto&, auto& r) {
                                                       r[0].routes[0].name = "Pay";
                                                     },
                                                     "DNS subdomain"},
                                             BadCase{"two defaults",
                                                     [](auto&, auto& r) {
                                                       r[0].routes[0].hostnames.clear();
                                                     },
                                                     "only one route may have no hostnames"},
                                             BadCase{"hostname of another owner",
                                                     [](auto&, auto& r) {
                                                       r[1].routes[0].hostnames = {
                                                           "PAY.example.com"};
                                                     },
                                                     "already routed by "
                                                     "canaryrollout:shop:payment-api"},
                                             BadCase{"no destinations",
                                                     [](auto&, auto& r) {
                                                       r[0].routes[0].rules[0].destinations.clear();
                                                     },
                                                     "no destinations"},
                                             BadCase{
                                                 "weights off scale",
                                                 [](auto&, auto& r) {
                                                   r[1].routes[0].rules[0].destinations[0].weight =
                                                       1;
                                                 },
                                                 "weights sum to"},
                                             BadCase{"bad server",
                                                     [](auto&, auto& r) {
                                                       for (auto& rule : r[0].routes[0].rules) {
                                                         rule.destinations[0].service.externalName =
                                                             "a b";
                                                       }
                                                     },
                                                     "invalid server"},
                                             BadCase{"bad host",
                                                     [](auto&, auto& r) {
                                                       r[0].routes[0].hostnames = {"pay example"};
                                                     },
                                                     "invalid hostname"},
                                             BadCase{
                                                 "bad stickiness",
                                                 [](auto&, auto& r) {
                                                   r[0].routes[0].rules.back().stickinessHeader =
                                                       "X Tenant";
                                                 },
                                                 "stickiness header"},
                                             BadCase{"newline in value",
                                                     [](auto&, auto& r) {
                                                       r[0].routes[0]
                                                           .rules[0]
                                                           .matches[0]
                                                           .headers[0]
                                                           .value = "a\nb";
                                                     },
                                                     "control"},
                                             BadCase{"unknown match type",
                                                     [](auto&, auto& r) {
                                                       r[0].routes[0]
                                                           .rules[0]
                                                           .matches[0]
                                                           .headers[0]
                                                           .type = "Prefix";
                                                     },
                                                     "unknown header match type"},
                                             BadCase{"tier without header",
                                                     [](auto&, auto& r) {
                                                       r[1].routes[0].tierHeader.clear();
                                                     },
                                                     "tierHeader"},
                                             BadCase{
                                                 "space in health check path",
                                                 [](auto&, auto& r) {
                                                   r[1].routes[0].resilience = engine::Resilience{};
                                                   r[1].routes[0].resilience->activeHealthCheck =
                                                       engine::HealthCheck{"/a b"};
                                                 },
                                                 "TrafficPolicy/shop/web route web resilience: "
                                                 "activeHealthCheck.path \"/a b\""},
                                             BadCase{
                                                 "quote in health check path",
                                                 [](auto&, auto& r) {
                                                   r[1].routes[0].resilience = engine::Resilience{};
                                                   r[1].routes[0].resilience->activeHealthCheck =
                                                       engine::HealthCheck{"/'"};
                                                 },
                                                 "activeHealthCheck.path"},
                                             BadCase{
                                                 "newline in health check path",
                                                 [](auto&, auto& r) {
                                                   r[1].routes[0].resilience = engine::Resilience{};
                                                   r[1].routes[0].resilience->activeHealthCheck =
                                                       engine::HealthCheck{"/a\nb"};
                                                 },
                                                 "activeHealthCheck.path"},
                                             BadCase{"unknown load balancer",
                                                     [](auto&, auto& r) {
                                                       r[1].routes[0].resilience =
                                                           engine::Resilience{};
                                                       r[1].routes[0].resilience->loadBalancer =
                                                           "Fastest";
                                                     },
                                                     "loadBalancer \"Fastest\""},
                                             BadCase{"no concurrency",
                                                     [](auto&, auto& r) {
                                                       r[1].routes[0].resilience =
                                                           engine::Resilience{};
                                                       r[1].routes[0]
                                                           .resilience->maxConcurrentRequests = 0;
                                                     },
                                                     "maxConcurrentRequests 0"},
                                             BadCase{
                                                 "backslash escapes in health check path",
                                                 [](auto&, auto& r) {
                                                   r[1].routes[0].resilience = engine::Resilience{};
                                                   r[1].routes[0].resilience->activeHealthCheck =
                                                       engine::HealthCheck{
                                                           "/a\\r\\nX-Injected:\\x20yes"};
                                                 },
                                                 "activeHealthCheck.path"},
                                             BadCase{"newline in owner name",
                                                     [](auto&, auto& r) {
                                                       r[1].owner.name =
                                                           "web\ntrafficpolicy:shop:x:x:all:us 0";
                                                     },
                                                     "plan owner"},
                                             BadCase{"space in owner namespace",
                                                     [](auto&, auto& r) {
                                                       r[1].owner.namespace_ = "a b";
                                                     },
                                                     "plan owner"},
                                             BadCase{"quote in tier header",
                                                     [](auto&, auto& r) {
                                                       r[1].routes[0].tierHeader = "X'T";
                                                     },
                                                     "invalid tier header"},
                                             BadCase{"hash in match header name",
                                                     [](auto&, auto& r) {
                                                       r[0].routes[0]
                                                           .rules[0]
                                                           .matches[0]
                                                           .headers[0]
                                                           .name = "X#Canary";
                                                     },
                                                     "invalid header name"},
                                             BadCase{"carriage return in tenant value",
                                                     [](auto&, auto& r) {
                                                       for (auto& rule : r[0].routes[0].rules) {
                                                         for (auto& m : rule.matches) {
                                                           for (auto& h : m.headers) {
                                                             if (h.value == "o'brien qa") {
                                                               h.value = "o'brien\r\nqa";
                                                             }
                                                           }
                                                         }
                                                       }
                                                     },
                                                     "control character"},
                                             BadCase{"newline in response header value",
                                                     [](auto&, auto& r) {
                                                       for (auto& rule : r[0].routes[0].rules) {
                                                         for (auto& d : rule.destinations) {
                                                           for (auto& h : d.responseHeaders) {
                                                             h.value = "true\nhttp-request deny";
                                                           }
                                                         }
                                                       }
                                                     },
                                                     "control character"},
                                             BadCase{"percent in response header name",
                                                     [](auto&, auto& r) {
                                                       for (auto& rule : r[0].routes[0].rules) {
                                                         for (auto& d : rule.destinations) {
                                                           for (auto& h : d.responseHeaders) {
                                                             h.name = "X-%[src]";
                                                           }
                                                         }
                                                       }
                                                     },
                                                     "invalid response header name \"X-%[src]\""},
                                             BadCase{"queue class out of range",
                                                     [](auto&, auto& r) {
                                                       r[1].routes[0].rules[0].queueClass = 2047;
                                                     },
                                                     "route web rule all: queueClass 2047 is not "
                                                     "-2047..2046"}),
                         [](const auto& testInfo) {
                           std::string name = testInfo.param.name;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) {
                               ch = '_';
                             }
                           }
                           return name;
                         });

}  // namespace
}  // namespace sluice::render::haproxy
