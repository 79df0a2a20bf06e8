#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "operator/render/haproxy/config.h"
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

std::vector<CanaryRoute> twoRoutes() {
  CanaryRoute pay;
  pay.name = "shop.payment-api";
  pay.hostnames = {"pay.example.com"};
  pay.stable = {{"127.0.0.1", 9001}, {"127.0.0.1", 9002}};
  pay.canary = {{"127.0.0.1", 9101}};
  pay.stickinessHeader = "X-Tenant-ID";
  pay.match = {
      {{{"X-Canary", "always", "Exact"}}},
      {{{"X-Tier", "^(beta|internal)$", "RegularExpression"}, {"X-Env", "qa env", "Exact"}}}};
  pay.weight = 5;
  CanaryRoute fallback;
  fallback.name = "shop.web";
  fallback.stable = {{"localhost", 9003}};
  fallback.canary = {{"localhost", 9103}};
  return {pay, fallback};
}

TEST(HaproxyConfig, TwoRoutesGolden) {
  auto cfg = renderConfig(options(), twoRoutes());
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  testing::expectGolden("haproxy_two_routes.cfg", *cfg);
  EXPECT_EQ(renderWeightsMap(twoRoutes()), "shop.payment-api 5\nshop.web 0\n");
}

TEST(HaproxyConfig, UnixRuntimeSocket) {
  auto o = options();
  o.runtimeAddress = "/tmp/sluice-test/admin.sock";
  auto cfg = renderConfig(o, twoRoutes());
  ASSERT_TRUE(cfg.hasValue());
  EXPECT_NE(cfg->find("stats socket /tmp/sluice-test/admin.sock mode 600 level admin\n"),
            std::string::npos);
}

// The generated file must be accepted by the real haproxy (`haproxy -c`).
// Runs `haproxy -c` on the rendered config; empty when HAProxy accepts it, else its output.
std::string haproxyRejects(const std::vector<CanaryRoute>& routes, const std::string& tag) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sluice-cfg-check-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto o = options();
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
  EXPECT_EQ(haproxyRejects(twoRoutes(), "two"), "");
}

// HAProxy starts before the first rollout exists: no routes is a valid config whose frontend
// answers 404.
TEST(HaproxyConfig, RealHaproxyAcceptsNoRoutes) {
  auto cfg = renderConfig(options(), {});
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  EXPECT_NE(cfg->find("no route"), std::string::npos);
  EXPECT_EQ(haproxyRejects({}, "empty"), "");
}

struct BadCase {
  const char* name;
  void (*mutate)(ConfigOptions&, std::vector<CanaryRoute>&);
  const char* messagePart;
};

// Names the case in test output and CTest names (the default prints raw bytes).
void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.name;
}

class HaproxyConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(HaproxyConfigErrors, AreRejectedWithAReason) {
  auto o = options();
  auto routes = twoRoutes();
  GetParam().mutate(o, routes);
  auto cfg = renderConfig(o, routes);
  ASSERT_FALSE(cfg.hasValue()) << GetParam().name;
  EXPECT_NE(cfg.error().find(GetParam().messagePart), std::string::npos) << cfg.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, HaproxyConfigErrors,
    ::testing::Values(
        BadCase{"bad port", [](auto& o, auto&) { o.frontendPort = 70000; }, "1..65535"},
        BadCase{"relative map", [](auto& o, auto&) { o.weightsMapPath = "w.map"; },
                "weightsMapPath"},
        BadCase{"upper-case name", [](auto&, auto& r) { r[0].name = "Pay"; }, "route name"},
        BadCase{"duplicate name", [](auto&, auto& r) { r[1].name = r[0].name; }, "duplicate"},
        BadCase{"two defaults", [](auto&, auto& r) { r[0].hostnames.clear(); }, "only one default"},
        BadCase{"no canary servers", [](auto&, auto& r) { r[0].canary.clear(); },
                "at least one stable and one canary"},
        BadCase{"bad server", [](auto&, auto& r) { r[0].stable[0].host = "a b"; },
                "invalid server"},
        BadCase{"bad host", [](auto&, auto& r) { r[0].hostnames = {"pay example"}; },
                "invalid hostname"},
        BadCase{"bad stickiness", [](auto&, auto& r) { r[0].stickinessHeader = "X Tenant"; },
                "stickiness header"},
        BadCase{"quote in value", [](auto&, auto& r) { r[0].match[0].headers[0].value = "it's"; },
                "single quote"},
        BadCase{"newline in value", [](auto&, auto& r) { r[0].match[0].headers[0].value = "a\nb"; },
                "control"},
        BadCase{"unknown match type",
                [](auto&, auto& r) { r[0].match[0].headers[0].type = "Prefix"; },
                "unknown header match type"},
        BadCase{"weight out of range", [](auto&, auto& r) { r[0].weight = 101; }, "0..100"}),
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
