#pragma once

// Client-side token bucket like client-go's flowcontrol.NewTokenBucketRateLimiter: qps tokens
// per second refill a bucket holding at most burst; a request takes one token or waits.

#include <chrono>
#include <mutex>

#include "operator/common/clock.h"

namespace sluice::kube {

class TokenBucket {
 public:
  // qps <= 0 disables limiting.
  TokenBucket(const Clock& clock, double qps, int burst);

  // Takes a token now if one is available.
  bool tryAccept();
  // Takes a token, possibly in the future: returns how long the caller must wait before
  // proceeding (zero if a token was available). Reservations queue fairly in arrival order.
  std::chrono::nanoseconds reserve();

 private:
  void refillLocked(std::chrono::steady_clock::time_point now);

  const Clock& clock_;
  double qps_;
  double burst_;
  std::mutex mu_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace sluice::kube
