// decideTraffic() on a large policy: 1,000 backends (the most a TrafficPolicy accepts) in three
// regions, three tiers (WeightedResponseTime, Hybrid, CostOptimized) and a Hybrid default rule,
// every metric known, capacities and costs set, a few backends mid-shift. Target: a median
// below 50 µs per decision (median_ns: each call timed on its own, so a preempted iteration on
// a shared machine does not move it).
//
// Baseline: BM_BaselineCopyStates copies the input states and sums the baseline weights, the
// least any decision must do (it returns new states and reads every weight). main() reports
// the ratio of the CPU time per decision against it. A decision that is not the path it names
// (held, in panic, another strategy in force) reports an error, and the binary exits 1.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>
#include <vector>

#include "bench/common/targets.h"
#include "operator/engine/traffic_policy.h"

namespace {

using namespace sluice;
using api::LoadBalancingStrategy;
using std::chrono::seconds;

const engine::TimePoint kT0{seconds{1'700'000'000}};

api::TrafficPolicySpec largeSpec(int backends) {
  const std::vector<std::string> regions = {"eu-west", "us-east", "ap-south"};
  api::TrafficPolicySpec spec;
  spec.strategy = LoadBalancingStrategy::Hybrid;
  spec.preferredRegions = {"eu-west", "us-east"};
  for (int i = 0; i < backends; ++i) {
    api::Backend b;
    b.name = "backend-" + std::to_string(i);
    b.serviceRef.name = b.name;
    b.region = regions[static_cast<std::size_t>(i % 3)];
    b.weight = 1 + i % 10;
    b.capacity.maxRequestsPerSecond = 400 + (i * 37) % 600;
    b.cost.perMillionRequests = api::Decimal{100'000 + (i * 7919) % 2'000'000, ""};
    spec.backends.push_back(std::move(b));
  }
  const std::vector<std::pair<std::string, LoadBalancingStrategy>> tiers = {
      {"premium", LoadBalancingStrategy::WeightedResponseTime},
      {"standard", LoadBalancingStrategy::Hybrid},
      {"free", LoadBalancingStrategy::CostOptimized},
  };
  for (std::size_t t = 0; t < tiers.size(); ++t) {
    api::TrafficTier tier;
    tier.name = tiers[t].first;
    tier.priority = static_cast<std::int32_t>(t + 1);
    tier.strategy = tiers[t].second;
    tier.match.headers = {{"X-Tier", tier.name, "Exact"}};
    spec.tiers.push_back(std::move(tier));
  }
  spec.failover = api::FailoverSpec{};
  return spec;
}

struct Round {
  api::TrafficPolicySpec spec;
  engine::TrafficInputs inputs;
};

// The states as status persists them (spec order), ten backends draining or recovering, and
// an observation in which every metric is known; one in a hundred backends fails.
Round largeRound(int backends) {
  Round r{largeSpec(backends), {}};
  r.inputs.now = kT0 + seconds{3};
  for (int i = 0; i < backends; ++i) {
    engine::BackendState s;
    s.name = r.spec.backends[static_cast<std::size_t>(i)].name;
    if (i % 100 == 7) {
      s.phase = i % 200 == 7 ? engine::BackendPhase::Draining : engine::BackendPhase::Recovering;
      s.step = 3;
      s.stepAt = kT0;
      s.reason = "error rate 0.2 above 0.05";
    }
    r.inputs.states.push_back(std::move(s));
    engine::BackendObservation o;
    o.errorRate = i % 100 == 7 ? 0.2 : 0.001 * (i % 7);
    o.latencyP99Ms = 20.0 + (i * 13) % 300;
    o.requestsPerSecond = 100.0 + (i * 29) % 400;
    o.up = true;
    r.inputs.observation.backends.push_back(o);
  }
  return r;
}

// Why the decision is not the full-work path this benchmark promises, or empty.
std::string notTheWorkload(const engine::TrafficDecision& d) {
  if (d.held) {
    return "the decision was held";
  }
  if (d.panic) {
    return "the decision panicked: " + d.panicReason;
  }
  const std::vector<LoadBalancingStrategy> want = {
      LoadBalancingStrategy::WeightedResponseTime, LoadBalancingStrategy::Hybrid,
      LoadBalancingStrategy::CostOptimized, LoadBalancingStrategy::Hybrid};
  if (d.rules.size() != want.size()) {
    return "expected 4 rules, got " + std::to_string(d.rules.size());
  }
  for (std::size_t r = 0; r < want.size(); ++r) {
    if (d.rules[r].strategy != want[r]) {
      return "rule " + std::to_string(r) + " runs " + api::toString(d.rules[r].strategy);
    }
  }
  return "";
}

// Times every call by itself and reports the median as the counter median_ns.
template <typename F>
void timeEach(benchmark::State& state, F&& call) {
  std::vector<double> ns;
  ns.reserve(1 << 16);
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    call();
    const auto end = std::chrono::steady_clock::now();
    if (ns.size() < ns.capacity()) {
      ns.push_back(std::chrono::duration<double, std::nano>(end - start).count());
    }
  }
  if (ns.empty()) {
    return;
  }
  auto mid = ns.begin() + static_cast<std::ptrdiff_t>(ns.size() / 2);
  std::nth_element(ns.begin(), mid, ns.end());
  state.counters["median_ns"] = *mid;
}

void BM_DecideTraffic(benchmark::State& state) {
  const Round round = largeRound(static_cast<int>(state.range(0)));
  engine::TrafficInputs inputs = round.inputs;
  inputs.spec = &round.spec;
  if (auto why = notTheWorkload(engine::decideTraffic(inputs)); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  timeEach(state, [&] {
    auto decision = engine::decideTraffic(inputs);
    benchmark::DoNotOptimize(decision);
  });
}
BENCHMARK(BM_DecideTraffic)->Arg(1000);

void BM_BaselineCopyStates(benchmark::State& state) {
  const Round round = largeRound(static_cast<int>(state.range(0)));
  timeEach(state, [&] {
    std::vector<engine::BackendState> copy = round.inputs.states;
    std::int64_t total = 0;
    for (const auto& b : round.spec.backends) {
      total += b.weight;
    }
    benchmark::DoNotOptimize(copy);
    benchmark::DoNotOptimize(total);
  });
}
BENCHMARK(BM_BaselineCopyStates)->Arg(1000);

}  // namespace

int main(int argc, char** argv) {
  sluice::bench::Expectations e;
  e.targets.push_back(
      {{"BM_DecideTraffic/1000", "median_ns", "ns"}, sluice::bench::Target::Goal::AtMost, 50'000});
  e.ratios.push_back({{"BM_DecideTraffic/1000", "", "ns"}, "BM_BaselineCopyStates/1000"});
  e.ratios.push_back({{"BM_DecideTraffic/1000", "median_ns", "ns"}, "BM_BaselineCopyStates/1000"});
  return sluice::bench::runAndReport(argc, argv, e);
}
