#pragma once

// The "kube" component logger, shared by every file of this library.

#include <spdlog/spdlog.h>

#include <memory>

namespace sluice::kube {

// Created once (a clone of the default logger, so it follows the process's level and pattern
// set at start-up) and registered as "kube".
std::shared_ptr<spdlog::logger> logger();

}  // namespace sluice::kube
