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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "operator/engine/bucket.h"
#include "operator/engine/canary_route.h"
#include "operator/render/haproxy/config.h"
#include "operator/render/haproxy/provider.h"
#include "operator/render/haproxy/runtime_client.h"

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

// haproxy in the foreground (-db), stopped by PID. Started with umask 0, as in a container
// that sets none: whatever mode its sockets get comes from their own settings (the master CLI
// with mode 600 as e2e/stack/stack.sh starts it, the runtime API from haproxy.cfg).
class HaproxyProcess {
 public:
  HaproxyProcess(const std::filesystem::path& config, const std::filesystem::path& log,
                 const std::filesystem::path& master) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::umask(0);
      const std::string masterCli = master.string() + ",mode,600";
      ::execl(SLUICE_HAPROXY_BIN, SLUICE_HAPROXY_BIN, "-W", "-db", "-S", masterCli.c_str(), "-f",
              config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  pid_t pid() const { return pid_; }
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

// A canary plan as the canary controller builds it: sticky by X-Tenant-ID, X-Canary: always
// to the canary while it has weight, both sides local backends (as ExternalName Services).
engine::RoutePlan canaryPlan(const std::string& name, std::int32_t percent, int stablePort,
                             int canaryPort, std::vector<std::string> hostnames = {}) {
  api::CanaryRollout rollout;
  rollout.metadata.name = name;
  rollout.metadata.namespace_ = "test";
  rollout.metadata.uid = "uid-" + name;
  rollout.spec.route = api::RouteSpec{{}, std::move(hostnames), "haproxy"};
  rollout.spec.stickiness = api::Stickiness{"X-Tenant-ID"};
  rollout.spec.match = {{{{"X-Canary", "always", "Exact"}}}};
  return engine::canaryRoutePlan(rollout, percent, {"test", "stable", stablePort, "127.0.0.1"},
                                 {"test", "canary", canaryPort, "127.0.0.1"});
}

std::int32_t canaryWeightOf(const engine::RoutePlan& plan) {
  return plan.routes.at(0).rules.back().destinations.at(1).weight;
}

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
      const auto ports = freePorts(6);
      frontendPort = ports[0];
      exporterPort = ports[1];
      stablePort = ports[3];
      canaryPort = ports[4];
      stable = std::make_unique<Backend>("stable", stablePort);
      canary = std::make_unique<Backend>("canary", canaryPort);
      options.configPath = (dir / "haproxy.cfg").string();
      options.config.frontendPort = frontendPort;
      options.config.exporterPort = exporterPort;
      // The runtime API on a unix socket, as the operator's default wiring has it.
      options.config.runtimeAddress = (dir / "admin.sock").string();
      options.config.weightsMapPath = (dir / "weights.map").string();
      options.runtimeAddress = (dir / "admin.sock").string();
      options.masterSocket = (dir / "master.sock").string();
      options.checkBinary = SLUICE_HAPROXY_BIN;
      options.config.peersBind = "127.0.0.1:" + std::to_string(ports[5]);
      provider = std::make_unique<HaproxyProvider>(options);
      if (auto started = provider->start(); !started) {
        error = started.error();
        return;
      }
      // HAProxy starts on the config written before any owner exists.
      haproxy = std::make_unique<HaproxyProcess>(dir / "haproxy.cfg", dir / "haproxy.log",
                                                 dir / "master.sock");
      RuntimeClient runtime(options.runtimeAddress, 500ms);
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
    int stablePort = 0;
    int canaryPort = 0;
    HaproxyProviderOptions options;
    std::unique_ptr<HaproxyProvider> provider;
    std::unique_ptr<Backend> stable;
    std::unique_ptr<Backend> canary;
    std::unique_ptr<HaproxyProcess> haproxy;
    std::string error;
  };

  void SetUp() override {
    ASSERT_TRUE(stack_->error.empty()) << stack_->error;
    client = std::make_unique<http::client::http_client>("http://127.0.0.1:" +
                                                         std::to_string(stack_->frontendPort));
  }

