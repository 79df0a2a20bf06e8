#pragma once

// Types shared by the three Sluice kinds. Parsing, defaulting and validation live in
// parse.h / validate.h; these are plain values.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::api {

inline constexpr const char* kGroup = "sluice.dev";
inline constexpr const char* kVersion = "v1alpha1";
inline constexpr const char* kApiVersion = "sluice.dev/v1alpha1";

using Duration = std::chrono::milliseconds;

// An exact decimal written as a string in YAML ("0.05", "2.0", "100"). Stored as a scaled
// integer (micro-units) so comparisons are exact; `text` keeps what the user wrote.
struct Decimal {
  std::int64_t micros = 0;
  std::string text;

  double toDouble() const { return static_cast<double>(micros) / 1'000'000.0; }
  friend bool operator==(const Decimal& a, const Decimal& b) { return a.micros == b.micros; }
  friend auto operator<=>(const Decimal& a, const Decimal& b) { return a.micros <=> b.micros; }
};

// The subset of ObjectMeta the controllers read.
struct ObjectMeta {
  std::string name;
  std::string namespace_;
  std::string uid;
  std::string resourceVersion;
  std::int64_t generation = 0;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::optional<std::string> deletionTimestamp;
};

struct ServiceRef {
  std::string name;
  std::int32_t port = 0;
};

struct HeaderMatch {
  std::string name;
  std::string value;
  std::string type = "Exact";  // Exact | RegularExpression
  friend bool operator==(const HeaderMatch&, const HeaderMatch&) = default;
};

struct RequestMatch {
  std::vector<HeaderMatch> headers;
  friend bool operator==(const RequestMatch&, const RequestMatch&) = default;
};

struct ParentRef {
  std::string name;
  std::string namespace_;  // empty: the CR's namespace
  std::string sectionName;
  friend bool operator==(const ParentRef&, const ParentRef&) = default;
};

struct PrometheusRef {
  std::string address;
};

// Status condition following the Kubernetes API conventions.
struct Condition {
  std::string type;
  std::string status;  // "True" | "False" | "Unknown"
  std::string reason;
  std::string message;
  std::string lastTransitionTime;  // RFC 3339
  std::int64_t observedGeneration = 0;

  friend bool operator==(const Condition&, const Condition&) = default;
};

}  // namespace sluice::api
