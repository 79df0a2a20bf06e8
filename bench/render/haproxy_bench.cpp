// A CR change applied in HAProxy: HaproxyProvider::apply() of a weight change for one owner
// among 1,000 (the runtime API reads the map back and sets the entry), measured per call
// against real HAProxy 2.6, with its p99. Baseline: the one `set map` it cannot do without.
// HAProxy runs with a generated config on free 127.0.0.1 ports and is stopped at exit.

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/targets.h"
#include "operator/engine/canary_route.h"
#include "operator/render/haproxy/provider.h"

namespace {

using namespace sluice;
using namespace std::chrono_literals;

constexpr int kOwners = 1000;

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

engine::RoutePlan plan(int i, std::int32_t percent) {
  api::CanaryRollout rollout;
  rollout.metadata.name = "app-" + std::to_string(i);
  rollout.metadata.namespace_ = "bench";
  rollout.spec.route = api::RouteSpec{{}, {"app-" + std::to_string(i) + ".example.com"}, "haproxy"};
  rollout.spec.stickiness = api::Stickiness{"X-Tenant-ID"};
  return engine::canaryRoutePlan(rollout, percent, {"bench", "stable", 9000, "127.0.0.1"},
                                 {"bench", "canary", 9001, "127.0.0.1"});
}

// HAProxy with kOwners routes, driven by one provider.
struct Stack {
  Stack() {
    dir = std::filesystem::temp_directory_path() / ("sluice-hbench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto ports = freePorts(3);
    options.configPath = (dir / "haproxy.cfg").string();
    options.config.frontendPort = ports[0];
    options.config.exporterPort = ports[1];
    options.config.runtimeAddress = "ipv4@127.0.0.1:" + std::to_string(ports[2]);
    options.config.weightsMapPath = (dir / "weights.map").string();
    options.runtimeAddress = "127.0.0.1:" + std::to_string(ports[2]);
    provider = std::make_unique<render::haproxy::HaproxyProvider>(options);
    (void)provider->start();
    // Every owner before HAProxy starts (no master socket: no reloads needed).
    for (int i = 0; i < kOwners; ++i) {
      if (auto applied = provider->apply(plan(i, 5)); !applied) {
        error = applied.error().message;
        return;
      }
    }
    pid = ::fork();
    if (pid == 0) {
      const int fd = ::open((dir / "haproxy.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(SLUICE_HAPROXY_BIN, SLUICE_HAPROXY_BIN, "-db", "-f", options.configPath.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    render::haproxy::RuntimeClient runtime(options.runtimeAddress, 500ms);
    for (int i = 0; i < 250; ++i) {
      if (runtime.command("show info")) {
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
    error = "HAProxy did not start (see " + (dir / "haproxy.log").string() + ")";
  }
  ~Stack() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  render::haproxy::HaproxyProviderOptions options;
  std::unique_ptr<render::haproxy::HaproxyProvider> provider;
  pid_t pid = -1;
  std::string error;
};

Stack& stack() {
  static Stack s;
  return s;
}

void reportP99(benchmark::State& state, std::vector<double>& millis) {
  if (millis.empty()) {
    return;
  }
  std::sort(millis.begin(), millis.end());
  const auto at = static_cast<std::size_t>(0.99 * static_cast<double>(millis.size() - 1));
  state.counters["p99_ms"] = millis[at];
  state.counters["median_ms"] = millis[millis.size() / 2];
}

void BM_HaproxyApplyWeightChange(benchmark::State& state) {
  auto& s = stack();
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    return;
  }
  std::vector<double> millis;
  static std::int32_t percent = 10;  // across runs: every iteration is a change
  for (auto _ : state) {
    percent = percent == 10 ? 25 : 10;
    const auto begin = std::chrono::steady_clock::now();
    auto applied = s.provider->apply(plan(kOwners / 2, percent));
    millis.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
            .count());
    if (!applied || applied->topologyChanged || applied->weightsChanged != 1) {
      static std::string why;
      why = applied ? "a weight change was not exactly one runtime set (topology " +
                          std::to_string(applied->topologyChanged) + ", weights " +
                          std::to_string(applied->weightsChanged) + ")"
                    : applied.error().message;
      state.SkipWithError(why.c_str());
      return;
    }
  }
  reportP99(state, millis);
}
BENCHMARK(BM_HaproxyApplyWeightChange)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_BaselineRuntimeSetMap(benchmark::State& state) {
  auto& s = stack();
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    return;
  }
  render::haproxy::RuntimeClient runtime(s.options.runtimeAddress);
  std::vector<double> millis;
  int value = 0;
  for (auto _ : state) {
    const auto begin = std::chrono::steady_clock::now();
    auto set = runtime.setMapValue(s.options.config.weightsMapPath, "bench-baseline",
                                   std::to_string(++value % 2));
    millis.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
            .count());
    if (!set) {
      state.SkipWithError(set.error().message.c_str());
      return;
    }
  }
  reportP99(state, millis);
}
BENCHMARK(BM_BaselineRuntimeSetMap)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  sluice::bench::Expectations e;
  e.targets.push_back({{"BM_HaproxyApplyWeightChange/real_time", "p99_ms", "ms"},
                       sluice::bench::Target::Goal::AtMost,
                       10.0});
  e.ratios.push_back({{"BM_HaproxyApplyWeightChange/real_time", "median_ms", "ms"},
                      "BM_BaselineRuntimeSetMap/real_time"});
  return sluice::bench::runAndReport(argc, argv, e);
}
