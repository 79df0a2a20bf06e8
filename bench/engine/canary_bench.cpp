// Baselines: BM_BaselineStatusCopy copies the status value (the least any decide() must do, as
// it returns a new status); BM_BaselineConfigText writes the same number of config lines of
// fixed text (the least any renderer must do). main() below reports the ratios against them;
// no absolute target is stated for these. A benchmark whose code path is not the one it names
// (a hold that advances, a render that fails) reports an error, and the binary exits 1.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <sstream>

#include "bench/common/targets.h"
#include "operator/engine/bucket.h"
#include "operator/engine/canary.h"
#include "operator/engine/canary_route.h"
#include "operator/render/haproxy/config.h"

namespace {

using namespace sluice;
using std::chrono::seconds;

const engine::TimePoint kT0{seconds{1'700'000'000}};

api::CanaryRolloutSpec spec() {
  api::CanaryRolloutSpec s;
  s.stable = {"pay-stable", 80};
  s.canary = {"pay-canary", 80};
  s.stepInterval = seconds{60};
  s.analysis.interval = seconds{30};
  s.analysis.metrics = {
      {"error-rate", "q1", {std::nullopt, api::Decimal{10'000, "0.01"}}},
      {"latency-p99", "q2", {std::nullopt, api::Decimal{500'000'000, "500"}}},
  };
  return s;
}

engine::AnalysisResult passing(int s) {
  engine::AnalysisResult r;
  r.measuredAt = kT0 + seconds{s};
  r.requestCount = 1000;
  r.metrics = {{"error-rate", 0.001, ""}, {"latency-p99", 120, ""}};
  return r;
}

// A rollout at step 1 with one analysis recorded: the state most reconciles see.
api::CanaryRolloutStatus midRollout() {
  const auto s = spec();
  engine::CanaryObservation obs{1, "rev", {}, std::nullopt, {}, {}, ""};
  auto status = engine::decide(s, {}, obs, kT0).status;
  obs.analysis = passing(30);
  status = engine::decide(s, status, obs, kT0 + seconds{30}).status;
  obs.analysis = passing(60);
  status = engine::decide(s, status, obs, kT0 + seconds{60}).status;
  return status;
}

// Why `status` is not the state midRollout() promises (Progressing at step 1, analysed at
// t0+60 s), or empty.
std::string notMidRollout(const api::CanaryRolloutStatus& status) {
  if (status.phase != api::CanaryPhase::Progressing || status.currentStep != 1) {
    return "midRollout() is not Progressing at step 1: step " + std::to_string(status.currentStep) +
           ", " + status.message;
  }
  if (status.analysis.lastRunAt.empty()) {
    return "midRollout() recorded no analysis";
  }
  return "";
}

void BM_BaselineStatusCopy(benchmark::State& state) {
  const auto status = midRollout();
  if (auto why = notMidRollout(status); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  for (auto _ : state) {
    api::CanaryRolloutStatus copy = status;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_BaselineStatusCopy);

void BM_DecideHold(benchmark::State& state) {
  const auto s = spec();
  const auto status = midRollout();
  const engine::CanaryObservation obs{1, "rev", {}, passing(60), {}, {}, ""};
  // A hold: nothing new to record, the step not over.
  const auto first = engine::decide(s, status, obs, kT0 + seconds{75});
  if (auto why = notMidRollout(first.status); !why.empty()) {
    state.SkipWithError(("not a hold: " + why).c_str());
    return;
  }
  if (first.status.analysis.lastRunAt != status.analysis.lastRunAt) {
    state.SkipWithError("not a hold: the old analysis was recorded again");
    return;
  }
  for (auto _ : state) {
    auto plan = engine::decide(s, status, obs, kT0 + seconds{75});
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_DecideHold);

void BM_DecideNewAnalysis(benchmark::State& state) {
  const auto s = spec();
  const auto status = midRollout();
  const engine::CanaryObservation obs{1, "rev", {}, passing(90), {}, {}, ""};
  // The new analysis is recorded; the step holds.
  const auto first = engine::decide(s, status, obs, kT0 + seconds{90});
  if (auto why = notMidRollout(first.status); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  if (first.status.analysis.lastRunAt == status.analysis.lastRunAt) {
    state.SkipWithError("the new analysis was not recorded");
    return;
  }
  for (auto _ : state) {
    auto plan = engine::decide(s, status, obs, kT0 + seconds{90});
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_DecideNewAnalysis);

void BM_BucketOf(benchmark::State& state) {
  const std::string tenant = "tenant-123456";
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine::bucketOf(tenant));
  }
}
BENCHMARK(BM_BucketOf);

std::vector<engine::RoutePlan> routes(int count) {
  std::vector<engine::RoutePlan> out;
  for (int i = 0; i < count; ++i) {
    api::CanaryRollout r;
    r.metadata.name = "route-" + std::to_string(i);
    r.metadata.namespace_ = "bench";
    r.spec.route = api::RouteSpec{{}, {"r" + std::to_string(i) + ".example.com"}, "haproxy"};
    r.spec.stickiness = api::Stickiness{"X-Tenant-ID"};
    r.spec.match = {{{{"X-Canary", "always", "Exact"}}}};
    out.push_back(engine::canaryRoutePlan(r, 5, {"bench", "stable", 9000 + i, "127.0.0.1"},
                                          {"bench", "canary", 29000 + i, "127.0.0.1"}));
  }
  return out;
}

render::haproxy::ConfigOptions options() {
  render::haproxy::ConfigOptions o;
  o.frontendPort = 8080;
  o.exporterPort = 8405;
  o.runtimeAddress = "ipv4@127.0.0.1:9999";
  o.weightsMapPath = "/tmp/weights.map";
  return o;
}

void BM_RenderHaproxyConfig(benchmark::State& state) {
  const auto rs = routes(static_cast<int>(state.range(0)));
  const auto o = options();
  std::size_t lines = 0;
  for (auto _ : state) {
    auto cfg = render::haproxy::renderConfig(o, rs);
    if (!cfg) {
      state.SkipWithError(("render failed: " + cfg.error()).c_str());
      break;
    }
    benchmark::DoNotOptimize(cfg);
    lines = static_cast<std::size_t>(std::count(cfg->begin(), cfg->end(), '\n'));
  }
  state.counters["lines"] = static_cast<double>(lines);
}
BENCHMARK(BM_RenderHaproxyConfig)->Arg(1)->Arg(10)->Arg(100);

void BM_BaselineConfigText(benchmark::State& state) {
  // The same line count as BM_RenderHaproxyConfig for this many routes, fixed text.
  const auto rs = routes(static_cast<int>(state.range(0)));
  const auto rendered = render::haproxy::renderConfig(options(), rs);
  if (!rendered) {
    state.SkipWithError(("render failed: " + rendered.error()).c_str());
    return;
  }
  const auto& cfg = *rendered;
  const auto lines = std::count(cfg.begin(), cfg.end(), '\n');
  const std::string line(cfg.size() / static_cast<std::size_t>(lines), 'x');
  for (auto _ : state) {
    std::ostringstream out;
    for (long i = 0; i < lines; ++i) {
      out << line << "\n";
    }
    auto text = out.str();
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_BaselineConfigText)->Arg(1)->Arg(10)->Arg(100);

}  // namespace

int main(int argc, char** argv) {
  sluice::bench::Expectations e;
  for (const char* decide : {"BM_DecideHold", "BM_DecideNewAnalysis"}) {
    e.ratios.push_back({{decide, "", "ns"}, "BM_BaselineStatusCopy"});
  }
  for (const char* routes : {"1", "10", "100"}) {
    e.ratios.push_back({{std::string("BM_RenderHaproxyConfig/") + routes, "", "ns"},
                        std::string("BM_BaselineConfigText/") + routes});
  }
  return sluice::bench::runAndReport(argc, argv, e);
}
