#include "operator/cmd/options.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::cmd {
namespace {

Expected<OperatorOptions, OptionsError> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "sluice-operator");
  return parseOptions(static_cast<int>(args.size()), args.data());
}

TEST(OptionsTest, DefaultsMatchTheChart) {
  auto o = parse({});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->metricsBindAddress, ":8080");
  EXPECT_EQ(o->healthProbeBindAddress, ":8081");
  EXPECT_FALSE(o->leaderElect);
  EXPECT_FALSE(o->haproxy.enabled());
  EXPECT_EQ(o->leaseDuration, std::chrono::seconds{15});
}

TEST(OptionsTest, HaproxyMapDirDefaultsNextToConfig) {
  auto o = parse({"--haproxy-config", "/tmp/x/haproxy.cfg", "--leader-elect"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_TRUE(o->leaderElect);
  EXPECT_EQ(o->haproxy.mapDir, "/tmp/x");
}

TEST(OptionsTest, BadAddressNamesTheFlag) {
  auto o = parse({"--metrics-bind-address", "localhost:http"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("--metrics-bind-address"), std::string::npos)
      << o.error().message;
}

TEST(OptionsTest, UnknownLogLevelRejected) {
  auto o = parse({"--log-level", "loud"});
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("--log-level"), std::string::npos) << o.error().message;
}

TEST(OptionsTest, HelpIsNotAnError) {
  auto o = parse({"--help"});
  ASSERT_FALSE(o);
  EXPECT_TRUE(o.error().helpRequested);
  EXPECT_EQ(o.error().exitCode, 0);
  EXPECT_NE(o.error().message.find("--haproxy-config"), std::string::npos);
}

TEST(HostPortTest, Forms) {
  auto a = parseHostPort("x", ":8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 8080);
  auto b = parseHostPort("x", "127.0.0.1:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 0);
  EXPECT_FALSE(parseHostPort("x", "8080"));
  EXPECT_FALSE(parseHostPort("x", "h:70000"));
}

}  // namespace
}  // namespace sluice::cmd
