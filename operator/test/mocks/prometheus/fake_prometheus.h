#pragma once

// A Prometheus for controller tests: answers a query by the first registered substring it
// contains (NoData when none does), and counts the queries.

#include <map>
#include <optional>
#include <string>

#include "operator/prometheus/client.h"

namespace sluice::prometheus {

class FakePrometheus final : public QueryClient {
 public:
  struct Answer {
    std::optional<double> value;
    QueryError error;
  };
  std::map<std::string, Answer> answers;
  int queries = 0;

  Expected<double, QueryError> query(const std::string& promql) override {
    ++queries;
    for (const auto& [needle, answer] : answers) {
      if (promql.find(needle) != std::string::npos) {
        if (answer.value) {
          return *answer.value;
        }
        return Unexpected(answer.error);
      }
    }
    return Unexpected(QueryError{QueryErrorKind::NoData, 0, "", "none"});
  }
};

// Hands a shared FakePrometheus to code that wants to own its client.
class ForwardingQueryClient final : public QueryClient {
 public:
  explicit ForwardingQueryClient(FakePrometheus* target) : target_(target) {}
  Expected<double, QueryError> query(const std::string& promql) override {
    return target_->query(promql);
  }

 private:
  FakePrometheus* target_;
};

}  // namespace sluice::prometheus
