// The haproxy provider against the real HAProxy 2.6: a generated config on free ports, two
// local backends that identify themselves, weights moved through the runtime API.

#include <arpa/inet.h>
#include <cpprest/http_client.h>
#include <cpprest/http_listener.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "operator/engine/bucket.h"
#include "operator/render/haproxy/config.h"
#include "operator/render/haproxy/provider.h"
#include "operator/render/haproxy/runtime_client.h"
#include "operator/render/traffic_provider.h"

namespace sluice::render::haproxy {
namespace {

namespace http = web::http;
using namespace std::chrono_literals;

// Distinct ports nothing listens on now: all bound to 127.0.0.1:0 at once, then released.
std::vector<int> freePorts(int count) {
  std::vector<int> fds;
  std::vector<int> ports;
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) {
    ::close(fd);
  }
  return ports;
}

// Answers every request with its own name.
class Backend {
 public:
  Backend(std::string name, int port)
      : name_(std::move(name)), listener_("http://127.0.0.1:" + std::to_string(port)) {
    listener_.support([this](http::http_request request) {
      request.reply(http::status_codes::OK, name_, "text/plain").wait();
    });
    listener_.open().wait();
  }
  ~Backend() { listener_.close().wait(); }

 private:
  std::string name_;
  web::http::experimental::listener::http_listener listener_;
};

// haproxy in the foreground (-db), stopped by PID.
class HaproxyProcess {
 public:
  HaproxyProcess(const std::filesystem::path& config, const std::filesystem::path& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(SLUICE_HAPROXY_BIN, SLUICE_HAPROXY_BIN, "-db", "-f", config.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~HaproxyProcess() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

constexpr const char* kRoute = "demo";
constexpr const char* kOtherRoute = "other";

class HaproxyProviderTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() { stack_ = std::make_unique<Stack>(); }
  static void TearDownTestSuite() { stack_.reset(); }

 protected:
  struct Stack {
    Stack() {
      dir =
          std::filesystem::temp_directory_path() / ("sluice-haproxy-" + std::to_string(::getpid()));
      std::filesystem::create_directories(dir);
      const auto ports = freePorts(5);
      frontendPort = ports[0];
      exporterPort = ports[1];
      runtimeAddress = "ipv4@127.0.0.1:" + std::to_string(ports[2]);
      weightsMap = (dir / "weights.map").string();
      stable = std::make_unique<Backend>("stable", ports[3]);
      canary = std::make_unique<Backend>("canary", ports[4]);

      CanaryRoute route;
      route.name = kRoute;
      route.stable = {{"127.0.0.1", ports[3]}};
      route.canary = {{"127.0.0.1", ports[4]}};
      route.stickinessHeader = "X-Tenant-ID";
      route.match = {{{{"X-Canary", "always", "Exact"}}}};
      route.weight = 0;
      CanaryRoute other = route;
      other.name = kOtherRoute;
      other.hostnames = {"other.example.com"};
      // Only `demo` is in the initial map: `other` gets its key through `add map`.
      std::ofstream(weightsMap) << renderWeightsMap({route});

      ConfigOptions options;
      options.frontendPort = frontendPort;
      options.exporterPort = exporterPort;
      options.runtimeAddress = runtimeAddress;
      options.weightsMapPath = weightsMap;
      auto cfg = renderConfig(options, {route, other});
      if (!cfg) {
        error = cfg.error();
        return;
      }
      std::ofstream(dir / "haproxy.cfg") << *cfg;
      haproxy = std::make_unique<HaproxyProcess>(dir / "haproxy.cfg", dir / "haproxy.log");
      RuntimeClient runtime(runtimeAddress, 500ms);
      const auto deadline = std::chrono::steady_clock::now() + 5s;
      while (std::chrono::steady_clock::now() < deadline) {
        if (runtime.command("show info").hasValue()) {
          return;
        }
        if (!haproxy->running()) {
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
      std::ifstream log(dir / "haproxy.log");
      error = "haproxy did not start: " + std::string(std::istreambuf_iterator<char>(log), {});
    }
    ~Stack() {
      haproxy.reset();
      std::filesystem::remove_all(dir);
    }

    std::filesystem::path dir;
    int frontendPort = 0;
    int exporterPort = 0;
    std::string runtimeAddress;
    std::string weightsMap;
    std::unique_ptr<Backend> stable;
    std::unique_ptr<Backend> canary;
    std::unique_ptr<HaproxyProcess> haproxy;
    std::string error;
  };

  void SetUp() override {
    ASSERT_TRUE(stack_->error.empty()) << stack_->error;
    ProviderOptions options;
    options.haproxyRuntimeAddress = stack_->runtimeAddress;
    options.haproxyWeightsMap = stack_->weightsMap;
    auto made = makeTrafficProvider("haproxy", options);
    ASSERT_TRUE(made.hasValue()) << made.error().message;
    provider = std::move(made).value();
    client = std::make_unique<http::client::http_client>("http://127.0.0.1:" +
                                                         std::to_string(stack_->frontendPort));
  }

  void setWeight(std::int32_t weight) {
    auto set = provider->setWeight(kRoute, weight);
    ASSERT_TRUE(set.hasValue()) << set.error().message;
    ASSERT_EQ(provider->verifyWeight(kRoute).value(), weight);
  }

  // Which backend answered; "" when the request failed.
  std::string get(const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& host = "") {
    http::http_request request(http::methods::GET);
    for (const auto& [name, value] : headers) {
      request.headers().add(name, value);
    }
    if (!host.empty()) {
      request.headers().add("Host", host);
    }
    try {
      auto response = client->request(request).get();
      if (response.status_code() != http::status_codes::OK) {
        return "HTTP " + std::to_string(response.status_code());
      }
      return response.extract_string(true).get();
    } catch (const std::exception& e) {
      return std::string("error: ") + e.what();
    }
  }

  std::string tenantSide(const std::string& tenant) { return get({{"X-Tenant-ID", tenant}}); }

  static std::unique_ptr<Stack> stack_;
  std::unique_ptr<TrafficProvider> provider;
  std::unique_ptr<http::client::http_client> client;
};

std::unique_ptr<HaproxyProviderTest::Stack> HaproxyProviderTest::stack_;

std::string tenant(int i) {
  return "tenant-" + std::to_string(i);
}

TEST_F(HaproxyProviderTest, WeightZeroSendsEverythingToStable) {
  setWeight(0);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(tenantSide(tenant(i)), "stable") << tenant(i);
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(get({}), "stable");
  }
  // spec.match only applies while the canary has weight: a rolled-back canary gets nothing.
  EXPECT_EQ(get({{"X-Canary", "always"}}), "stable");
}

TEST_F(HaproxyProviderTest, TenantsSplitByBucketAndStayOnCanaryAsWeightGrows) {
  constexpr int kTenants = 300;
  std::set<std::string> onCanaryBefore;
  for (std::int32_t weight : {5, 25, 50, 75}) {
    setWeight(weight);
    std::set<std::string> onCanary;
    for (int i = 0; i < kTenants; ++i) {
      const std::string side = tenantSide(tenant(i));
      ASSERT_TRUE(side == "stable" || side == "canary") << side;
      // HAProxy's xxh32 bucket is exactly the one the operator predicts.
      ASSERT_EQ(side == "canary", engine::onCanary(tenant(i), weight))
          << tenant(i) << " bucket " << engine::bucketOf(tenant(i)) << " weight " << weight;
      if (side == "canary") {
        onCanary.insert(tenant(i));
      }
    }
    for (const auto& t : onCanaryBefore) {
      EXPECT_TRUE(onCanary.count(t)) << t << " left the canary when the weight grew to " << weight;
    }
    // 300 uniformly hashed tenants: the share is within a few points of the weight.
    const double share = 100.0 * static_cast<double>(onCanary.size()) / kTenants;
    EXPECT_NEAR(share, weight, 8.0) << "weight " << weight;
    onCanaryBefore = std::move(onCanary);
  }
}

TEST_F(HaproxyProviderTest, RequestsWithoutTheHeaderSplitByWeight) {
  setWeight(30);
  int canary = 0;
  constexpr int kRequests = 400;
  for (int i = 0; i < kRequests; ++i) {
    const std::string side = get({});
    ASSERT_TRUE(side == "stable" || side == "canary") << side;
    canary += side == "canary" ? 1 : 0;
  }
  // Binomial(400, 0.3): sigma ~ 2.3 points; 10 points is over 4 sigma.
  EXPECT_NEAR(100.0 * canary / kRequests, 30.0, 10.0);
}

TEST_F(HaproxyProviderTest, MatchHeaderGoesToCanaryWhileItHasWeight) {
  setWeight(5);
  int checked = 0;
  for (int i = 0; i < 50; ++i) {
    if (engine::onCanary(tenant(i), 5)) {
      continue;
    }
    ++checked;
    EXPECT_EQ(get({{"X-Tenant-ID", tenant(i)}, {"X-Canary", "always"}}), "canary");
    EXPECT_EQ(get({{"X-Tenant-ID", tenant(i)}, {"X-Canary", "never"}}), "stable");
  }
  EXPECT_GT(checked, 0);
}

TEST_F(HaproxyProviderTest, WeightChangesDropNoRequests) {
  // One keep-alive client keeps sending while the weight moves under it.
  int ok = 0;
  for (int round = 0; round < 5; ++round) {
    for (std::int32_t weight : {0, 10, 25, 50, 100}) {
      setWeight(weight);
      for (int i = 0; i < 10; ++i) {
        const std::string side = tenantSide(tenant(i));
        ASSERT_TRUE(side == "stable" || side == "canary") << side;
        ++ok;
      }
    }
  }
  EXPECT_EQ(ok, 250);
  setWeight(100);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(tenantSide(tenant(i)), "canary");
  }
}

TEST_F(HaproxyProviderTest, MissingMapKeyIsAdded) {
  EXPECT_FALSE(provider->verifyWeight(kOtherRoute).hasValue());
  ASSERT_TRUE(provider->setWeight(kOtherRoute, 100).hasValue());
  EXPECT_EQ(provider->verifyWeight(kOtherRoute).value(), 100);
  EXPECT_EQ(get({{"X-Tenant-ID", "t"}}, "other.example.com"), "canary");
  ASSERT_TRUE(provider->setWeight(kOtherRoute, 0).hasValue());
  EXPECT_EQ(get({{"X-Tenant-ID", "t"}}, "other.example.com:8080"), "stable");
}

TEST_F(HaproxyProviderTest, ExporterShowsPerBackendCounters) {
  setWeight(100);
  ASSERT_EQ(tenantSide("x"), "canary");
  http::client::http_client exporter("http://127.0.0.1:" + std::to_string(stack_->exporterPort));
  auto response = exporter.request(http::methods::GET, "/metrics").get();
  ASSERT_EQ(response.status_code(), http::status_codes::OK);
  const std::string metrics = response.extract_string(true).get();
  for (const char* proxy : {"demo-stable", "demo-canary"}) {
    EXPECT_NE(metrics.find(std::string("haproxy_backend_http_responses_total{proxy=\"") + proxy +
                           "\",code=\"2xx\"}"),
              std::string::npos)
        << proxy;
  }
}

TEST_F(HaproxyProviderTest, RuntimeErrorsAreValues) {
  RuntimeClient closed("ipv4@127.0.0.1:" + std::to_string(freePorts(1)[0]), 500ms);
  EXPECT_FALSE(closed.command("show info").hasValue());
  RuntimeClient bad("not-an-address", 500ms);
  EXPECT_FALSE(bad.command("show info").hasValue());
  EXPECT_FALSE(provider->setWeight(kRoute, -1).hasValue());
  RuntimeClient runtime(stack_->runtimeAddress);
  EXPECT_FALSE(runtime.showMap("/no/such.map").hasValue());
}

}  // namespace
}  // namespace sluice::render::haproxy
