#pragma once

// Runs a CanaryRollout's analysis against Prometheus and turns the answers into the engine's
// AnalysisResult. This is the controller's I/O half of the analysis; the verdicts (Pass, Fail,
// Inconclusive, error spike) are the engine's.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "operator/api/canary_rollout.h"
#include "operator/controllers/analysis_runner.h"
#include "operator/engine/canary.h"
#include "operator/prometheus/client.h"

namespace sluice::controllers {

// One Prometheus client per address, created on first use and shared by every rollout that
// names the same address. Thread-safe.
class PrometheusClients {
 public:
  using Factory =
      std::function<Expected<std::unique_ptr<prometheus::QueryClient>, prometheus::QueryError>(
          const std::string& address)>;
  explicit PrometheusClients(Factory factory) : factory_(std::move(factory)) {}

  // The client for `address`, or the error that made it impossible (e.g. not an http URL).
  Expected<prometheus::QueryClient*, prometheus::QueryError> get(const std::string& address);

 private:
  Factory factory_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<prometheus::QueryClient>> clients_;
};

// Runs the rollout's analysis once through the shared client for its Prometheus address.
// Every error names the address, so a status message says which Prometheus failed.
// `fallbackRequestCountQuery` is used when spec.analysis.requestCountQuery is empty.
// With `region`: the region's analysis ({{region}} is its name, {{canary}} its canary Service).
engine::AnalysisResult runAnalysis(const api::CanaryRolloutSpec& spec, const std::string& ns,
                                   const std::string& fallbackRequestCountQuery,
                                   PrometheusClients& clients, Clock::TimePoint now,
                                   const api::Region* region = nullptr);

}  // namespace sluice::controllers
