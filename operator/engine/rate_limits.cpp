#include "operator/engine/rate_limits.h"

#include <algorithm>
#include <cstdio>

#include "operator/engine/zoneinfo.h"

namespace sluice::engine {
namespace {

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// The first instant after `from` (within `horizon` seconds) whose offset differs from the
// offset at `from`: an hourly scan, then a binary search to the second.
std::optional<std::int64_t> nextOffsetChange(const TimeZone& zone, std::int64_t from,
                                             std::int64_t horizon) {
  const std::int32_t offset = zone.offsetAt(from);
  std::int64_t lo = from;
  for (std::int64_t t = from + 3600; t <= from + horizon; t += 3600) {
    if (zone.offsetAt(t) != offset) {
      std::int64_t hi = t;  // lo keeps `offset`, hi does not
      while (hi - lo > 1) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        (zone.offsetAt(mid) == offset ? lo : hi) = mid;
      }
      return hi;
    }
    lo = t;
  }
  return std::nullopt;
}

}  // namespace

Expected<RateLimitsAt, std::string> rateLimitsOf(const api::TierLimit& tierLimit,
                                                 Clock::TimePoint now, const ZoneLoader& zones) {
  const auto& spec = tierLimit.spec;
  auto zone = zones(spec.quotaTimeZone);
  if (!zone) {
    return Unexpected("spec.quotaTimeZone: " + zone.error());
  }
  RateLimitsAt out;
  RateLimits& limits = out.limits;
  limits.source = "TierLimit/" + tierLimit.metadata.namespace_ + "/" + tierLimit.metadata.name;
  limits.tierHeader = spec.tierHeader;
  limits.identityHeader = spec.identity ? spec.identity->header : std::string();
  limits.defaultTier = spec.effectiveDefaultTier();
  for (const auto& t : spec.tiers) {
    limits.tiers.push_back({t.name, t.requestsPerSecond, std::max(t.burst, t.requestsPerSecond),
                            t.concurrent, t.dailyQuota, t.priority});
  }
  std::stable_sort(limits.tiers.begin(), limits.tiers.end(), [](const auto& a, const auto& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.name < b.name;
  });
  if (spec.queue) {
    limits.queue =
        RateLimitQueue{spec.queue->maxSize,
                       std::chrono::duration_cast<std::chrono::milliseconds>(spec.queue->timeout)};
  }
  const std::int64_t nowSeconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  limits.dayOffsetSeconds = zone->offsetAt(nowSeconds);
  if (auto change = nextOffsetChange(*zone, nowSeconds, 400LL * 86400)) {
    out.offsetChangesAt = Clock::TimePoint{std::chrono::seconds{*change}};
  }
  return out;
}

std::string quotaDay(std::int64_t utcSeconds, std::int32_t offsetSeconds) {
  const CivilDate d = civilFromDays(floorDiv(utcSeconds + offsetSeconds, 86400));
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04lld%02u%02u", static_cast<long long>(d.year), d.month,
                d.day);
  return buffer;
}

std::int64_t secondsUntilQuotaReset(std::int64_t utcSeconds, std::int32_t offsetSeconds) {
  const std::int64_t local = utcSeconds + offsetSeconds;
  return 86400 - (local - floorDiv(local, 86400) * 86400);
}

}  // namespace sluice::engine
