#pragma once

// Scheduled replica floors (TierLimit spec.autoscaling.schedules): which floor is in force at
// an instant, and when it next changes. Pure: time zones come in through a loader.
//
// A schedule opens a window at every instant its cron expression matches in its time zone's
// local time and keeps it open for `duration`. Rules:
//   - The floor in force is the largest minReplicas of every open window and the HPA's own
//     minReplicas: overlapping windows take the maximum, and windows that abut (a window
//     closing as the next opens) change nothing at the edge, so the floor never dips.
//   - Daylight saving time: a cron time that happens twice (clocks go back) opens one window,
//     at its first occurrence; one that never happens (clocks go forward) opens at the same
//     reading after the change (02:30 becomes 03:30), never skipped.
//   - `nextChange` is the exact instant the floor next changes (a window opening or closing
//     that moves the maximum), so a controller requeues for it instead of polling.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/tier_limit.h"
#include "operator/common/clock.h"
#include "operator/common/expected.h"
#include "operator/engine/zoneinfo.h"

namespace sluice::engine {

struct ScheduleFloor {
  std::int32_t minReplicas = 0;                // in force now
  std::string activeSchedule;                  // the schedule that sets it; empty: none is open
  std::optional<Clock::TimePoint> nextChange;  // within the look-ahead (8 days)
};

using ZoneLoader = std::function<Expected<TimeZone, std::string>(const std::string& name)>;

// The system's tz database (TimeZone::load), each zone read once per process and kept: the
// controllers look zones up on every reconcile, a TrafficPolicy's every metrics interval.
// Unknown names are not kept (a zone installed later is found). Thread-safe.
ZoneLoader systemZones();

// `baseMinReplicas` is spec.autoscaling.minReplicas. Errors name the schedule's field
// ("spec.autoscaling.schedules[1].timeZone: unknown time zone ...").
Expected<ScheduleFloor, std::string> scheduleFloor(
    const std::vector<api::ScalingSchedule>& schedules, std::int32_t baseMinReplicas,
    Clock::TimePoint now, const ZoneLoader& zones);

}  // namespace sluice::engine
