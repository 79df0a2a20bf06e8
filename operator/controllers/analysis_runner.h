#pragma once

// Runs a CanaryRollout's analysis queries and packages the answers for engine::decide().

#include <string>

#include "operator/api/canary_rollout.h"
#include "operator/engine/canary.h"
#include "operator/prometheus/client.h"

namespace sluice::controllers {

// Renders and runs every spec metric and the request-count query (analysis.requestCountQuery,
// or `fallbackRequestCountQuery` when that is empty; no request count when both are empty).
// A template error or failed query becomes that metric's error. An empty vector for the
// request count means no request reached the canary yet: requestCount 0. After one query fails
// with Unreachable/Timeout/InvalidAddress the rest are not sent (each would wait for the same
// timeout) and fail the same way; when every query failed so, the result's `error` says
// Prometheus is down.
engine::AnalysisResult runAnalysis(prometheus::QueryClient& client,
                                   const api::CanaryAnalysis& analysis,
                                   const prometheus::TemplateValues& values,
                                   engine::TimePoint measuredAt,
                                   const std::string& fallbackRequestCountQuery = {});

}  // namespace sluice::controllers
