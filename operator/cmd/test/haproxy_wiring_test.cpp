// How the operator's flags become the haproxy provider's options: the runtime API is a unix
// socket HAProxy creates with mode 600 unless a host:port is asked for (issue 15).

#include <gtest/gtest.h>

#include <vector>

#include "operator/cmd/haproxy_provider.h"
#include "operator/render/haproxy/config.h"

namespace sluice::cmd {
namespace {

Expected<OperatorOptions, OptionsError> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "sluice-operator");
  return parseOptions(static_cast<int>(args.size()), args.data());
}

TEST(HaproxyWiring, RuntimeApiDefaultsToAnOwnerOnlyUnixSocket) {
  auto o = parse({"--haproxy-config", "/tmp/x/haproxy.cfg"});
  ASSERT_TRUE(o) << o.error().message;
  const auto h = haproxyProviderOptions(o->haproxy);
  EXPECT_EQ(h.runtimeAddress, "/tmp/x/admin.sock");
  EXPECT_EQ(h.config.runtimeAddress, "/tmp/x/admin.sock");
  EXPECT_TRUE(h.checkBinary.empty());
  auto cfg = render::haproxy::renderConfig(
      [&] {
        auto c = h.config;
        c.frontendPort = 8000;
        c.exporterPort = 8404;
        return c;
      }(),
      {});
  ASSERT_TRUE(cfg.hasValue()) << cfg.error();
  EXPECT_NE(cfg->find("  stats socket /tmp/x/admin.sock mode 600 level admin\n"), std::string::npos)
      << *cfg;
}

TEST(HaproxyWiring, ExplicitSocketPathOrHostPort) {
  auto path = parse({"--haproxy-config", "/tmp/x/haproxy.cfg", "--haproxy-runtime-address",
                     "/run/haproxy/admin.sock", "--haproxy-check-binary", "/usr/sbin/haproxy"});
  ASSERT_TRUE(path) << path.error().message;
  const auto p = haproxyProviderOptions(path->haproxy);
  EXPECT_EQ(p.runtimeAddress, "/run/haproxy/admin.sock");
  EXPECT_EQ(p.checkBinary, "/usr/sbin/haproxy");
  auto tcp = parse(
      {"--haproxy-config", "/tmp/x/haproxy.cfg", "--haproxy-runtime-address", "127.0.0.1:9999"});
  ASSERT_TRUE(tcp) << tcp.error().message;
  const auto t = haproxyProviderOptions(tcp->haproxy);
  EXPECT_EQ(t.runtimeAddress, "127.0.0.1:9999");
  EXPECT_EQ(t.config.runtimeAddress, "ipv4@127.0.0.1:9999");
  EXPECT_FALSE(
      parse({"--haproxy-config", "/tmp/x/haproxy.cfg", "--haproxy-runtime-address", "admin.sock"}));
  // A relative map directory still gives a unix socket (HAProxy's unix@ prefix).
  auto relative = parse({"--haproxy-config", "haproxy.cfg"});
  ASSERT_TRUE(relative) << relative.error().message;
  EXPECT_EQ(haproxyProviderOptions(relative->haproxy).runtimeAddress, "unix@./admin.sock");
}

}  // namespace
}  // namespace sluice::cmd
