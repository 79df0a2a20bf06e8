#pragma once

// Condition bookkeeping following the Kubernetes API conventions (metav1.Condition,
// apimachinery's meta.SetStatusCondition): lastTransitionTime moves only when status does.

#include <optional>
#include <string_view>
#include <vector>

#include "operator/api/common.h"
#include "operator/common/clock.h"

namespace sluice::api {

inline constexpr const char* kConditionReady = "Ready";
inline constexpr const char* kConditionProgressing = "Progressing";
inline constexpr const char* kConditionDegraded = "Degraded";
inline constexpr const char* kConditionTrue = "True";
inline constexpr const char* kConditionFalse = "False";
inline constexpr const char* kConditionUnknown = "Unknown";
inline constexpr const char* kReasonInvalidSpec = "InvalidSpec";

// Adds or updates `condition` by type. reason, message and observedGeneration are always
// taken from `condition`; lastTransitionTime becomes `now` for a new condition or a status
// change and is kept otherwise (a given non-empty lastTransitionTime is used as is for a new
// condition or a status change). Returns true if anything changed.
bool setCondition(std::vector<Condition>& conditions, Condition condition, Clock::TimePoint now);

// Removes the condition of `type`; returns true if one was there.
bool removeCondition(std::vector<Condition>& conditions, std::string_view type);

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);
bool isConditionTrue(const std::vector<Condition>& conditions, std::string_view type);
bool isConditionFalse(const std::vector<Condition>& conditions, std::string_view type);

}  // namespace sluice::api
