#pragma once

// Targets and baselines for the benchmarks. A benchmark binary's main() calls runAndReport():
// after Google Benchmark's usual table it prints every stated target with the figure measured
// beside it and "met" or "missed", and every figure that has a baseline as a ratio against that
// baseline measured in the same run (more stable across machines than absolute numbers).
//
// Timings never fail the run: CI runs a few iterations on a shared machine (smoke mode). A
// broken benchmark does: one that reports an error (state.SkipWithError, e.g. a decode that
// failed) or a target naming a benchmark that did not run (renamed, or removed) makes the binary
// exit 1, and bench/run.sh with it.

#include <string>
#include <vector>

namespace sluice::bench {

// A figure of one benchmark run: a user counter (e.g. "items_per_second"; rates are per second
// of real time) or, with counter empty, the CPU time per iteration in nanoseconds (these
// benchmarks are single-threaded; CPU time is less disturbed than real time by other load on a
// shared machine).
struct Figure {
  std::string benchmark;  // the full name, arguments included: "BM_Render/100"
  std::string counter;
  std::string unit;  // for printing only: "events/s", "B/object", "ns"
};

struct Target {
  enum class Goal { AtLeast, AtMost };
  Figure figure;
  Goal goal;
  double value;
};

// figure / baseline, printed as "0.09x". The baseline is the least the measured code must do,
// or what it replaces.
struct Ratio {
  Figure figure;
  std::string baseline;  // a benchmark name; the same counter (or time) as the figure
};

struct Expectations {
  std::vector<Target> targets;
  std::vector<Ratio> ratios;
};

// Runs the benchmarks selected on the command line (Google Benchmark flags) with the console
// reporter, prints the targets and ratios and returns the exit code (see above). With a
// --benchmark_filter, targets and ratios whose benchmarks did not run are listed as "not run"
// without failing.
int runAndReport(int argc, char** argv, const Expectations& expectations);

}  // namespace sluice::bench