  HaproxyProvider& provider() { return *stack_->provider; }
  engine::RoutePlan plan(std::int32_t percent, const std::string& name = "demo",
                         std::vector<std::string> hostnames = {}) {
    return canaryPlan(name, percent, stack_->stablePort, stack_->canaryPort, std::move(hostnames));
  }

  // Applies the plan, then waits until HAProxy runs it (a reload takes effect in the new
  // worker a moment after the master answers).
  void apply(const engine::RoutePlan& p) {
    // HAProxy's master socket opens a moment after the worker serves: a reload that finds it
    // closed stays pending and the next apply retries it, as the operator's queue would.
    const auto deadline = std::chrono::steady_clock::now() +
                          20s;  // a reload may wait for the peers resync (12 s at most)
    auto applied = provider().apply(p);
    while (!applied.hasValue() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      applied = provider().apply(p);
    }
    ASSERT_TRUE(applied.hasValue()) << applied.error().message;
    while (true) {
      auto live = provider().verify(p.owner);
      if (live.hasValue() && live->has_value() && canaryWeightOf(**live) == canaryWeightOf(p)) {
        return;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << (live.hasValue() ? std::string("weight differs") : live.error().message);
      std::this_thread::sleep_for(20ms);
    }
  }
  void setWeight(std::int32_t percent) { apply(plan(percent)); }

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
  setWeight(0);
  // A keep-alive client sends without pause on its own thread while the weight moves.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> canarySeen{0};
  std::vector<std::string> failures;
  std::thread load([&] {
    http::client::http_client c("http://127.0.0.1:" + std::to_string(stack_->frontendPort));
    while (!stop.load()) {
      try {
        auto response = c.request(http::methods::GET, "/").get();
        const auto body = response.extract_string(true).get();
        if (response.status_code() == http::status_codes::OK &&
            (body == "stable" || body == "canary")) {
          ++ok;
          canarySeen += body == "canary" ? 1 : 0;
        } else {
          failures.push_back(std::to_string(response.status_code()) + " " + body);
        }
      } catch (const std::exception& e) {
        failures.push_back(e.what());
      }
    }
  });
  const auto before = provider().stats();
  for (int round = 0; round < 5; ++round) {
    for (std::int32_t weight : {10, 25, 50, 100, 0}) {
      setWeight(weight);
      std::this_thread::sleep_for(20ms);
    }
  }
  stop = true;
  load.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GT(ok.load(), 100);
  EXPECT_GT(canarySeen.load(), 0);
  // Weight changes are runtime API calls: no reload.
  EXPECT_EQ(provider().stats().reloads, before.reloads);
  EXPECT_EQ(provider().stats().configWrites, before.configWrites);
}

TEST_F(HaproxyProviderTest, NewOwnerReloadsOnceAndWritesTheMapOnce) {
  setWeight(5);
  const auto before = provider().stats();
  apply(plan(25, "other", {"other.example.com"}));
  const auto after = provider().stats();
  EXPECT_EQ(after.reloads, before.reloads + 1);
  EXPECT_EQ(after.configWrites, before.configWrites + 1);
  EXPECT_EQ(after.mapWrites, before.mapWrites + 1);
  EXPECT_EQ(after.mapSets, before.mapSets);  // the reloaded HAProxy read the weight from the file
  // The other owner routes by its hostname; the default route (demo) is untouched.
  int canary = 0;
  for (int i = 0; i < 200; ++i) {
    canary += get({{"X-Tenant-ID", tenant(i)}}, "other.example.com:8080") == "canary" ? 1 : 0;
  }
  EXPECT_NEAR(canary, 50, 25);
  EXPECT_EQ(canaryWeightOf(**provider().verify(plan(5).owner)), engine::weightFromPercent(5));
  // Removing it leaves demo serving, and its hostname falls to the default route.
  auto removed = provider().remove(plan(0, "other").owner);
  for (int i = 0; i < 100 && !removed.hasValue(); ++i) {
    std::this_thread::sleep_for(50ms);
    removed = provider().remove(plan(0, "other").owner);
  }
  ASSERT_TRUE(removed.hasValue()) << removed.error().message;
  EXPECT_FALSE(provider().verify(plan(0, "other").owner)->has_value());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline &&
         RuntimeClient(stack_->options.runtimeAddress)
                 .showMap(stack_->options.config.weightsMapPath)
                 ->count("canaryrollout:test:other:other:default:canary") != 0) {
    std::this_thread::sleep_for(20ms);
  }
  const std::string side = get({{"X-Tenant-ID", "t"}}, "other.example.com");
  EXPECT_TRUE(side == "stable" || side == "canary") << side;
}

