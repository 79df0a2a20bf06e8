#include "operator/engine/rate_limits.h"

#include <gtest/gtest.h>

namespace sluice::engine {
namespace {

using std::chrono::seconds;

std::int64_t utc(int year, unsigned month, unsigned day, int hour, int minute = 0, int second = 0) {
  return daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}
Clock::TimePoint at(std::int64_t s) {
  return Clock::TimePoint{seconds{s}};
}
ZoneLoader systemZones() {
  return [](const std::string& name) { return TimeZone::load(name); };
}

api::TierLimit checkout() {
  api::TierLimit t;
  t.metadata.namespace_ = "shop";
  t.metadata.name = "checkout";
  t.spec.tierHeader = "X-Tier";
  t.spec.identity = api::IdentitySpec{"X-Customer-ID"};
  t.spec.tiers = {{"free", 10, 20, 5, 10'000, 3},
                  {"premium", 1000, 2000, 100, 10'000'000, 1},
                  {"standard", 100, 200, 20, 1'000'000, 2}};
  t.spec.queue = api::QueueSpec{500, std::chrono::seconds{2}};
  return t;
}

TEST(RateLimits, FromTheSpecMostImportantTierFirst) {
  auto got = rateLimitsOf(checkout(), at(utc(2026, 11, 26, 12)), systemZones());
  ASSERT_TRUE(got) << got.error();
  const RateLimits& l = got->limits;
  EXPECT_EQ(l.source, "TierLimit/shop/checkout");
  EXPECT_EQ(l.tierHeader, "X-Tier");
  EXPECT_EQ(l.identityHeader, "X-Customer-ID");
  EXPECT_EQ(l.defaultTier, "free");  // the largest priority number when none is named
  ASSERT_EQ(l.tiers.size(), 3u);
  EXPECT_EQ(l.tiers[0].name, "premium");
  EXPECT_EQ(l.tiers[1].name, "standard");
  EXPECT_EQ(l.tiers[2].name, "free");
  ASSERT_TRUE(l.queue);
  EXPECT_EQ(l.queue->maxSize, 500);
  EXPECT_EQ(l.queue->timeout, std::chrono::milliseconds{2000});
  EXPECT_EQ(l.dayOffsetSeconds, 0);  // UTC by default
  EXPECT_FALSE(got->offsetChangesAt);
}

TEST(RateLimits, TokenBucketInMicroseconds) {
  using std::chrono::microseconds;
  const TierRateLimit free{"free", 10, 20, {}, {}, 1};
  EXPECT_EQ(emissionInterval(free), microseconds{100'000});
  EXPECT_EQ(burstTolerance(free), microseconds{1'900'000});  // 20 at once: 19 ahead
  const TierRateLimit flat{"flat", 100, 100, {}, {}, 1};
  EXPECT_EQ(burstTolerance(flat), microseconds{990'000});
  const TierRateLimit single{"single", 5, 1, {}, {}, 1};
  EXPECT_EQ(burstTolerance(single), microseconds{0});  // one at a time, every 200 ms
  const TierRateLimit huge{"huge", 3'000'000, 3'000'000, {}, {}, 1};
  EXPECT_EQ(emissionInterval(huge), microseconds{1});
}

TEST(RateLimits, QuotaTimeZoneOffsetAndItsNextChange) {
  auto spec = checkout();
  spec.spec.quotaTimeZone = "Europe/Stockholm";
  auto winter = rateLimitsOf(spec, at(utc(2026, 11, 26, 12)), systemZones());
  ASSERT_TRUE(winter) << winter.error();
  EXPECT_EQ(winter->limits.dayOffsetSeconds, 3600);
  ASSERT_TRUE(winter->offsetChangesAt);
  // Summer time starts on the last Sunday of March at 01:00 UTC.
  EXPECT_EQ(*winter->offsetChangesAt, at(utc(2027, 3, 28, 1)));
  auto summer = rateLimitsOf(spec, at(utc(2027, 3, 28, 1)), systemZones());
  ASSERT_TRUE(summer);
  EXPECT_EQ(summer->limits.dayOffsetSeconds, 7200);
  EXPECT_EQ(*summer->offsetChangesAt, at(utc(2027, 10, 31, 1)));
}

TEST(RateLimits, UnknownQuotaTimeZoneNamesTheField) {
  auto spec = checkout();
  spec.spec.quotaTimeZone = "Mars/Olympus_Mons";
  auto got = rateLimitsOf(spec, at(0), systemZones());
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("spec.quotaTimeZone"), std::string::npos) << got.error();
}

TEST(QuotaDay, LocalMidnightIsTheBoundary) {
  // 23:30 UTC on 26 November is already 27 November in Stockholm (UTC+1).
  EXPECT_EQ(quotaDay(utc(2026, 11, 26, 23, 30), 0), "20261126");
  EXPECT_EQ(quotaDay(utc(2026, 11, 26, 23, 30), 3600), "20261127");
  EXPECT_EQ(quotaDay(utc(2026, 11, 27, 0, 0), 0), "20261127");
  EXPECT_EQ(quotaDay(utc(2026, 11, 26, 23, 59, 59), 0), "20261126");
  // West of UTC: 02:00 UTC is still the day before in New York (UTC-5).
  EXPECT_EQ(quotaDay(utc(2026, 11, 27, 2), -5 * 3600), "20261126");
  EXPECT_EQ(quotaDay(utc(2026, 12, 31, 23, 59, 59), 0), "20261231");
  EXPECT_EQ(quotaDay(utc(2027, 1, 1, 0), 0), "20270101");
}

TEST(QuotaDay, SecondsUntilReset) {
  EXPECT_EQ(secondsUntilQuotaReset(utc(2026, 11, 26, 23, 59, 50), 0), 10);
  EXPECT_EQ(secondsUntilQuotaReset(utc(2026, 11, 27, 0, 0, 0), 0), 86400);
  EXPECT_EQ(secondsUntilQuotaReset(utc(2026, 11, 26, 22, 59, 50), 3600), 10);
  EXPECT_EQ(secondsUntilQuotaReset(utc(2026, 11, 27, 4, 59, 50), -5 * 3600), 10);
}

TEST(RateLimits, PlanValidationNamesTheProblem) {
  RoutePlan plan;
  plan.owner = {"sluice.dev/v1alpha1", "TrafficPolicy", "shop", "checkout", "u"};
  Route route;
  route.name = "checkout";
  Rule rule;
  rule.name = "default";
  rule.destinations = {{"eastus", {"shop", "eastus", 80, ""}, kWeightScale, {}}};
  route.rules = {rule};
  auto limits = rateLimitsOf(checkout(), at(0), systemZones());
  ASSERT_TRUE(limits);
  route.rateLimits = limits->limits;
  plan.routes = {route};
  EXPECT_TRUE(validate(plan));
  plan.routes[0].rateLimits->defaultTier = "gold";
  auto bad = validate(plan);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("default tier \"gold\""), std::string::npos) << bad.error();
  plan.routes[0].rateLimits->defaultTier = "free";
  plan.routes[0].rateLimits->tiers[1].burst = 1;
  bad = validate(plan);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("tier standard"), std::string::npos) << bad.error();
  plan.routes[0].rateLimits->tiers[1].burst = 150'000;  // 1500 s of bucket at 100 rps
  bad = validate(plan);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("below 1000 s"), std::string::npos) << bad.error();
}

TEST(RateLimits, ChangingALimitIsATopologyChange) {
  RoutePlan a;
  a.owner = {"sluice.dev/v1alpha1", "TrafficPolicy", "shop", "checkout", "u"};
  Route route;
  route.name = "checkout";
  route.rateLimits = rateLimitsOf(checkout(), at(0), systemZones())->limits;
  a.routes = {route};
  RoutePlan b = a;
  EXPECT_TRUE(sameTopology(a, b));
  b.routes[0].rateLimits->tiers[0].requestsPerSecond = 999;
  EXPECT_FALSE(sameTopology(a, b));
}

}  // namespace
}  // namespace sluice::engine
