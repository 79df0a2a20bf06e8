#include "operator/controllers/haproxy_gateway.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

namespace sluice::controllers {
namespace {

namespace fs = std::filesystem;

// A stand-in for HAProxy's master CLI: accepts connections on a unix socket, answers each
// command line, and counts the reloads it was asked for.
class FakeMasterSocket {
 public:
  explicit FakeMasterSocket(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) {
          return;
        }
        char buf[256];
        const auto n = ::read(c, buf, sizeof(buf));
        if (n > 0 && std::string(buf, static_cast<std::size_t>(n)).rfind("reload", 0) == 0) {
          ++reloads;
        }
        const char reply[] = "\n";
        (void)!::write(c, reply, sizeof(reply) - 1);
        ::close(c);
      }
    });
  }
  ~FakeMasterSocket() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::atomic<int> reloads{0};

 private:
  int fd_ = -1;
  std::thread thread_;
};

class HaproxyGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice-gw-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    options_.configPath = (dir_ / "haproxy.cfg").string();
    options_.weightsMapPath = (dir_ / "weights.map").string();
    options_.config.frontendPort = 18000;
    options_.config.exporterPort = 18001;
    options_.config.runtimeAddress = "ipv4@127.0.0.1:18002";
    options_.runtimeAddress = "127.0.0.1:18002";
    options_.masterSocket = (dir_ / "master.sock").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static render::haproxy::CanaryRoute route(const std::string& name, const std::string& host) {
    render::haproxy::CanaryRoute r;
    r.name = name;
    r.hostnames = {host};
    r.stable = {{"127.0.0.1", 9001}};
    r.canary = {{"127.0.0.1", 9002}};
    r.weight = 10;
    return r;
  }

  fs::path dir_;
  HaproxyGatewayOptions options_;
};

TEST_F(HaproxyGatewayTest, FailedReloadStaysPendingUntilItSucceeds) {
  HaproxyGateway gateway(options_);
  // HAProxy's master is not there (or is re-executing after the previous reload).
  auto first = gateway.syncRoutes({route("shop.pay", "pay.local")});
  ASSERT_FALSE(first);
  EXPECT_NE(first.error().find("master.sock"), std::string::npos) << first.error();
  EXPECT_TRUE(fs::exists(options_.configPath));
  // Same routes again: the config on disk is current but HAProxy never loaded it.
  EXPECT_FALSE(gateway.syncRoutes({route("shop.pay", "pay.local")}));

  FakeMasterSocket master(options_.masterSocket);
  ASSERT_TRUE(gateway.syncRoutes({route("shop.pay", "pay.local")}));
  EXPECT_EQ(master.reloads.load(), 1);
  // Nothing changed and nothing pending: no reload.
  ASSERT_TRUE(gateway.syncRoutes({route("shop.pay", "pay.local")}));
  EXPECT_EQ(master.reloads.load(), 1);
  // A new route is a new config: one more reload, and both routes are in the file.
  ASSERT_TRUE(
      gateway.syncRoutes({route("shop.pay", "pay.local"), route("shop.cart", "cart.local")}));
  EXPECT_EQ(master.reloads.load(), 2);
  std::ifstream cfg(options_.configPath);
  const std::string text((std::istreambuf_iterator<char>(cfg)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("cart.local"), std::string::npos);
  EXPECT_NE(text.find("pay.local"), std::string::npos);
}

TEST_F(HaproxyGatewayTest, HasRouteOnlyForTheLoadedDefinition) {
  HaproxyGateway gateway(options_);
  EXPECT_FALSE(gateway.hasRoute(route("shop.pay", "pay.local")));
  ASSERT_FALSE(gateway.syncRoutes({route("shop.pay", "pay.local")}));  // no master yet
  EXPECT_FALSE(gateway.hasRoute(route("shop.pay", "pay.local"))) << "reload still pending";
  FakeMasterSocket master(options_.masterSocket);
  ASSERT_TRUE(gateway.syncRoutes({route("shop.pay", "pay.local")}));
  EXPECT_TRUE(gateway.hasRoute(route("shop.pay", "pay.local")));
  auto moved = route("shop.pay", "pay.local");
  moved.weight = 50;  // weights move through the runtime API, not the config
  EXPECT_TRUE(gateway.hasRoute(moved));
  EXPECT_FALSE(gateway.hasRoute(route("shop.pay", "pay.example.com")));
  auto otherPort = route("shop.pay", "pay.local");
  otherPort.canary[0].port = 9003;
  EXPECT_FALSE(gateway.hasRoute(otherPort));
  EXPECT_FALSE(gateway.hasRoute(route("shop.cart", "cart.local")));
}

TEST_F(HaproxyGatewayTest, RestartedOperatorDoesNotReloadAnUnchangedConfig) {
  FakeMasterSocket master(options_.masterSocket);
  {
    HaproxyGateway gateway(options_);
    ASSERT_TRUE(gateway.syncRoutes({route("shop.pay", "pay.local")}));
  }
  HaproxyGateway restarted(options_);  // reads the config HAProxy already runs from disk
  ASSERT_TRUE(restarted.syncRoutes({route("shop.pay", "pay.local")}));
  EXPECT_EQ(master.reloads.load(), 1);
}

}  // namespace
}  // namespace sluice::controllers