TEST_F(HaproxyProviderTest, AHostnameAnotherOwnerRoutesIsRefusedAndNotKept) {
  apply(plan(5, "first", {"shared.example.com"}));
  auto clash = provider().apply(plan(5, "second", {"shared.example.com"}));
  ASSERT_FALSE(clash.hasValue());
  EXPECT_NE(clash.error().message.find("canaryrollout:test:first"), std::string::npos)
      << clash.error().message;
  EXPECT_FALSE(provider().verify(plan(0, "second").owner)->has_value());
  for (const auto& owner : provider().owners("CanaryRollout")) {
    EXPECT_NE(owner.name, "second");
  }
  // A reload right after the previous one can find the master re-executing: retried.
  auto removed = provider().remove(plan(0, "first").owner);
  for (int i = 0; i < 100 && !removed.hasValue(); ++i) {
    std::this_thread::sleep_for(50ms);
    removed = provider().remove(plan(0, "first").owner);
  }
  ASSERT_TRUE(removed.hasValue()) << removed.error().message;
}

// Live traffic: a wildcard owner takes every name under its suffix (ports and case aside),
// an exact name of another owner under it wins, and the bare suffix is not the wildcard's.
TEST_F(HaproxyProviderTest, WildcardHostnamesRouteBySuffixAndExactNamesWin) {
  setWeight(0);  // the default route (no hostnames): everything to stable
  apply(plan(100, "wild", {"*.wild.example.com"}));
  apply(plan(0, "exact", {"api.wild.example.com"}));
  EXPECT_EQ(get({}, "x.wild.example.com"), "canary");
  EXPECT_EQ(get({}, "a.b.wild.example.com:8080"), "canary");
  EXPECT_EQ(get({}, "X.Wild.Example.COM"), "canary");
  EXPECT_EQ(get({}, "api.wild.example.com"), "stable");
  EXPECT_EQ(get({}, "api.wild.example.com:80"), "stable");
  EXPECT_EQ(get({}, "wild.example.com"), "stable") << "the bare suffix is the default route's";
  EXPECT_EQ(get({}, "notwild.example.com"), "stable");
  for (const char* name : {"wild", "exact"}) {
    auto removed = provider().remove(plan(0, name).owner);
    for (int i = 0; i < 100 && !removed.hasValue(); ++i) {
      std::this_thread::sleep_for(50ms);
      removed = provider().remove(plan(0, name).owner);
    }
    ASSERT_TRUE(removed.hasValue()) << removed.error().message;
  }
}

