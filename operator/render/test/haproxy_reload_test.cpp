#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "operator/engine/canary_route.h"
#include "operator/render/haproxy/provider.h"

namespace sluice::render::haproxy {
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

class HaproxyReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice-reload-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    options_.configPath = (dir_ / "haproxy.cfg").string();
    options_.config.weightsMapPath = (dir_ / "weights.map").string();
    options_.config.frontendPort = 18000;
    options_.config.exporterPort = 18001;
    options_.config.runtimeAddress = "ipv4@127.0.0.1:18002";
    options_.runtimeAddress = "127.0.0.1:18002";
    options_.masterSocket = (dir_ / "master.sock").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static engine::RoutePlan plan(const std::string& name, const std::string& host) {
    api::CanaryRollout rollout;
    rollout.metadata.name = name;
    rollout.metadata.namespace_ = "shop";
    rollout.metadata.uid = "uid-" + name;
    rollout.spec.route = api::RouteSpec{{}, {host}, "haproxy"};
    return engine::canaryRoutePlan(rollout, 10, {"shop", "stable", 9001, "127.0.0.1"},
                                   {"shop", "canary", 9002, "127.0.0.1"});
  }
  std::string config() const {
    std::ifstream cfg(options_.configPath);
    return std::string((std::istreambuf_iterator<char>(cfg)), std::istreambuf_iterator<char>());
  }

  fs::path dir_;
  HaproxyProviderOptions options_;
};

TEST_F(HaproxyReloadTest, FailedReloadStaysPendingUntilItSucceeds) {
  HaproxyProvider provider(options_);
  ASSERT_TRUE(provider.start().hasValue());
  // HAProxy's master is not there (or is re-executing after the previous reload).
  auto first = provider.apply(plan("pay", "pay.local"));
  ASSERT_FALSE(first);
  EXPECT_NE(first.error().message.find("master.sock"), std::string::npos) << first.error().message;
  EXPECT_NE(config().find("pay.local"), std::string::npos);
  // The same plan again: the config on disk is current but HAProxy never loaded it.
  EXPECT_FALSE(provider.apply(plan("pay", "pay.local")));

  FakeMasterSocket master(options_.masterSocket);
  auto applied = provider.apply(plan("pay", "pay.local"));
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(applied->topologyChanged);
  EXPECT_EQ(master.reloads.load(), 1);
  // A new owner is a new config: one more reload, and both routes are in the file.
  ASSERT_TRUE(provider.apply(plan("cart", "cart.local")));
  EXPECT_EQ(master.reloads.load(), 2);
  EXPECT_NE(config().find("cart.local"), std::string::npos);
  EXPECT_NE(config().find("pay.local"), std::string::npos);
  EXPECT_EQ(provider.stats().reloads, 2);
}

TEST_F(HaproxyReloadTest, RestartedOperatorKeepsEveryOwnerAndDoesNotRewrite) {
  FakeMasterSocket master(options_.masterSocket);
  {
    HaproxyProvider provider(options_);
    ASSERT_TRUE(provider.start().hasValue());
    ASSERT_TRUE(provider.apply(plan("pay", "pay.local")));
    ASSERT_TRUE(provider.apply(plan("cart", "cart.local")));
  }
  EXPECT_EQ(master.reloads.load(), 2);
  HaproxyProvider restarted(options_);  // knows both owners from the state file
  ASSERT_TRUE(restarted.start().hasValue());
  EXPECT_EQ(restarted.stats().configWrites, 0);
  EXPECT_EQ(restarted.owners("CanaryRollout").size(), 2U);
  EXPECT_TRUE(restarted.owners("TrafficPolicy").empty());
  // A third owner before the other two reconcile: their routes stay in the config.
  ASSERT_TRUE(restarted.apply(plan("web", "web.local")));
  EXPECT_EQ(master.reloads.load(), 3);
  for (const char* host : {"pay.local", "cart.local", "web.local"}) {
    EXPECT_NE(config().find(host), std::string::npos) << host;
  }
  // An owner removed while no operator ran goes when its controller says so.
  ASSERT_TRUE(restarted.remove(plan("cart", "cart.local").owner));
  EXPECT_EQ(config().find("cart.local"), std::string::npos);
  EXPECT_EQ(master.reloads.load(), 4);
}

TEST_F(HaproxyReloadTest, AnUnreadableStateFileIsReportedNotFatal) {
  std::ofstream(options_.configPath + ".plans.json") << "{not json";
  HaproxyProvider provider(options_);
  auto started = provider.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().find("plans.json"), std::string::npos) << started.error();
  EXPECT_NE(config().find("frontend sluice"), std::string::npos);
}

}  // namespace
}  // namespace sluice::render::haproxy
