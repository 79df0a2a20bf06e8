#include "bench/common/targets.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string_view>

namespace sluice::bench {
namespace {

// What the runs of one benchmark measured, averaged over repetitions.
struct Measured {
  int runs = 0;
  double timeNs = 0;
  std::map<std::string, double> counters;
  std::string error;
};

// The console table as usual, and every run kept for the summary.
class CollectingReporter final : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration) {
        continue;  // mean/median/stddev of repetitions: the repetitions themselves are here
      }
      Measured& m = measured_[run.benchmark_name()];
      if (run.error_occurred) {
        m.error = run.error_message.empty() ? "error" : run.error_message;
        continue;
      }
      const double ns =
          run.GetAdjustedCPUTime() * 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
      m.timeNs += (ns - m.timeNs) / (m.runs + 1);
      for (const auto& [name, counter] : run.counters) {
        double& avg = m.counters[name];
        avg += (counter.value - avg) / (m.runs + 1);
      }
      ++m.runs;
    }
  }

  const std::map<std::string, Measured>& measured() const { return measured_; }

 private:
  std::map<std::string, Measured> measured_;
};

std::string number(double v) {
  char buf[64];
  if (v != 0 && (v >= 1e7 || v < 0.01)) {
    std::snprintf(buf, sizeof(buf), "%.3g", v);
  } else {
    std::snprintf(buf, sizeof(buf), v >= 100 ? "%.0f" : "%.3g", v);
  }
  return buf;
}

class Summary {
 public:
  Summary(const std::map<std::string, Measured>& measured, bool filtered)
      : measured_(measured), filtered_(filtered) {}

  // The figure's value, or nullopt after printing why there is none (and noting a failure
  // where that means a broken benchmark).
  std::optional<double> value(const std::string& benchmark, const std::string& counter,
                              const std::string& line) {
    auto it = measured_.find(benchmark);
    if (it == measured_.end()) {
      std::printf("%s: not run%s\n", line.c_str(),
                  filtered_ ? " (filtered out)" : " -- no such benchmark ran: BROKEN");
      broken_ = broken_ || !filtered_;
      return std::nullopt;
    }
    const Measured& m = it->second;
    if (!m.error.empty()) {
      std::printf("%s: benchmark failed: %s\n", line.c_str(), m.error.c_str());
      return std::nullopt;  // counted as broken with the run's error
    }
    if (counter.empty()) {
      return m.timeNs;
    }
    auto c = m.counters.find(counter);
    if (c == m.counters.end()) {
      std::printf("%s: the benchmark reports no counter %s: BROKEN\n", line.c_str(),
                  counter.c_str());
      broken_ = true;
      return std::nullopt;
    }
    return c->second;
  }

  void target(const Target& t) {
    const auto& f = t.figure;
    const std::string what = f.benchmark + " " + (f.counter.empty() ? "cpu time" : f.counter);
    const bool atLeast = t.goal == Target::Goal::AtLeast;
    const std::string goal =
        std::string("target ") + (atLeast ? ">= " : "<= ") + number(t.value) + " " + f.unit;
    auto v = value(f.benchmark, f.counter, what + " (" + goal + ")");
    if (!v) {
      return;
    }
    const bool met = atLeast ? *v >= t.value : *v <= t.value;
    std::printf("%s: %s %s, %s: %s\n", what.c_str(), number(*v).c_str(), f.unit.c_str(),
                goal.c_str(), met ? "met" : "missed");
  }

  void ratio(const Ratio& r) {
    const auto& f = r.figure;
    const std::string what = f.benchmark + " " + (f.counter.empty() ? "cpu time" : f.counter);
    const std::string line = what + " vs " + r.baseline;
    auto v = value(f.benchmark, f.counter, line);
    if (!v) {
      return;
    }
    auto base = value(r.baseline, f.counter, line);
    if (!base) {
      return;
    }
    if (*base <= 0) {
      std::printf("%s: baseline is %s: BROKEN\n", line.c_str(), number(*base).c_str());
      broken_ = true;
      return;
    }
    std::printf("%s: %s %s = %.2fx %s (%s %s)\n", what.c_str(), number(*v).c_str(), f.unit.c_str(),
                *v / *base, r.baseline.c_str(), number(*base).c_str(), f.unit.c_str());
  }

  bool broken() const { return broken_; }

 private:
  const std::map<std::string, Measured>& measured_;
  bool filtered_;
  bool broken_ = false;
};

}  // namespace

int runAndReport(int argc, char** argv, const Expectations& expectations) {
  bool filtered = false;
  for (int i = 1; i < argc; ++i) {
    filtered = filtered || std::string_view(argv[i]).starts_with("--benchmark_filter");
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::cout.flush();

  const char* smoke = std::getenv("SLUICE_BENCH_SMOKE");
  const bool smokeMode = smoke != nullptr && std::strcmp(smoke, "1") == 0;
  Summary summary(reporter.measured(), filtered);
  if (expectations.targets.empty()) {
    std::printf("\n== targets: none stated for these benchmarks\n");
  } else {
    std::printf("\n== targets%s\n",
                smokeMode ? " (smoke mode: a few iterations, the figures mean little)" : "");
    for (const auto& t : expectations.targets) {
      summary.target(t);
    }
  }
  if (!expectations.ratios.empty()) {
    std::printf("\n== ratios against baselines measured in this run\n");
    for (const auto& r : expectations.ratios) {
      summary.ratio(r);
    }
  }
  int failed = 0;
  for (const auto& [name, m] : reporter.measured()) {
    if (!m.error.empty()) {
      if (failed++ == 0) {
        std::printf("\n== broken benchmarks\n");
      }
      std::printf("%s: %s\n", name.c_str(), m.error.c_str());
    }
  }
  std::fflush(stdout);
  return failed > 0 || summary.broken() ? 1 : 0;
}

}  // namespace sluice::bench
