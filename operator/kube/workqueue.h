#pragma once

// A de-duplicating, rate-limited work queue with client-go's semantics: a key is queued at most
// once, is never handed to two workers at once, and a key added while it is being processed is
// queued again when the worker calls done().

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "operator/common/clock.h"

namespace sluice::kube {

struct WorkQueueOptions {
  std::string name = "default";
  // Per-item exponential backoff for addRateLimited: base * 2^failures, capped.
  std::chrono::nanoseconds baseDelay = std::chrono::milliseconds(5);
  std::chrono::nanoseconds maxDelay = std::chrono::seconds(1000);
  // Delayed adds are moved into the queue by a background thread that re-checks the clock at
  // least this often (a FakeClock does not notify anyone when it moves).
  std::chrono::milliseconds delayPollInterval{50};
};

struct WorkQueueStats {
  size_t depth = 0;
  size_t processing = 0;
  size_t waitingDelayed = 0;
  uint64_t adds = 0;
  uint64_t retries = 0;
  uint64_t workCount = 0;       // completed get()/done() pairs
  double workSecondsTotal = 0;  // summed time between get() and done()
};

class WorkQueue {
 public:
  explicit WorkQueue(const Clock& clock, WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  // Adds after delay; a second addAfter for a waiting key keeps the earlier deadline.
  void addAfter(const std::string& key, std::chrono::nanoseconds delay);
  // addAfter with this key's next backoff delay; counts as a retry.
  void addRateLimited(const std::string& key);
  // Resets the key's backoff (call after a successful reconcile).
  void forget(const std::string& key);
  int numRequeues(const std::string& key) const;
  std::chrono::nanoseconds nextBackoff(const std::string& key) const;

  // Blocks until a key is available or the queue is shut down and empty (nullopt).
  std::optional<std::string> get();
  // Like get() but gives up after timeout (nullopt).
  std::optional<std::string> getFor(std::chrono::milliseconds timeout);
  void done(const std::string& key);

  // drain=true: workers keep receiving already-queued keys; drain=false: queued and delayed
  // keys are dropped. In both cases add() is ignored from now on and get() returns nullopt
  // once nothing is left.
  void shutdown(bool drain);
  bool shuttingDown() const;
  // Waits until no key is being processed; false on timeout.
  bool waitUntilIdle(std::chrono::milliseconds timeout);

  // Moves due delayed keys into the queue now (the background thread calls this too).
  void promoteDue();

  size_t depth() const;
  WorkQueueStats stats() const;
  const std::string& name() const { return options_.name; }

 private:
  void addLocked(const std::string& key);
  void delayLoop();

  const Clock& clock_;
  WorkQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idleCv_;
  std::condition_variable delayCv_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> processing_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> delayed_;
  std::unordered_map<std::string, int> failures_;
  bool shuttingDown_ = false;
  bool stopDelay_ = false;
  WorkQueueStats counters_;
  std::thread delayThread_;
};

}  // namespace sluice::kube
