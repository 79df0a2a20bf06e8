#pragma once

// Kubernetes timestamp formats: metav1.Time (RFC 3339, seconds) and metav1.MicroTime (RFC 3339
// with microseconds), always UTC.

#include <chrono>
#include <optional>
#include <string>

namespace sluice::kube {

std::string formatTime(std::chrono::system_clock::time_point t);
std::string formatMicroTime(std::chrono::system_clock::time_point t);
// Accepts both forms (fraction optional), "Z" only.
std::optional<std::chrono::system_clock::time_point> parseTime(const std::string& text);

}  // namespace sluice::kube
