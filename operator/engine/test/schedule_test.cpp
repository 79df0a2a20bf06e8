#include "operator/engine/schedule.h"

#include <gtest/gtest.h>

namespace sluice::engine {
namespace {

using std::chrono::seconds;

// 2026-MM-DDThh:mm:00Z as seconds since the epoch.
std::int64_t utc(unsigned month, unsigned day, int hour, int minute = 0) {
  return daysFromCivil(2026, month, day) * 86400 + hour * 3600 + minute * 60;
}
Clock::TimePoint at(std::int64_t s) {
  return Clock::TimePoint{seconds{s}};
}
ZoneLoader systemZones() {
  return [](const std::string& name) { return TimeZone::load(name); };
}
api::ScalingSchedule schedule(std::string name, std::string cron, int hours, int replicas,
                              std::string zone = "Europe/Stockholm") {
  api::ScalingSchedule s;
  s.name = std::move(name);
  s.cron = std::move(cron);
  s.duration = std::chrono::hours{hours};
  s.minReplicas = replicas;
  s.timeZone = std::move(zone);
  return s;
}

TEST(Civil, DaysAndWeekdays) {
  EXPECT_EQ(daysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(weekdayFromDays(0), 4u);                            // a Thursday
  EXPECT_EQ(weekdayFromDays(daysFromCivil(2026, 11, 23)), 1u);  // a Monday
  for (std::int64_t d : {-800000LL, -1LL, 0LL, 20000LL, 2932896LL}) {
    const auto c = civilFromDays(d);
    EXPECT_EQ(daysFromCivil(c.year, c.month, c.day), d);
  }
}

TEST(TimeZone, ReadsTheSystemDatabaseAcrossBothChanges) {
  auto tz = TimeZone::load("Europe/Stockholm");
  ASSERT_TRUE(tz) << tz.error();
  EXPECT_EQ(tz->offsetAt(utc(1, 15, 12)), 3600);
  EXPECT_EQ(tz->offsetAt(utc(3, 29, 0, 59)), 3600);
  EXPECT_EQ(tz->offsetAt(utc(3, 29, 1)), 7200);  // clocks forward at 01:00 UTC
  EXPECT_EQ(tz->offsetAt(utc(10, 25, 0, 59)), 7200);
  EXPECT_EQ(tz->offsetAt(utc(10, 25, 1)), 3600);  // and back
  // Far past the listed transitions: the file's POSIX rule.
  EXPECT_EQ(tz->offsetAt(daysFromCivil(2100, 7, 1) * 86400), 7200);
  EXPECT_EQ(tz->offsetAt(daysFromCivil(2100, 12, 1) * 86400), 3600);
  auto ny = TimeZone::load("America/New_York");
  ASSERT_TRUE(ny);
  EXPECT_EQ(ny->offsetAt(utc(3, 8, 6, 59)), -5 * 3600);
  EXPECT_EQ(ny->offsetAt(utc(3, 8, 7)), -4 * 3600);
}

TEST(TimeZone, LocalTimesInTheGapAndTheRepeatedHour) {
  auto tz = *TimeZone::load("Europe/Stockholm");
  const std::int64_t day = daysFromCivil(2026, 3, 29) * 86400;
  // 02:30 does not exist that night: read as 03:30 summer time (01:30 UTC).
  EXPECT_EQ(tz.toUtc(day + 2 * 3600 + 1800), utc(3, 29, 1, 30));
  EXPECT_EQ(tz.toUtc(day + 4 * 3600), utc(3, 29, 2));
  const std::int64_t fall = daysFromCivil(2026, 10, 25) * 86400;
  // 02:30 happens twice: its first occurrence, still summer time (00:30 UTC).
  EXPECT_EQ(tz.toUtc(fall + 2 * 3600 + 1800), utc(10, 25, 0, 30));
  EXPECT_EQ(TimeZone::utc().toUtc(12345), 12345);
}

TEST(TimeZone, RefusesUnknownAndUnsafeNames) {
  auto unknown = TimeZone::load("Mars/Olympus_Mons");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("unknown time zone"), std::string::npos);
  EXPECT_FALSE(TimeZone::load("../../etc/passwd"));
  EXPECT_FALSE(TimeZone::load("/etc/passwd"));
  EXPECT_FALSE(TimeZone::load("Europe/Stockholm", "/nonexistent"));
}

TEST(ScheduleFloor, BusinessHoursOpenAndCloseExactly) {
  const std::vector<api::ScalingSchedule> s = {schedule("business-hours", "0 8 * * 1-5", 10, 6)};
  // Monday 2026-11-23, 08:00 in Stockholm is 07:00 UTC.
  auto before = scheduleFloor(s, 2, at(utc(11, 23, 6, 59)), systemZones());
  ASSERT_TRUE(before) << before.error();
  EXPECT_EQ(before->minReplicas, 2);
  EXPECT_EQ(before->activeSchedule, "");
  EXPECT_EQ(before->nextChange, at(utc(11, 23, 7)));
  auto open = *scheduleFloor(s, 2, at(utc(11, 23, 7)), systemZones());
  EXPECT_EQ(open.minReplicas, 6);
  EXPECT_EQ(open.activeSchedule, "business-hours");
  EXPECT_EQ(open.nextChange, at(utc(11, 23, 17)));
  // Friday evening to Monday morning.
  auto weekend = *scheduleFloor(s, 2, at(utc(11, 27, 17)), systemZones());
  EXPECT_EQ(weekend.minReplicas, 2);
  EXPECT_EQ(weekend.nextChange, at(utc(11, 30, 7)));
}

TEST(ScheduleFloor, OverlapsTakeTheMaximumAndAbuttingWindowsNeverDip) {
  const std::vector<api::ScalingSchedule> s = {schedule("day", "0 8 * * *", 10, 6, "UTC"),
                                               schedule("peak", "0 12 * * *", 2, 10, "UTC")};
  auto peak = *scheduleFloor(s, 2, at(utc(6, 1, 13)), systemZones());
  EXPECT_EQ(peak.minReplicas, 10);
  EXPECT_EQ(peak.activeSchedule, "peak");
  EXPECT_EQ(peak.nextChange, at(utc(6, 1, 14)));  // back to the day's 6, not to 2
  auto after = *scheduleFloor(s, 2, at(utc(6, 1, 14)), systemZones());
  EXPECT_EQ(after.minReplicas, 6);
  // Hourly windows of an hour: one edge closes as the next opens, the floor never moves.
  const std::vector<api::ScalingSchedule> hourly = {schedule("hourly", "0 * * * *", 1, 5, "UTC")};
  auto steady = *scheduleFloor(hourly, 2, at(utc(6, 1, 13, 59)), systemZones());
  EXPECT_EQ(steady.minReplicas, 5);
  EXPECT_FALSE(steady.nextChange);
}

TEST(ScheduleFloor, SpringForwardGapStillOpens) {
  const std::vector<api::ScalingSchedule> s = {schedule("night", "30 2 * * *", 1, 4)};
  // 02:30 never happens on 2026-03-29 in Stockholm: the window opens at 03:30 CEST.
  auto waiting = *scheduleFloor(s, 2, at(utc(3, 29, 1)), systemZones());
  EXPECT_EQ(waiting.minReplicas, 2);
  EXPECT_EQ(waiting.nextChange, at(utc(3, 29, 1, 30)));
  auto open = *scheduleFloor(s, 2, at(utc(3, 29, 1, 45)), systemZones());
  EXPECT_EQ(open.minReplicas, 4);
}

TEST(ScheduleFloor, FallBackRepeatedHourOpensOnce) {
  api::ScalingSchedule half = schedule("night", "30 2 * * *", 0, 4);
  half.duration = std::chrono::minutes{30};
  // 02:30 CEST (00:30 UTC) opens; 02:30 CET an hour later (01:30 UTC) does not again.
  auto first = *scheduleFloor({half}, 2, at(utc(10, 25, 0, 40)), systemZones());
  EXPECT_EQ(first.minReplicas, 4);
  EXPECT_EQ(first.nextChange, at(utc(10, 25, 1)));
  auto second = *scheduleFloor({half}, 2, at(utc(10, 25, 1, 40)), systemZones());
  EXPECT_EQ(second.minReplicas, 2);
  // The next opening is the next night's 02:30 CET.
  EXPECT_EQ(second.nextChange, at(utc(10, 26, 1, 30)));
}

TEST(ScheduleFloor, ErrorsNameTheField) {
  auto zone =
      scheduleFloor({schedule("x", "0 8 * * *", 1, 3, "Mars/Base")}, 2, at(0), systemZones());
  ASSERT_FALSE(zone);
  EXPECT_EQ(zone.error().rfind("spec.autoscaling.schedules[0].timeZone: ", 0), 0u) << zone.error();
  auto cron = scheduleFloor({schedule("x", "0 25 * * *", 1, 3, "UTC")}, 2, at(0), systemZones());
  ASSERT_FALSE(cron);
  EXPECT_NE(cron.error().find("schedules[0].cron"), std::string::npos);
}

}  // namespace
}  // namespace sluice::engine