TEST_F(HaproxyProviderTest, RestartedProviderKeepsEveryOwnerAndDoesNotReload) {
  setWeight(50);
  // A second provider on the same files, as after an operator restart.
  HaproxyProvider restarted(stack_->options);
  ASSERT_TRUE(restarted.start().hasValue());
  EXPECT_EQ(restarted.owners("CanaryRollout").size(), 1U);
  EXPECT_EQ(restarted.stats().configWrites, 0);
  auto applied = restarted.apply(plan(50));
  ASSERT_TRUE(applied.hasValue()) << applied.error().message;
  EXPECT_FALSE(applied->topologyChanged);
  EXPECT_EQ(restarted.stats().reloads, 0);
  EXPECT_EQ(restarted.stats().mapSets, 0);
  // Weights HAProxy lost (changed behind our back) are put back by the next apply.
  RuntimeClient(stack_->options.runtimeAddress)
      .setMapValue(stack_->options.config.weightsMapPath,
                   "canaryrollout:test:demo:demo:default:canary", "0");
  applied = restarted.apply(plan(50));
  ASSERT_TRUE(applied.hasValue());
  EXPECT_EQ(applied->weightsChanged, 1);
  EXPECT_EQ(canaryWeightOf(**restarted.verify(plan(50).owner)), engine::weightFromPercent(50));
}

// Resilience and queue classes are topology: the state file must carry them, or a restarted
// provider would see every such owner changed and reload HAProxy.
TEST_F(HaproxyProviderTest, ResilienceAndQueueClassesSurviveARestartWithoutAReload) {
  auto resilient = plan(50);
  resilient.routes[0].resilience =
      engine::Resilience{"LeastRequest", engine::HealthCheck{"/healthz", 1s, 1, 2}, 5, 64};
  resilient.routes[0].rules[0].queueClass = 1;
  apply(resilient);
  // HAProxy runs it: the checks pass (the backends answer 200) and requests flow.
  EXPECT_EQ(get({{"X-Canary", "always"}}), "canary");
  HaproxyProvider restarted(stack_->options);
  ASSERT_TRUE(restarted.start().hasValue());
  EXPECT_EQ(restarted.stats().configWrites, 0);
  auto live = restarted.verify(resilient.owner);
  ASSERT_TRUE(live.hasValue() && live->has_value());
  EXPECT_EQ(**live, resilient);
  auto applied = restarted.apply(resilient);
  ASSERT_TRUE(applied.hasValue()) << applied.error().message;
  EXPECT_FALSE(applied->topologyChanged);
  EXPECT_EQ(restarted.stats().reloads, 0);
  EXPECT_EQ(restarted.stats().configWrites, 0);
  // Back to the plain plan the other tests start from.
  setWeight(50);
}

