#include "operator/kube/rate_limiter.h"

#include <algorithm>

namespace sluice::kube {

TokenBucket::TokenBucket(const Clock& clock, double qps, int burst)
    : clock_(clock),
      qps_(qps),
      burst_(std::max(1, burst)),
      tokens_(std::max(1, burst)),
      last_(clock.steadyNow()) {}

void TokenBucket::refillLocked(std::chrono::steady_clock::time_point now) {
  if (now <= last_)
    return;
  double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
  last_ = now;
}

bool TokenBucket::tryAccept() {
  if (qps_ <= 0)
    return true;
  std::lock_guard lock(mu_);
  refillLocked(clock_.steadyNow());
  if (tokens_ < 1)
    return false;
  tokens_ -= 1;
  return true;
}

std::chrono::nanoseconds TokenBucket::reserve() {
  if (qps_ <= 0)
    return std::chrono::nanoseconds::zero();
  std::lock_guard lock(mu_);
  refillLocked(clock_.steadyNow());
  // Going negative books the token for later callers in order, so waits add up fairly.
  tokens_ -= 1;
  if (tokens_ >= 0)
    return std::chrono::nanoseconds::zero();
  return std::chrono::nanoseconds(static_cast<int64_t>(-tokens_ / qps_ * 1e9));
}

}  // namespace sluice::kube
