#include "operator/kube/log.h"

namespace sluice::kube {

std::shared_ptr<spdlog::logger> logger() {
  static const std::shared_ptr<spdlog::logger> log = [] {
    if (auto existing = spdlog::get("kube")) {
      return existing;
    }
    auto created = spdlog::default_logger()->clone("kube");
    spdlog::register_logger(created);
    return created;
  }();
  return log;
}

}  // namespace sluice::kube
