#pragma once

// IANA time zones from the system's compiled tz database (TZif files, RFC 8536, under
// /usr/share/zoneinfo), for schedules that say "08:00 in Europe/Stockholm". Hand-written
// because g++ 12's libstdc++ has no std::chrono::tzdb and no chosen dependency reads TZif.
// Times are seconds since the Unix epoch; "local seconds" are the local civil time counted as
// if it were UTC (what days_from_civil() gives for a local date).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/expected.h"

namespace sluice::engine {

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day);
struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};
CivilDate civilFromDays(std::int64_t days);
// 0 = Sunday.
unsigned weekdayFromDays(std::int64_t days);

class TimeZone {
 public:
  // "UTC" needs no file. A name with "..", a leading "/" or characters outside
  // [A-Za-z0-9/_+-] is refused before any file is opened.
  static Expected<TimeZone, std::string> load(std::string_view name,
                                              const std::string& root = "/usr/share/zoneinfo");
  static TimeZone utc();
  // A fixed offset (seconds east of UTC), for tests.
  static TimeZone fixed(std::int32_t offsetSeconds);

  const std::string& name() const { return name_; }

  // Seconds east of UTC in force at a UTC instant.
  std::int32_t offsetAt(std::int64_t utcSeconds) const;

  // The UTC instant of a local civil time. A local time that happens twice (the hour the
  // clocks go back) is its first occurrence; one that never happens (the hour skipped when
  // they go forward) is read with the offset before the change, so 02:30 on a spring-forward
  // night is 03:30 summer time (as Go's time.Date does): a schedule set inside the gap still
  // fires, never skipped.
  std::int64_t toUtc(std::int64_t localSeconds) const;

 private:
  // POSIX TZ rule from the TZif footer, for instants after the last listed transition.
  struct Rule {
    std::int32_t stdOffset = 0;  // seconds east of UTC
    std::optional<std::int32_t> dstOffset;
    // Mm.w.d/time of the changes into and out of daylight saving time.
    int startMonth = 0, startWeek = 0, startDay = 0;
    std::int32_t startTime = 7200;
    int endMonth = 0, endWeek = 0, endDay = 0;
    std::int32_t endTime = 7200;
  };
  static std::optional<Rule> parseRule(std::string_view text);
  std::int32_t ruleOffset(std::int64_t utcSeconds) const;

  std::string name_;
  std::vector<std::int64_t> transitions_;
  std::vector<std::int32_t> offsets_;  // in force from transitions_[i]
  std::int32_t initialOffset_ = 0;
  std::optional<Rule> rule_;
};

}  // namespace sluice::engine
