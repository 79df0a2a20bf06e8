#include "operator/controllers/analysis_runner.h"

#include <gtest/gtest.h>

#include <map>

#include "operator/controllers/canary_analysis.h"

namespace sluice::controllers {
namespace {

// Answers by exact query text; records what was asked.
class FakeQueryClient final : public prometheus::QueryClient {
 public:
  Expected<double, prometheus::QueryError> query(const std::string& promql) override {
    asked.push_back(promql);
    auto it = answers.find(promql);
    if (it == answers.end()) {
      return Unexpected(fallback);
    }
    return it->second;
  }
  std::map<std::string, Expected<double, prometheus::QueryError>> answers;
  prometheus::QueryError fallback{prometheus::QueryErrorKind::NoData, 0, "", "empty vector"};
  std::vector<std::string> asked;
};

api::CanaryAnalysis makeAnalysis() {
  api::CanaryAnalysis a;
  a.requestCountQuery = R"(sum(increase(req{s="{{canary}}"}[{{interval}}])))";
  a.metrics = {{"error-rate", R"(err{s="{{canary}}"})", {}},
               {"latency-p99", R"(lat{s="{{canary}}",ns="{{namespace}}"})", {}}};
  return a;
}

const prometheus::TemplateValues kValues{"pay-canary", "pay-stable", "shop", "30s", ""};
const engine::TimePoint kAt{std::chrono::seconds{1'700'000'000}};

TEST(RunAnalysis, RendersRunsAndCollects) {
  FakeQueryClient client;
  client.answers.emplace(R"(sum(increase(req{s="pay-canary"}[30s])))", 1234.0);
  client.answers.emplace(R"(err{s="pay-canary"})", 0.004);
  client.answers.emplace(
      R"(lat{s="pay-canary",ns="shop"})",
      Unexpected(prometheus::QueryError{prometheus::QueryErrorKind::NotANumber, 0, "", "NaN"}));
  auto result = runAnalysis(client, makeAnalysis(), kValues, kAt);
  EXPECT_EQ(result.measuredAt, kAt);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.requestCount, 1234.0);
  ASSERT_EQ(result.metrics.size(), 2U);
  EXPECT_EQ(result.metrics[0].name, "error-rate");
  EXPECT_EQ(result.metrics[0].value, 0.004);
  EXPECT_EQ(result.metrics[1].value, std::nullopt);
  EXPECT_EQ(result.metrics[1].error, "NotANumber: NaN");
}

TEST(RunAnalysis, NoSeriesForRequestCountMeansZeroRequests) {
  FakeQueryClient client;
  auto result = runAnalysis(client, makeAnalysis(), kValues, kAt);
  EXPECT_EQ(result.requestCount, 0.0);
  EXPECT_EQ(result.error, "");
}

TEST(RunAnalysis, AllUnreachableIsAnAnalysisError) {
  FakeQueryClient client;
  client.fallback = {prometheus::QueryErrorKind::Unreachable, 0, "", "connection refused"};
  auto result = runAnalysis(client, makeAnalysis(), kValues, kAt);
  EXPECT_EQ(result.error, "Prometheus unreachable: Unreachable: connection refused");
  EXPECT_EQ(client.asked.size(), 1U) << "the others would wait for the same failure";
  ASSERT_EQ(result.metrics.size(), 2U);
  EXPECT_EQ(result.metrics[1].error, "Unreachable: connection refused");
}

// A Prometheus slower than the query timeout costs one timeout per analysis, not one per query.
TEST(RunAnalysis, OneTimeoutStopsTheRound) {
  FakeQueryClient client;
  client.fallback = {prometheus::QueryErrorKind::Timeout, 0, "", "no answer within 2000ms"};
  auto result = runAnalysis(client, makeAnalysis(), kValues, kAt);
  EXPECT_EQ(client.asked.size(), 1U);
  EXPECT_EQ(result.error, "Prometheus unreachable: Timeout: no answer within 2000ms");
  EXPECT_EQ(result.requestCount, std::nullopt);
  EXPECT_EQ(result.metrics[0].value, std::nullopt);
}

// The address names the Prometheus in every error, without the user:password it may carry.
TEST(RunAnalysis, ErrorsNameTheAddressWithoutItsCredential) {
  FakeQueryClient* made = nullptr;
  PrometheusClients clients([&made](const std::string&) {
    auto client = std::make_unique<FakeQueryClient>();
    client->fallback = {prometheus::QueryErrorKind::Unreachable, 0, "", "connection refused"};
    made = client.get();
    return Expected<std::unique_ptr<prometheus::QueryClient>, prometheus::QueryError>(
        std::move(client));
  });
  api::CanaryRolloutSpec spec;
  spec.stable.name = "pay-stable";
  spec.canary.name = "pay-canary";
  spec.analysis = makeAnalysis();
  spec.analysis.prometheus.address = "https://alice:hunter2@prom.example:9090";
  auto result = runAnalysis(spec, "shop", "", clients, kAt);
  ASSERT_NE(made, nullptr);
  EXPECT_EQ(result.error,
            "Prometheus https://REDACTED@prom.example:9090: Prometheus unreachable: Unreachable: "
            "connection refused");
  for (const auto& m : result.metrics) {
    EXPECT_EQ(m.error.find("hunter2"), std::string::npos) << m.error;
  }
}

TEST(RunAnalysis, BadTemplateIsThatMetricsError) {
  FakeQueryClient client;
  auto analysis = makeAnalysis();
  analysis.metrics[0].query = "x{{nope}}";
  auto result = runAnalysis(client, analysis, kValues, kAt);
  EXPECT_EQ(result.metrics[0].value, std::nullopt);
  EXPECT_NE(result.metrics[0].error.find("BadTemplate"), std::string::npos);
  EXPECT_EQ(client.asked.size(), 2U) << "the bad template is never sent";
}

TEST(RunAnalysis, FallbackRequestCountQuery) {
  FakeQueryClient client;
  auto analysis = makeAnalysis();
  analysis.requestCountQuery.clear();
  client.answers.emplace("fallback{b=\"pay-canary\"}", 7.0);
  auto result = runAnalysis(client, analysis, kValues, kAt, "fallback{b=\"{{canary}}\"}");
  EXPECT_EQ(result.requestCount, 7.0);
  auto none = runAnalysis(client, analysis, kValues, kAt);
  EXPECT_EQ(none.requestCount, std::nullopt);
}

}  // namespace
}  // namespace sluice::controllers