// A customer's counters are its own, answered 429 with the headers past its burst, and kept
// through a reload (another owner's new route) by the local peer, and through an operator
// restart (the state file keeps the limits: no reload, no reset).
TEST_F(HaproxyProviderTest, RateLimitsCountPerCustomerAndSurviveAReloadAndARestart) {
  auto limited = plan(0);
  engine::RateLimits limits;
  limits.source = "TierLimit/test/demo";
  limits.tierHeader = "X-Tier";
  limits.identityHeader = "X-Customer-ID";
  limits.defaultTier = "free";
  limits.tiers = {{"premium", 1000, 2000, 100, std::nullopt, 1}, {"free", 1, 5, 5, 8, 3}};
  limited.routes[0].rateLimits = limits;
  apply(limited);
  std::map<std::string, int> statuses;
  http::http_response last;
  const auto send = [&](const std::string& customer, const std::string& tier = "") {
    http::http_request request(http::methods::GET);
    // A new connection each time: one kept alive would stay with the worker before a reload.
    request.headers().add("Connection", "close");
    request.headers().add("X-Customer-ID", customer);
    if (!tier.empty()) {
      request.headers().add("X-Tier", tier);
    }
    last = client->request(request).get();
    return last.status_code();
  };
  while (send("carol") != 200 || last.headers()["X-RateLimit-Limit"].empty()) {
    std::this_thread::sleep_for(20ms);  // until the new worker answers
  }
  // A burst of 5 passes, the sixth is refused with its headers.
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(send("alice"), 200) << i;
  }
  EXPECT_EQ(last.headers()["X-RateLimit-Limit"], "5");
  EXPECT_EQ(last.headers()["X-RateLimit-Remaining"], "0");
  ASSERT_EQ(send("alice"), 429);
  EXPECT_EQ(last.headers()["Retry-After"], "1");
  EXPECT_EQ(last.headers()["X-RateLimit-Limit"], "5");
  EXPECT_EQ(last.headers()["X-RateLimit-Remaining"], "0");
  EXPECT_EQ(last.headers()["X-RateLimit-Reset"], "5");
  // Another customer, and another tier, are not limited by alice's counters.
  EXPECT_EQ(send("bob"), 200);
  EXPECT_EQ(last.headers()["X-RateLimit-Remaining"], "4");
  EXPECT_EQ(send("alice", "premium"), 200);
  EXPECT_EQ(last.headers()["X-RateLimit-Limit"], "2000");
  // HAProxy counts each tier's requests and refusals; the provider reads them back.
  auto counts = provider().rateLimitCounts(limited.owner);
  ASSERT_TRUE(counts.hasValue()) << counts.error().message;
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].tier, "free");
  EXPECT_GE((*counts)[0].requests, 8u);  // carol's (at least one), alice's six, bob's
  EXPECT_EQ((*counts)[0].rejected, 1u);
  EXPECT_EQ((*counts)[1], (TierCounts{"premium", 1, 0}));
  EXPECT_TRUE(provider().rateLimitCounts(plan(0, "nobody").owner)->empty());

  // A reload (a new owner) keeps alice's day count: the old worker hands its tables to the
  // new one through the local peer. (Rates restart: their clock is the worker's own.)
  const int reloads = provider().stats().reloads;
  apply(plan(10, "other", {"other.example.com"}));
  EXPECT_EQ(provider().stats().reloads, reloads + 1);
  RuntimeClient runtime(stack_->options.runtimeAddress);
  const auto dayCount = [&] {
    auto table =
        runtime.command("show table " + backendName(limited.owner, limited.routes[0], "daily"));
    const auto at = table ? table->find(":free:alice ") : std::string::npos;
    return at == std::string::npos ? -1 : std::stoi(table->substr(table->find("gpc0=", at) + 5));
  };
  int count = -1;
  for (int i = 0; i < 50 && count < 5; ++i) {
    std::this_thread::sleep_for(100ms);
    count = dayCount();
  }
  EXPECT_GE(count, 5);
  // The daily quota (8) ends it: 429 with Retry-After until midnight UTC.
  int accepted = count;
  for (int i = 0; i < 40 && last.status_code() != 429; ++i) {
    if (send("alice") == 200) {
      ++accepted;
    } else if (last.headers()["X-RateLimit-Limit"] == "5") {  // the rate window: wait
      last = http::http_response(200);
      std::this_thread::sleep_for(1s);
    }
  }
  ASSERT_EQ(last.status_code(), 429);
  EXPECT_EQ(accepted, 8);
  EXPECT_EQ(last.headers()["X-RateLimit-Limit"], "8");
  EXPECT_EQ(last.headers()["X-RateLimit-Remaining"], "0");
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const int retryAfter = std::stoi(last.headers()["Retry-After"]);
  EXPECT_NEAR(retryAfter, 86400 - now % 86400, 2);
  EXPECT_EQ(last.headers()["X-RateLimit-Reset"], last.headers()["Retry-After"]);

  // A restarted operator reads the limits back from its state file: no write, no reload.
  HaproxyProvider restarted(stack_->options);
  ASSERT_TRUE(restarted.start().hasValue());
  EXPECT_EQ(restarted.stats().configWrites, 0);
  auto live = restarted.verify(limited.owner);
  ASSERT_TRUE(live.hasValue() && live->has_value());
  EXPECT_EQ((**live).routes[0].rateLimits, limited.routes[0].rateLimits);
  ASSERT_TRUE(provider().remove(plan(10, "other", {"other.example.com"}).owner).hasValue());
  setWeight(50);
}

