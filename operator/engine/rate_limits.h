#pragma once

// A TierLimit's rate limits as the route plan carries them (engine::RateLimits), and the
// calendar arithmetic of the daily quota. Pure: time zones come in through a loader.
//
// The quota day is the local calendar day in spec.quotaTimeZone: it starts at local midnight,
// never 24 h after a first request nor after some idle time. The data plane reads the day as
// UTC shifted by the offset in force (RateLimits::dayOffsetSeconds), so the offset has to be
// renewed when the zone changes it (daylight saving time): offsetChangesAt says when.

#include <cstdint>
#include <optional>
#include <string>

#include "operator/api/tier_limit.h"
#include "operator/common/clock.h"
#include "operator/common/expected.h"
#include "operator/engine/route_plan.h"
#include "operator/engine/schedule.h"

namespace sluice::engine {

struct RateLimitsAt {
  RateLimits limits;
  // The next instant the quota time zone's UTC offset changes (within 400 days), when the
  // limits must be rendered again; none for a zone without changes.
  std::optional<Clock::TimePoint> offsetChangesAt;
};

// Errors name the field ("spec.quotaTimeZone: unknown time zone ...").
Expected<RateLimitsAt, std::string> rateLimitsOf(const api::TierLimit& tierLimit,
                                                 Clock::TimePoint now, const ZoneLoader& zones);

// "20261126": the quota day of a UTC instant at a UTC offset (what the data plane keys the
// daily counters by), and the seconds from the instant to that day's end (Retry-After for an
// exhausted quota; 1..86400).
std::string quotaDay(std::int64_t utcSeconds, std::int32_t offsetSeconds);
std::int64_t secondsUntilQuotaReset(std::int64_t utcSeconds, std::int32_t offsetSeconds);

}  // namespace sluice::engine
