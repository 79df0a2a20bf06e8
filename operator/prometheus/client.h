#pragma once

// Prometheus HTTP API client: instant queries (/api/v1/query) that must yield exactly one
// finite number. Everything else is a typed QueryError, so the canary analysis can tell
// "Prometheus is down" from "the query is wrong" from "there is no data yet".

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operator/common/expected.h"

namespace sluice::prometheus {

enum class QueryErrorKind {
  InvalidAddress,   // the Prometheus address is not an http(s) URL
  Unreachable,      // connection refused, DNS failure, TLS failure
  Timeout,          // no answer within the per-query timeout
  HttpStatus,       // 4xx/5xx; errorType/message carry Prometheus' own error when present
  PrometheusError,  // 200 with "status": "error"
  BadResponse,      // not the JSON shape of the Prometheus API
  NoData,           // empty vector
  NotANumber,       // NaN or +-Inf
  NotScalar,        // matrix, string, or more than one series
  BadTemplate,      // unknown or unterminated {{placeholder}}
};

struct QueryError {
  QueryErrorKind kind = QueryErrorKind::BadResponse;
  int httpStatus = 0;     // for HttpStatus
  std::string errorType;  // Prometheus' errorType ("bad_data", "timeout", ...) when given
  std::string message;    // human-readable, names the cause

  // "<kind>: message" for status messages and logs.
  std::string describe() const;
};

const char* toString(QueryErrorKind kind);

// The seam the controller codes against; tests use a fake.
class QueryClient {
 public:
  virtual ~QueryClient() = default;
  // Runs an instant query; the result must be a scalar or a one-sample vector.
  virtual Expected<double, QueryError> query(const std::string& promql) = 0;
};

struct HttpQueryClientOptions {
  // e.g. http://127.0.0.1:9090 (a path prefix is kept). user:password@ in it is sent as HTTP
  // basic authentication and never appears in an error (see redactAddress()).
  std::string address;
  std::chrono::milliseconds timeout{std::chrono::seconds{5}};
  // PEM bundle of the CAs that sign an https Prometheus' certificate (--prometheus-ca-file).
  // When set, only these CAs are trusted, not the system roots as well; empty: system roots.
  // Either way the certificate and its host name are verified.
  std::string caPem;
};

// Nullopt when `pem` holds at least one PEM certificate, else why not.
std::optional<std::string> checkCaBundle(const std::string& pem);

// The address with any user:password@ replaced by "REDACTED@", for logs, status, Events and
// metrics: a credential in a CR's address must not travel further than the CR itself.
std::string redactAddress(std::string_view address);

// An instant query's answer: the HTTP status and body as Prometheus (or whatever answered)
// sent them, turned into the one value or the error that says what was wrong. Never throws.
Expected<double, QueryError> parseQueryResponse(int httpStatus, std::string_view body);

// Fails with InvalidAddress when the address is not an absolute http(s) URI.
Expected<std::unique_ptr<QueryClient>, QueryError> makeHttpQueryClient(
    const HttpQueryClientOptions& options);

// Values for query templates. Each stays inside what the template put it in, whatever it
// holds (see renderQuery), so `service="{{canary}}"` stays one label matcher.
struct TemplateValues {
  std::string canary;
  std::string stable;
  std::string namespace_;
  std::string interval;  // a PromQL duration, see formatDuration()
  std::string region;    // a regional rollout's region; empty: {{region}} is unknown
};

// Replaces {{canary}}, {{stable}}, {{namespace}}, {{interval}} and, when set, {{region}}
// (spaces inside the braces are allowed). An unknown or unterminated placeholder is a BadTemplate
// error. Each value is written for where the placeholder stands, as PromQL's lexer reads the
// template around it:
//   "..." or '...'   escaped for that string (backslash, the quote, control characters as
//                    \n \r \t \xNN); in a regex matcher (=~ or !~) RE2 metacharacters are
//                    escaped first, so the value matches only itself
//   `...`            as is; a backtick or a control character (which nothing can escape
//                    there) is a BadTemplate error
//   # comment        as is; a line break is a BadTemplate error
//   elsewhere        letters, digits, '_', ':' and '.' only ("30s"), else a BadTemplate error
// So no value can close its string or matcher and add PromQL.
Expected<std::string, QueryError> renderQuery(std::string_view queryTemplate,
                                              const TemplateValues& values);

// The same with any set of placeholders: name -> value, each value escaped as above.
using Placeholders = std::vector<std::pair<std::string_view, std::string>>;
Expected<std::string, QueryError> renderQuery(std::string_view queryTemplate,
                                              const Placeholders& values);

// PromQL string-literal escaping for a string in `quote` (" or '): backslash and the quote
// get a backslash, control characters become \n, \r, \t or \xNN.
std::string escapeStringLiteral(std::string_view value, char quote);
// escapeStringLiteral(value, '"').
std::string escapeLabelValue(std::string_view value);

// A PromQL duration: 30000ms -> "30s", 90s -> "90s", 1500ms -> "1500ms", 2m -> "2m".
std::string formatDuration(std::chrono::milliseconds duration);

}  // namespace sluice::prometheus
