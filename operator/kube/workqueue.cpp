#include "operator/kube/workqueue.h"

#include <algorithm>
#include <vector>

namespace sluice::kube {

WorkQueue::WorkQueue(const Clock& clock, WorkQueueOptions options)
    : clock_(clock), options_(std::move(options)), delayThread_([this] { delayLoop(); }) {}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard lock(mu_);
    shuttingDown_ = true;
    stopDelay_ = true;
  }
  cv_.notify_all();
  delayCv_.notify_all();
  delayThread_.join();
}

void WorkQueue::add(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    addLocked(key);
  }
  cv_.notify_one();
}

void WorkQueue::addLocked(const std::string& key) {
  if (shuttingDown_)
    return;
  ++counters_.adds;
  if (!dirty_.insert(key).second)
    return;
  // A key being processed is queued again by done(), never handed to a second worker.
  if (processing_.contains(key))
    return;
  queue_.push_back(key);
}

void WorkQueue::addAfter(const std::string& key, std::chrono::nanoseconds delay) {
  if (delay <= std::chrono::nanoseconds::zero()) {
    add(key);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (shuttingDown_)
      return;
    auto readyAt = clock_.steadyNow() + delay;
    auto [it, inserted] = delayed_.try_emplace(key, readyAt);
    if (!inserted && readyAt < it->second)
      it->second = readyAt;
  }
  delayCv_.notify_one();
}

std::chrono::nanoseconds WorkQueue::nextBackoff(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  int failures = it == failures_.end() ? 0 : it->second;
  // Doubling past 2^40 overflows long before the cap matters; clamp the exponent.
  double factor = static_cast<double>(uint64_t{1} << std::min(failures, 40));
  double ns = static_cast<double>(options_.baseDelay.count()) * factor;
  if (ns > static_cast<double>(options_.maxDelay.count()))
    return options_.maxDelay;
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

void WorkQueue::addRateLimited(const std::string& key) {
  auto delay = nextBackoff(key);
  {
    std::lock_guard lock(mu_);
    ++failures_[key];
    ++counters_.retries;
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::numRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !queue_.empty() || shuttingDown_; });
  if (queue_.empty())
    return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.emplace(key, clock_.steadyNow());
  dirty_.erase(key);
  return key;
}

std::optional<std::string> WorkQueue::getFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [this] { return !queue_.empty() || shuttingDown_; })) {
    return std::nullopt;
  }
  if (queue_.empty())
    return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.emplace(key, clock_.steadyNow());
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  bool requeued = false;
  {
    std::lock_guard lock(mu_);
    auto it = processing_.find(key);
    if (it == processing_.end())
      return;
    counters_.workSecondsTotal +=
        std::chrono::duration<double>(clock_.steadyNow() - it->second).count();
    ++counters_.workCount;
    processing_.erase(it);
    if (dirty_.contains(key)) {
      queue_.push_back(key);
      requeued = true;
    }
  }
  if (requeued)
    cv_.notify_one();
  idleCv_.notify_all();
}

void WorkQueue::shutdown(bool drain) {
  {
    std::lock_guard lock(mu_);
    shuttingDown_ = true;
    delayed_.clear();
    if (!drain) {
      queue_.clear();
      dirty_.clear();
    }
  }
  cv_.notify_all();
  delayCv_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shuttingDown_;
}

bool WorkQueue::waitUntilIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idleCv_.wait_for(lock, timeout, [this] { return processing_.empty(); });
}

void WorkQueue::promoteDue() {
  bool any = false;
  {
    std::lock_guard lock(mu_);
    auto now = clock_.steadyNow();
    std::vector<std::string> due;
    for (const auto& [key, readyAt] : delayed_) {
      if (readyAt <= now)
        due.push_back(key);
    }
    for (const auto& key : due) {
      delayed_.erase(key);
      addLocked(key);
      any = true;
    }
  }
  if (any)
    cv_.notify_all();
}

void WorkQueue::delayLoop() {
  std::unique_lock lock(mu_);
  while (!stopDelay_) {
    auto wait = std::chrono::nanoseconds(options_.delayPollInterval);
    if (!delayed_.empty()) {
      auto now = clock_.steadyNow();
      for (const auto& entry : delayed_) {
        wait = std::min<std::chrono::nanoseconds>(wait, entry.second - now);
      }
    }
    if (wait > std::chrono::nanoseconds::zero()) {
      delayCv_.wait_for(lock, wait);
      if (stopDelay_)
        break;
    }
    lock.unlock();
    promoteDue();
    lock.lock();
  }
}

size_t WorkQueue::depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

WorkQueueStats WorkQueue::stats() const {
  std::lock_guard lock(mu_);
  WorkQueueStats s = counters_;
  s.depth = queue_.size();
  s.processing = processing_.size();
  s.waitingDelayed = delayed_.size();
  return s;
}

}  // namespace sluice::kube