TEST_F(HaproxyProviderTest, ExporterShowsPerBackendCounters) {
  setWeight(100);
  ASSERT_EQ(tenantSide("x"), "canary");
  http::client::http_client exporter("http://127.0.0.1:" + std::to_string(stack_->exporterPort));
  auto response = exporter.request(http::methods::GET, "/metrics").get();
  ASSERT_EQ(response.status_code(), http::status_codes::OK);
  const std::string metrics = response.extract_string(true).get();
  const auto owner = plan(0).owner;
  // The query the provider gives the canary analysis names the same proxy the exporter does.
  const auto query = provider().requestCountQuery(owner, "demo", "canary");
  for (const char* side : {"stable", "canary"}) {
    engine::Route route;
    route.name = "demo";
    const std::string proxy = backendName(owner, route, side);
    EXPECT_NE(
        metrics.find("haproxy_backend_http_responses_total{proxy=\"" + proxy + "\",code=\"2xx\"}"),
        std::string::npos)
        << proxy;
  }
  EXPECT_NE(query.find("proxy=\"canaryrollout:test:demo:demo:canary\""), std::string::npos)
      << query;
}

TEST_F(HaproxyProviderTest, RuntimeErrorsAreValues) {
  RuntimeClient closed("ipv4@127.0.0.1:" + std::to_string(freePorts(1)[0]), 500ms);
  EXPECT_FALSE(closed.command("show info").hasValue());
  RuntimeClient bad("not-an-address", 500ms);
  EXPECT_FALSE(bad.command("show info").hasValue());
  RuntimeClient runtime(stack_->options.runtimeAddress);
  EXPECT_FALSE(runtime.showMap("/no/such.map").hasValue());
  // A weight change with the runtime API gone is an error naming the address.
  auto options = stack_->options;
  options.configPath = (stack_->dir / "unreachable.cfg").string();
  options.config.weightsMapPath = (stack_->dir / "unreachable.map").string();
  options.runtimeAddress = "127.0.0.1:" + std::to_string(freePorts(1)[0]);
  options.masterSocket.clear();
  HaproxyProvider unreachable(options);
  ASSERT_TRUE(unreachable.start().hasValue());
  ASSERT_TRUE(unreachable.apply(plan(5)).hasValue());  // topology: files only
  auto moved = unreachable.apply(plan(10));
  ASSERT_FALSE(moved.hasValue());
  EXPECT_NE(moved.error().message.find(options.runtimeAddress), std::string::npos)
      << moved.error().message;
  // The intent is in the map file, for when HAProxy is back.
  std::ifstream map(options.config.weightsMapPath);
  const std::string content((std::istreambuf_iterator<char>(map)), {});
  EXPECT_NE(content.find("default:canary 100000"), std::string::npos) << content;
}

// The runtime API and the master CLI both run commands at admin level: only HAProxy's own user
// (the operator's) may connect, even though HAProxy runs with umask 0 here.
TEST_F(HaproxyProviderTest, RuntimeAndMasterSocketsAreOwnerOnly) {
  std::ifstream status("/proc/" + std::to_string(stack_->haproxy->pid()) + "/status");
  std::string line;
  std::string umask;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      umask = line.substr(line.find_first_not_of(" \t", 6));
    }
  }
  EXPECT_EQ(umask, "0000") << "the modes below must come from HAProxy's settings";
  for (const char* name : {"admin.sock", "master.sock"}) {
    struct stat st {};
    ASSERT_EQ(::stat((stack_->dir / name).c_str(), &st), 0) << name;
    EXPECT_TRUE(S_ISSOCK(st.st_mode)) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600U) << name << " has mode " << std::oct << (st.st_mode & 0777);
    EXPECT_EQ(st.st_uid, ::getuid()) << name;
  }
  EXPECT_TRUE(RuntimeClient(stack_->options.runtimeAddress).command("show info").hasValue());
}

