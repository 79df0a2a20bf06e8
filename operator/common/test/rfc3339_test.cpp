#include "operator/common/rfc3339.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace sluice {
namespace {

using TimePoint = Clock::TimePoint;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// 2023-11-14T22:13:20Z
const TimePoint kBase{seconds{1'700'000'000}};

TimePoint at(nanoseconds sinceEpoch) {
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(sinceEpoch)};
}

// ---- formatting ----

TEST(Rfc3339Format, SecondsPrecisionDropsTheFraction) {
  EXPECT_EQ(formatRfc3339(kBase), "2023-11-14T22:13:20Z");
  EXPECT_EQ(formatRfc3339(kBase + milliseconds{999}), "2023-11-14T22:13:20Z");
  EXPECT_EQ(formatRfc3339(TimePoint{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(at(seconds{951'782'400})), "2000-02-29T00:00:00Z");
}

TEST(Rfc3339Format, MicroTimeHasSixDigitsTruncated) {
  EXPECT_EQ(formatRfc3339Micro(kBase), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(formatRfc3339Micro(kBase + microseconds{123'456}), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(formatRfc3339Micro(kBase + nanoseconds{123'456'999}), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(formatRfc3339Micro(kBase + nanoseconds{999'999'999}), "2023-11-14T22:13:20.999999Z");
}

TEST(Rfc3339Format, BeforeTheEpochFloorsInsteadOfTruncatingTowardZero) {
  EXPECT_EQ(formatRfc3339(at(milliseconds{-500})), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatRfc3339(at(nanoseconds{-1})), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatRfc3339(at(seconds{-1})), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatRfc3339Micro(at(milliseconds{-500})), "1969-12-31T23:59:59.500000Z");
  EXPECT_EQ(formatRfc3339Micro(at(nanoseconds{-1})), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(formatRfc3339Micro(at(microseconds{-1'000'001})), "1969-12-31T23:59:58.999999Z");
  EXPECT_EQ(formatRfc3339(at(seconds{-2'208'988'800})), "1900-01-01T00:00:00Z");
}

TEST(Rfc3339Format, ClockLimits) {
  EXPECT_EQ(formatRfc3339(TimePoint::min()), "1677-09-21T00:12:43Z");
  EXPECT_EQ(formatRfc3339Micro(TimePoint::min()), "1677-09-21T00:12:43.145224Z");
  EXPECT_EQ(formatRfc3339(TimePoint::max()), "2262-04-11T23:47:16Z");
  EXPECT_EQ(formatRfc3339Micro(TimePoint::max()), "2262-04-11T23:47:16.854775Z");
}

// ---- parsing: accepted ----

struct Accepted {
  const char* text;
  TimePoint want;
};

TEST(Rfc3339Parse, AcceptsZoneOffsetsFractionsAndLowercase) {
  const Accepted cases[] = {
      {"2023-11-14T22:13:20Z", kBase},
      {"2023-11-14t22:13:20z", kBase},
      {"2023-11-14T22:13:20z", kBase},
      {"2023-11-15T00:13:20+02:00", kBase},
      {"2023-11-14T21:13:20-01:00", kBase},
      {"2023-11-14T20:43:20-01:30", kBase},
      {"2023-11-14T22:13:20+00:00", kBase},
      {"2023-11-14T22:13:20-00:00", kBase},  // RFC 3339 "unknown local offset": still UTC
      {"2023-11-15T22:12:20+23:59", kBase},
      {"2023-11-13T22:14:20-23:59", kBase},
      {"2023-11-14T22:13:20.5Z", kBase + milliseconds{500}},
      {"2023-11-14T22:13:20.000Z", kBase},
      {"2023-11-14T22:13:20.123456Z", kBase + microseconds{123'456}},
      {"2023-11-14T22:13:20.123456789Z", kBase + nanoseconds{123'456'789}},
      // Beyond nanoseconds: truncated, never rounded up into the next second.
      {"2023-11-14T22:13:20.1234567891234Z", kBase + nanoseconds{123'456'789}},
      {"2023-11-14T22:13:20.999999999999Z", kBase + nanoseconds{999'999'999}},
      {"2023-11-15T00:13:20.25+02:00", kBase + milliseconds{250}},
      // Offsets that move the date across a day and a year boundary.
      {"2024-01-01T00:30:00+01:00", at(seconds{1'704'065'400})},
      {"2023-12-31T23:00:00-01:00", at(seconds{1'704'067'200})},
      // Leap years: divisible by 4, and by 400.
      {"2024-02-29T12:00:00Z", at(seconds{1'709'208'000})},
      {"2000-02-29T00:00:00Z", at(seconds{951'782'400})},
      {"2016-12-31T23:59:59Z", at(seconds{1'483'228'799})},
      // Before 1970.
      {"1969-12-31T23:59:59.5Z", at(milliseconds{-500})},
      {"1970-01-01T00:59:59.5+01:00", at(milliseconds{-500})},
      {"1900-01-01T00:00:00Z", at(seconds{-2'208'988'800})},
      // The edges of what system_clock holds.
      {"1677-09-21T00:12:44Z", at(seconds{-9'223'372'036})},
      {"2262-04-11T23:47:16.854775807Z", TimePoint::max()},
  };
  for (const auto& c : cases) {
    auto t = parseRfc3339(c.text);
    ASSERT_TRUE(t) << c.text << ": " << t.error();
    EXPECT_EQ(*t, c.want) << c.text << " parsed as " << formatRfc3339Micro(*t);
  }
}

// ---- parsing: rejected ----

struct Rejected {
  const char* text;
  const char* reason;
};

TEST(Rfc3339Parse, RejectsWithAReasonNamingTheProblem) {
  const Rejected cases[] = {
      {"", "missing year"},
      {"yesterday", "year must be 4 digits"},
      {"20x3-11-14T22:13:20Z", "year must be 4 digits"},
      {"223-11-14T22:13:20Z", "year must be 4 digits"},
      {" 2023-11-14T22:13:20Z", "year must be 4 digits"},
      {"2023/11/14T22:13:20Z", "expected '-' after the year, found '/'"},
      {"2023-1-14T22:13:20Z", "month must be 2 digits"},
      {"2023-00-14T22:13:20Z", "month 0 out of range 1-12"},
      {"2023-13-14T22:13:20Z", "month 13 out of range 1-12"},
      {"2023-11-00T22:13:20Z", "day 0 out of range 1-31"},
      {"2023-11-31T22:13:20Z", "day 31 out of range 1-30 for 2023-11"},
      {"2023-02-29T00:00:00Z", "day 29 out of range 1-28 for 2023-02"},
      {"1900-02-29T00:00:00Z", "day 29 out of range 1-28 for 1900-02"},  // not divisible by 400
      {"2024-02-30T00:00:00Z", "day 30 out of range 1-29 for 2024-02"},
      {"2023-11-14", "expected 'T' between date and time, found end of text"},
      {"2023-11-14 22:13:20Z", "a space separator is not accepted"},
      {"2023-11-14_22:13:20Z", "expected 'T' between date and time, found '_'"},
      {"2023-11-14T 2:13:20Z", "hour must be 2 digits"},
      {"2023-11-14T24:00:00Z", "hour 24 out of range 0-23"},
      {"2023-11-14T22:-1:20Z", "minute must be 2 digits"},
      {"2023-11-14T22:60:00Z", "minute 60 out of range 0-59"},
      {"2023-11-14T22:13Z", "expected ':' after the minute, found 'Z'"},
      {"2023-11-14T22:13:2Z", "second must be 2 digits"},
      {"2016-12-31T23:59:60Z", "second 60 out of range 0-59 (leap seconds are not accepted"},
      {"2023-11-14T22:13:61Z", "second 61 out of range 0-59"},
      {"2023-11-14T22:13:20", "missing time zone"},
      {"2023-11-14T22:13:20.5", "missing time zone"},
      {"2023-11-14T22:13:20.Z", "expected a digit after '.', found 'Z'"},
      {"2023-11-14T22:13:20.", "expected a digit after '.', found end of text"},
      {"2023-11-14T22:13:20,5Z", "expected 'Z', +hh:mm or -hh:mm, found ','"},
      {"2023-11-14T22:13:20\tZ", "found byte 0x09"},
      {"2023-11-14T22:13:20 Z", "found ' '"},
      {"2023-11-14T22:13:20UTC", "found 'U'"},
      {"2023-11-14T22:13:20+0200", "expected ':' in the offset, found '0'"},
      {"2023-11-14T22:13:20+02", "expected ':' in the offset, found end of text"},
      {"2023-11-14T22:13:20+2:00", "offset hour must be 2 digits"},
      {"2023-11-14T22:13:20+24:00", "offset hour 24 out of range 0-23"},
      {"2023-11-14T22:13:20+01:60", "offset minute 60 out of range 0-59"},
      {"2023-11-14T22:13:20Zjunk", "unexpected text \"junk\" after the time zone"},
      {"2023-11-14T22:13:20ZZ", "unexpected text \"Z\" after the time zone"},
      {"2023-11-14T22:13:20+01:00 ", "unexpected text \" \" after the time zone"},
      {"0001-01-01T00:00:00Z", "outside the range system_clock can represent"},
      {"9999-12-31T23:59:59Z", "outside the range system_clock can represent"},
      {"1677-09-21T00:12:43Z", "outside the range system_clock can represent"},
      {"2262-04-11T23:47:17Z", "outside the range system_clock can represent"},
      {"2262-04-11T23:47:16.854775808Z", "outside the range system_clock can represent"},
      // An offset can carry an instant in range on the wall clock out of the clock's range.
      {"2262-04-11T23:47:16-00:01", "outside the range system_clock can represent"},
  };
  for (const auto& c : cases) {
    auto t = parseRfc3339(c.text);
    ASSERT_FALSE(t) << c.text << " parsed as " << formatRfc3339Micro(*t);
    const std::string prefix = std::string("invalid RFC 3339 timestamp \"") + c.text + "\": ";
    EXPECT_EQ(t.error().rfind(prefix, 0), 0u) << t.error();
    EXPECT_NE(t.error().find(c.reason), std::string::npos) << c.text << " -> " << t.error();
  }
}

// ---- round trips ----

TEST(Rfc3339RoundTrip, ParseOfFormatIsTheFlooredTime) {
  const TimePoint times[] = {
      TimePoint{},
      kBase,
      kBase + nanoseconds{123'456'789},
      at(milliseconds{-500}),
      at(nanoseconds{-1}),
      at(seconds{-2'208'988'800} + microseconds{7}),
      at(seconds{951'782'400} - nanoseconds{1}),
      TimePoint::max(),
  };
  for (const TimePoint t : times) {
    const auto secs = std::chrono::floor<seconds>(t);
    const auto micros = std::chrono::floor<microseconds>(t);
    auto viaSeconds = parseRfc3339(formatRfc3339(t));
    ASSERT_TRUE(viaSeconds) << viaSeconds.error();
    EXPECT_EQ(*viaSeconds, secs) << formatRfc3339(t);
    auto viaMicros = parseRfc3339(formatRfc3339Micro(t));
    ASSERT_TRUE(viaMicros) << viaMicros.error();
    EXPECT_EQ(*viaMicros, micros) << formatRfc3339Micro(t);
  }
}

TEST(Rfc3339RoundTrip, CanonicalTextIsReproduced) {
  for (const char* text : {"2023-11-14T22:13:20Z", "1969-12-31T23:59:59Z", "2000-02-29T00:00:00Z",
                           "1677-09-21T00:12:44Z", "2262-04-11T23:47:16Z"}) {
    auto t = parseRfc3339(text);
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(formatRfc3339(*t), text);
  }
  for (const char* text : {"2023-11-14T22:13:20.123456Z", "1969-12-31T23:59:59.500000Z",
                           "2023-11-14T22:13:20.000000Z"}) {
    auto t = parseRfc3339(text);
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(formatRfc3339Micro(*t), text);
  }
}

// Before this parser, api, engine and kube each had their own; these are the inputs on which
// they gave different answers, with the one answer now settled.
TEST(Rfc3339Parse, SettlesFormerDisagreements) {
  // Leap second: engine and kube rolled it into the next minute, api rejected it.
  EXPECT_FALSE(parseRfc3339("2016-12-31T23:59:60Z"));
  // Numeric offsets: kube rejected them; api and engine converted to UTC, as now.
  EXPECT_EQ(*parseRfc3339("2023-11-14T23:13:20+01:00"), kBase);
  // Lowercase 't' / 'z': kube rejected them; api and engine accepted them, as now.
  EXPECT_EQ(*parseRfc3339("2023-11-14t22:13:20z"), kBase);
  // Fractions: api dropped them (whole seconds), kube kept microseconds, engine nanoseconds.
  // Now: nanoseconds, truncated beyond.
  EXPECT_EQ(*parseRfc3339("2023-11-14T22:13:20.1234567Z"), kBase + nanoseconds{123'456'700});
  // kube used sscanf and timegm: short or space-padded fields and out-of-range values (month
  // 13, 31 November) were accepted and silently normalised. Now each is an error.
  EXPECT_FALSE(parseRfc3339("223-11-14T22:13:20Z"));
  EXPECT_FALSE(parseRfc3339("2023-11-14T 2:13:20Z"));
  EXPECT_FALSE(parseRfc3339("2023-13-14T22:13:20Z"));
  EXPECT_FALSE(parseRfc3339("2023-11-31T22:13:20Z"));
  // The engine used from_chars, which took a sign inside a field ("-1" minutes).
  EXPECT_FALSE(parseRfc3339("2023-11-14T22:-1:20Z"));
  // None checked the clock's range, so years outside 1678-2261 wrapped around; now an error.
  EXPECT_FALSE(parseRfc3339("0001-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace sluice
