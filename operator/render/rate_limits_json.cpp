#include "operator/render/rate_limits_json.h"

namespace sluice::render {

using nlohmann::json;

json rateLimitsToJson(const engine::RateLimits& limits) {
  json tiers = json::array();
  for (const auto& t : limits.tiers) {
    tiers.push_back({{"name", t.name},
                     {"requestsPerSecond", t.requestsPerSecond},
                     {"burst", t.burst},
                     {"concurrent", t.concurrent ? json(*t.concurrent) : json(nullptr)},
                     {"dailyQuota", t.dailyQuota ? json(*t.dailyQuota) : json(nullptr)},
                     {"priority", t.priority}});
  }
  json queue = nullptr;
  if (limits.queue) {
    queue = {{"maxSize", limits.queue->maxSize}, {"timeoutMillis", limits.queue->timeout.count()}};
  }
  return {{"source", limits.source},
          {"tierHeader", limits.tierHeader},
          {"identityHeader", limits.identityHeader},
          {"defaultTier", limits.defaultTier},
          {"tiers", tiers},
          {"queue", queue},
          {"dayOffsetSeconds", limits.dayOffsetSeconds}};
}

Expected<engine::RateLimits, std::string> rateLimitsFromJson(const json& r) {
  try {
    engine::RateLimits out;
    out.source = r.at("source");
    out.tierHeader = r.at("tierHeader");
    out.identityHeader = r.at("identityHeader");
    out.defaultTier = r.at("defaultTier");
    for (const auto& t : r.at("tiers")) {
      engine::TierRateLimit tier;
      tier.name = t.at("name");
      tier.requestsPerSecond = t.at("requestsPerSecond");
      tier.burst = t.at("burst");
      if (!t.at("concurrent").is_null()) {
        tier.concurrent = t.at("concurrent").get<std::int64_t>();
      }
      if (!t.at("dailyQuota").is_null()) {
        tier.dailyQuota = t.at("dailyQuota").get<std::int64_t>();
      }
      tier.priority = t.at("priority");
      out.tiers.push_back(std::move(tier));
    }
    if (const auto& q = r.at("queue"); !q.is_null()) {
      out.queue = engine::RateLimitQueue{
          q.at("maxSize"), std::chrono::milliseconds(q.at("timeoutMillis").get<std::int64_t>())};
    }
    out.dayOffsetSeconds = r.at("dayOffsetSeconds");
    return out;
  } catch (const json::exception& e) {
    return Unexpected(std::string("rate limits: ") + e.what());
  }
}

}  // namespace sluice::render