// A master socket every local user may write to hands them HAProxy: the provider does not
// reload through it, and says how to start HAProxy instead.
TEST_F(HaproxyProviderTest, AWorldWritableMasterSocketIsRefused) {
  setWeight(5);
  const auto master = stack_->dir / "master.sock";
  // A master that re-executes for a reload binds its socket anew (mode 600 again): wait until
  // it answers, so the mode set below is the one the next reload finds.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!RuntimeClient(master.string(), 500ms).command("show proc").hasValue() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(::chmod(master.c_str(), 0777), 0);
  auto refused = provider().apply(plan(5, "open", {"open.example.com"}));
  ::chmod(master.c_str(), 0600);
  ASSERT_FALSE(refused.hasValue());
  EXPECT_NE(refused.error().message.find("writable by every local user (mode 777)"),
            std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find(",mode,600"), std::string::npos);
  // Owner-only again: the pending reload goes through.
  apply(plan(5, "open", {"open.example.com"}));
  EXPECT_EQ(get({{"X-Tenant-ID", "t"}, {"X-Canary", "always"}}, "open.example.com"), "canary");
  auto removed = provider().remove(plan(0, "open").owner);
  for (int i = 0; i < 100 && !removed.hasValue(); ++i) {
    std::this_thread::sleep_for(50ms);
    removed = provider().remove(plan(0, "open").owner);
  }
  ASSERT_TRUE(removed.hasValue()) << removed.error().message;
}

