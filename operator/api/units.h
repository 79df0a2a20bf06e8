#pragma once

// Exact parsing and formatting of the scalar syntaxes the Sluice API accepts. Every parser
// returns a human-readable reason on failure; callers prefix it with the field path.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "operator/api/common.h"
#include "operator/common/expected.h"

namespace sluice::api {

// Go time.ParseDuration syntax: an optional sign, then one or more <number><unit> pairs
// ("1h30m", "1.5s", "500ms"), unit one of ns, us, µs, μs, ms, s, m, h; "0" alone is allowed.
// Duration is millisecond-based, so a value that is not a whole number of milliseconds is an
// error rather than silently rounded.
Expected<Duration, std::string> parseDuration(std::string_view text);

// Compact Go-compatible form without zero components: 90s -> "1m30s", 1m -> "1m",
// 1500ms -> "1.5s", 500ms -> "500ms", 0 -> "0s". Chosen over Go's "1m0s" because it reads
// like what users write; parseDuration(formatDuration(d)) == d for every d.
std::string formatDuration(Duration d);

// A decimal written as a string: optional sign, digits, optional fraction of at most six
// digits ("0.05", "2.0", "100", "-1.5"). Stored exactly in micro-units; `text` keeps the input.
Expected<Decimal, std::string> parseDecimal(std::string_view text);
// Shortest exact text for micro-units: 50000 -> "0.05", 2000000 -> "2", -1500000 -> "-1.5".
std::string formatDecimal(std::int64_t micros);
Decimal decimalFromMicros(std::int64_t micros);

// A Kubernetes resource quantity ("100M", "1Gi", "500m", "2.5", "1e3"). Kept in milli-units,
// which covers every value below 9.2 peta; larger values are rejected as out of range.
struct Quantity {
  std::int64_t milli = 0;
  std::string text;

  // Whole units, rounded up like resource.Quantity.Value().
  std::int64_t value() const;
  friend bool operator==(const Quantity& a, const Quantity& b) { return a.milli == b.milli; }
  friend auto operator<=>(const Quantity& a, const Quantity& b) { return a.milli <=> b.milli; }
};
Expected<Quantity, std::string> parseQuantity(std::string_view text);

// A parsed cron expression: bit v of a mask is set when value v matches (minute 0-59, hour
// 0-23, day of month 1-31, month 1-12, day of week 0-6 with Sunday 0).
struct CronSchedule {
  std::uint64_t minutes = 0;
  std::uint64_t hours = 0;
  std::uint64_t daysOfMonth = 0;
  std::uint64_t months = 0;
  std::uint64_t daysOfWeek = 0;
  bool daysOfMonthRestricted = false;  // not "*" (or "*/n")
  bool daysOfWeekRestricted = false;

  // Whether a day matches (Vixie cron: with both day fields restricted, either one).
  bool matchesDay(int dayOfMonth, int month, int dayOfWeek) const;
  bool matchesTime(int hour, int minute) const {
    return (hours >> hour & 1) != 0 && (minutes >> minute & 1) != 0;
  }
};
Expected<CronSchedule, std::string> parseCron(std::string_view expression);

// A standard 5-field cron expression (minute hour day-of-month month day-of-week) with
// lists, ranges, steps, "*", and month/day names (JAN-DEC, SUN-SAT; 0 and 7 are Sunday). Returns
// the reason a value is invalid, or an empty string.
std::string cronError(std::string_view expression);

// RFC 7230 token: the syntax of an HTTP header field name.
bool isHttpToken(std::string_view text);
// RFC 1123 label (a Service name, a DNS label): [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
bool isDns1123Label(std::string_view text);
// RFC 1123 subdomain (most object names): labels joined by '.', at most 253 characters.
bool isDns1123Subdomain(std::string_view text);
// An object name as kube-apiserver validates it (IsDNS1123Subdomain: the subdomain pattern and
// at most 253 characters, parts between dots not limited to 63): what a Sluice object may be
// called.
bool isObjectName(std::string_view text);

}  // namespace sluice::api
