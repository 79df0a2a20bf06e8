#include "operator/api/units.h"

#include <gtest/gtest.h>

namespace sluice::api {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct DurationCase {
  const char* text;
  std::int64_t millis;
};

TEST(ParseDuration, AcceptsGoSyntax) {
  const DurationCase cases[] = {
      {"0", 0},
      {"0s", 0},
      {"1m", 60'000},
      {"30s", 30'000},
      {"10h", 36'000'000},
      {"1h30m", 5'400'000},
      {"500ms", 500},
      {"1.5s", 1'500},
      {".5s", 500},
      {"1.s", 1'000},
      {"2h45m30.5s", 9'930'500},
      {"1000us", 1},
      {"1000\xC2\xB5s", 1},
      {"1000000ns", 1},
      {"-1m", -60'000},
      {"+5s", 5'000},
      {"1.0000000000000000000000h", 3'600'000},
      {"300s", 300'000},
  };
  for (const auto& c : cases) {
    auto d = parseDuration(c.text);
    ASSERT_TRUE(d) << c.text << ": " << d.error();
    EXPECT_EQ(d->count(), c.millis) << c.text;
  }
}

TEST(ParseDuration, RejectsBadInputWithReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "invalid duration \"\""},
      {"1", "missing unit"},
      {"10", "missing unit"},
      {"1x", "unknown unit \"x\""},
      {"1d", "unknown unit \"d\""},
      {"m", "invalid duration"},
      {"1m ", "unknown unit"},
      {" 1m", "invalid duration"},
      {"1.5ms", "whole number of milliseconds"},
      {"1ns", "whole number of milliseconds"},
      {"1us", "whole number of milliseconds"},
      {".", "invalid duration"},
      {"-", "invalid duration"},
      {"abc", "invalid duration \"abc\""},
      {"9999999999999999h", "out of range"},
  };
  for (const auto& [text, reason] : cases) {
    auto d = parseDuration(text);
    ASSERT_FALSE(d) << text;
    EXPECT_NE(d.error().find(reason), std::string::npos) << text << " -> " << d.error();
  }
}

TEST(FormatDuration, CompactFormRoundTrips) {
  const std::pair<std::int64_t, const char*> cases[] = {
      {0, "0s"},
      {500, "500ms"},
      {1'000, "1s"},
      {1'500, "1.5s"},
      {1'050, "1.05s"},
      {60'000, "1m"},
      {90'000, "1m30s"},
      {3'600'000, "1h"},
      {5'400'000, "1h30m"},
      {3'600'500, "1h0.5s"},
      {-60'000, "-1m"},
      {36'000'000, "10h"},
  };
  for (const auto& [ms, text] : cases) {
    EXPECT_EQ(formatDuration(milliseconds{ms}), text);
    auto back = parseDuration(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(back->count(), ms) << text;
  }
  const Duration extreme{std::numeric_limits<std::int64_t>::min()};
  EXPECT_EQ(formatDuration(extreme).front(), '-');
}

TEST(ParseDecimal, ExactMicroUnits) {
  const std::pair<const char*, std::int64_t> cases[] = {
      {"0.05", 50'000},  {"2.0", 2'000'000},   {"100", 100'000'000},
      {"0", 0},          {"-1.5", -1'500'000}, {"0.000001", 1},
      {"0.10", 100'000}, {"+3", 3'000'000},    {"1.0000000", 1'000'000},
  };
  for (const auto& [text, micros] : cases) {
    auto d = parseDecimal(text);
    ASSERT_TRUE(d) << text << ": " << d.error();
    EXPECT_EQ(d->micros, micros) << text;
    EXPECT_EQ(d->text, text);
  }
}

TEST(ParseDecimal, RejectsBadInput) {
  const std::pair<const char*, const char*> cases[] = {
      {"abc", "invalid decimal \"abc\""}, {"", "invalid decimal \"\""},
      {"1.", "invalid decimal"},          {".5", "invalid decimal"},
      {"1e3", "invalid decimal"},         {"0.0000001", "at most 6 digits"},
      {"1,5", "invalid decimal"},         {"99999999999999999", "out of range"},
  };
  for (const auto& [text, reason] : cases) {
    auto d = parseDecimal(text);
    ASSERT_FALSE(d) << text;
    EXPECT_NE(d.error().find(reason), std::string::npos) << text << " -> " << d.error();
  }
}

TEST(FormatDecimal, ShortestExactText) {
  EXPECT_EQ(formatDecimal(50'000), "0.05");
  EXPECT_EQ(formatDecimal(2'000'000), "2");
  EXPECT_EQ(formatDecimal(-1'500'000), "-1.5");
  EXPECT_EQ(formatDecimal(1), "0.000001");
  EXPECT_EQ(formatDecimal(0), "0");
  EXPECT_EQ(decimalFromMicros(123'456'789).text, "123.456789");
}

TEST(ParseQuantity, KubernetesGrammar) {
  const std::pair<const char*, std::int64_t> cases[] = {
      {"100M", 100'000'000'000},
      {"1Gi", 1'073'741'824'000},
      {"500m", 500},
      {"2.5", 2'500},
      {"1k", 1'000'000},
      {"1Ki", 1'024'000},
      {"1e3", 1'000'000},
      {"1E-3", 1},
      {"0", 0},
      {".5", 500},
      {"1.", 1'000},
      {"-2", -2'000},
      {"1u", 1},  // rounds up to one milli-unit, as resource.Quantity does
      {"1.5Gi", 1'610'612'736'000},
      {"8P", 8'000'000'000'000'000'000},
  };
  for (const auto& [text, milli] : cases) {
    auto q = parseQuantity(text);
    ASSERT_TRUE(q) << text << ": " << q.error();
    EXPECT_EQ(q->milli, milli) << text;
  }
  EXPECT_EQ(parseQuantity("1500m")->value(), 2);
  EXPECT_EQ(parseQuantity("2")->value(), 2);
}

TEST(ParseQuantity, RejectsBadInput) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "invalid quantity"},       {"abc", "invalid quantity \"abc\""},
      {"1X", "unknown suffix \"X\""}, {"1KB", "unknown suffix \"KB\""},
      {"1Xi", "unknown suffix"},      {"1e", "unknown suffix"},
      {"1ex", "invalid exponent"},    {"10E", "out of range"},
      {"1e200", "out of range"},      {"M", "invalid quantity"},
  };
  for (const auto& [text, reason] : cases) {
    auto q = parseQuantity(text);
    ASSERT_FALSE(q) << text;
    EXPECT_NE(q.error().find(reason), std::string::npos) << text << " -> " << q.error();
  }
}

TEST(Cron, AcceptsStandardExpressions) {
  for (const char* expr :
       {"0 8 * * 1-5", "*/5 * * * *", "0 0 1 1 *", "0,30 9-17 * * MON-FRI", "15 2 * JAN,jul sun",
        "0 0 * * 7", "0 0 1-31/2 * *", "59 23 31 12 6", "  0   8 * *  1-5 "}) {
    EXPECT_EQ(cronError(expr), "") << expr;
  }
}

TEST(Cron, RejectsInvalidExpressionsWithReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "expected 5 fields, found 0"},
      {"0 8 * *", "expected 5 fields, found 4"},
      {"0 8 * * 1-5 2026", "expected 5 fields, found 6"},
      {"60 * * * *", "minute field \"60\""},
      {"0 24 * * *", "hour field"},
      {"0 0 0 * *", "day-of-month field"},
      {"0 0 * 13 *", "month field"},
      {"0 0 * * 8", "day-of-week field"},
      {"0 0 * * 5-1", "has its start after its end"},
      {"*/0 * * * *", "step must be a positive integer"},
      {"1,,2 * * * *", "empty list item"},
      {"@hourly", "expected 5 fields"},
      {"a * * * *", "minute field"},
  };
  for (const auto& [expr, reason] : cases) {
    const std::string error = cronError(expr);
    EXPECT_NE(error.find(reason), std::string::npos) << expr << " -> " << error;
  }
}

TEST(Names, HttpTokensAndDnsNames) {
  EXPECT_TRUE(isHttpToken("X-Tenant-ID"));
  EXPECT_TRUE(isHttpToken("x_custom.header~1"));
  EXPECT_FALSE(isHttpToken(""));
  EXPECT_FALSE(isHttpToken("X Tier"));
  EXPECT_FALSE(isHttpToken("X-Tier:"));
  EXPECT_FALSE(isHttpToken("\xC3\xA9t\xC3\xA9"));
  EXPECT_TRUE(isDns1123Label("eastus"));
  EXPECT_TRUE(isDns1123Label("a-1"));
  EXPECT_FALSE(isDns1123Label("East"));
  EXPECT_FALSE(isDns1123Label("-a"));
  EXPECT_FALSE(isDns1123Label(std::string(64, 'a')));
  EXPECT_TRUE(isDns1123Subdomain("checkout.example.com"));
  EXPECT_FALSE(isDns1123Subdomain("checkout..example"));
  EXPECT_FALSE(isDns1123Subdomain(""));
}

}  // namespace
}  // namespace sluice::api