// A config HAProxy itself would refuse (here a regular expression PCRE cannot compile, which
// nothing before HAProxy checks) is refused for its owner with HAProxy's reason, and never
// written: the other owners keep reloading.
TEST_F(HaproxyProviderTest, AConfigHaproxyRefusesIsRefusedForItsOwnerOnly) {
  setWeight(5);
  auto bad = plan(5, "badregex", {"badregex.example.com"});
  bad.routes[0].rules[0].matches[0].headers[0] = {"X-Canary", "(unclosed", "RegularExpression"};
  const auto before = provider().stats();
  auto refused = provider().apply(bad);
  ASSERT_FALSE(refused.hasValue());
  EXPECT_NE(refused.error().message.find("HAProxy refuses the config"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("(unclosed"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(provider().stats().configWrites, before.configWrites);
  EXPECT_FALSE(provider().verify(bad.owner)->has_value());
  std::ifstream cfg(stack_->options.configPath);
  const std::string written((std::istreambuf_iterator<char>(cfg)), {});
  EXPECT_EQ(written.find("badregex"), std::string::npos);
  // Another owner's topology change still reloads.
  apply(plan(25, "fine", {"fine.example.com"}));
  EXPECT_EQ(get({{"X-Tenant-ID", "t"}, {"X-Canary", "always"}}, "fine.example.com"), "canary");
  auto removed = provider().remove(plan(0, "fine").owner);
  for (int i = 0; i < 100 && !removed.hasValue(); ++i) {
    std::this_thread::sleep_for(50ms);
    removed = provider().remove(plan(0, "fine").owner);
  }
  ASSERT_TRUE(removed.hasValue()) << removed.error().message;
}

// Free-form values with every character that means something in haproxy.cfg match exactly
// themselves on the wire, and a response header carries its value as written (HAProxy reads
// set-header values as log-format: "%[src]" must not become the client address).
TEST_F(HaproxyProviderTest, HostileValuesMatchAndAnswerExactlyThemselves) {
  const std::string hostile = R"(o'brien "q" # x \r\n %[src] %b ${HOME} } or { -m reg .*)";
  api::CanaryRollout rollout;
  rollout.metadata.name = "demo";
  rollout.metadata.namespace_ = "test";
  rollout.metadata.uid = "uid-demo";
  rollout.spec.route = api::RouteSpec{{}, {}, "haproxy"};
  rollout.spec.stickiness = api::Stickiness{"X-Tenant-ID"};
  rollout.spec.match = {{{{"X-Canary", hostile, "Exact"}}}};
  rollout.spec.tenants = api::TenantOverrides{{hostile + " tenant"}, {}};
  rollout.status.canaryRevision = hostile;
  const auto hostilePlan =
      engine::canaryRoutePlan(rollout, 5, {"test", "stable", stack_->stablePort, "127.0.0.1"},
                              {"test", "canary", stack_->canaryPort, "127.0.0.1"});
  apply(hostilePlan);
  const auto ask = [&](const std::string& name, const std::string& value) {
    http::http_request request(http::methods::GET);
    request.headers().add(name, value);
    auto response = client->request(request).get();
    std::string revision;
    if (auto it = response.headers().find("X-Sluice-Canary-Revision");
        it != response.headers().end()) {
      revision = it->second;
    }
    return std::make_pair(response.extract_string(true).get(), revision);
  };
  int stable = 0;
  for (int i = 0; i < 20; ++i) {
    const auto [side, revision] = ask("X-Canary", hostile);
    EXPECT_EQ(side, "canary");
    EXPECT_EQ(revision, hostile);
    // A tenant in spec.tenants.canary is on the canary whatever its bucket.
    EXPECT_EQ(ask("X-Tenant-ID", hostile + " tenant").first, "canary");
    // Parts of the value, or what an injected word would have matched, are not the value.
    for (const std::string& near : {std::string("o"), std::string("o'brien"), hostile + "x",
                                    std::string("always"), std::string("q")}) {
      stable += ask("X-Canary", near).first == "stable" ? 1 : 0;
    }
  }
  // At 5 % the random bucket sends a few of the others to the canary, never most.
  EXPECT_GT(stable, 80);
  setWeight(5);  // the plain plan again for the other tests
}

// A hung HAProxy (SIGSTOPped: its socket still listens but nothing accepts) times out at the
// answer while the listen backlog has room and at the connect once it is full. Both are the same
// error, so a status reporting it is written once, not again when the backlog fills.
TEST(RuntimeClientTest, HungHaproxyIsOneErrorWhetherTheConnectOrTheAnswerTimesOut) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  ASSERT_EQ(::listen(listener, 0), 0);  // never accepted
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  RuntimeClient hung(address, 200ms);
  std::set<std::string> messages;
  for (int i = 0; i < 6; ++i) {  // the first fill the backlog, the next time out connecting
    auto answer = hung.command("show info");
    ASSERT_FALSE(answer.hasValue());
    EXPECT_TRUE(answer.error().timedOut) << answer.error().message;
    messages.insert(answer.error().message);
  }
  ::close(listener);
  EXPECT_EQ(messages, std::set<std::string>{address + ": no answer within 200ms"});
  // Gone is not hung.
  auto refused = hung.command("show info");
  ASSERT_FALSE(refused.hasValue());
  EXPECT_FALSE(refused.error().timedOut);
}

// The same over a unix socket (the runtime API's default): once the backlog is full the kernel
// refuses a non-blocking connect with EAGAIN at once. Found by e2e.chaos.haproxy after the
// runtime API moved to a unix socket: the message changed mid-outage (a second status write)
// and retries came at the queue's backoff instead of after the timeout.
TEST(RuntimeClientTest, HungHaproxyOnAUnixSocketIsTheSameTimeout) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sluice-hung-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "admin.sock").string();
  const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 0), 0);  // never accepted
  RuntimeClient hung(path, 200ms);
  std::set<std::string> messages;
  for (int i = 0; i < 6; ++i) {  // the first fill the backlog, the next find it full
    const auto start = std::chrono::steady_clock::now();
    auto answer = hung.command("show info");
    ASSERT_FALSE(answer.hasValue());
    EXPECT_TRUE(answer.error().timedOut) << answer.error().message;
    EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms) << answer.error().message;
    messages.insert(answer.error().message);
  }
  ::close(listener);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(messages, std::set<std::string>{path + ": no answer within 200ms"});
}

}  // namespace
}  // namespace sluice::render::haproxy
