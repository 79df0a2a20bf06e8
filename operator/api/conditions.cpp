#include "operator/api/conditions.h"

#include <algorithm>

#include "operator/common/rfc3339.h"

namespace sluice::api {

bool setCondition(std::vector<Condition>& conditions, Condition condition, Clock::TimePoint now) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const Condition& c) { return c.type == condition.type; });
  if (it == conditions.end()) {
    if (condition.lastTransitionTime.empty()) {
      condition.lastTransitionTime = formatRfc3339(now);
    }
    conditions.push_back(std::move(condition));
    return true;
  }
  const Condition before = *it;
  if (it->status != condition.status) {
    it->status = condition.status;
    it->lastTransitionTime =
        condition.lastTransitionTime.empty() ? formatRfc3339(now) : condition.lastTransitionTime;
  }
  it->reason = std::move(condition.reason);
  it->message = std::move(condition.message);
  it->observedGeneration = condition.observedGeneration;
  return !(before == *it);
}

bool removeCondition(std::vector<Condition>& conditions, std::string_view type) {
  const auto removed =
      std::erase_if(conditions, [&](const Condition& c) { return c.type == type; });
  return removed != 0;
}

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& c : conditions) {
    if (c.type == type) {
      return &c;
    }
  }
  return nullptr;
}

bool isConditionTrue(const std::vector<Condition>& conditions, std::string_view type) {
  const Condition* c = findCondition(conditions, type);
  return c != nullptr && c->status == kConditionTrue;
}

bool isConditionFalse(const std::vector<Condition>& conditions, std::string_view type) {
  const Condition* c = findCondition(conditions, type);
  return c != nullptr && c->status == kConditionFalse;
}

}  // namespace sluice::api
