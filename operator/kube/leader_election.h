#pragma once

// Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection: a
// candidate takes the lease when it is free or when its holder has not renewed it for
// leaseDuration, measured on *our* clock from when we last saw the record change (so clock skew
// between replicas does not matter); the leader renews every retryPeriod and gives up if it
// cannot renew within renewDeadline; on shutdown it releases the lease by clearing
// holderIdentity so a successor need not wait.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "operator/common/clock.h"
#include "operator/kube/client.h"

namespace sluice::kube {

struct LeaderElectionConfig {
  std::string leaseNamespace;
  std::string leaseName;
  std::string identity;  // unique per replica (pod name + random suffix)
  std::chrono::seconds leaseDuration{15};
  std::chrono::seconds renewDeadline{10};
  std::chrono::seconds retryPeriod{2};
  std::function<void()> onStartedLeading;
  std::function<void()> onStoppedLeading;
};

class LeaderElector {
 public:
  // Fails on inconsistent timing (renewDeadline must be < leaseDuration) or missing names.
  static Expected<std::unique_ptr<LeaderElector>, std::string> create(Client& client,
                                                                      const Clock& clock,
                                                                      LeaderElectionConfig config);

  // One acquire-or-renew attempt; fires the callbacks on transitions. Returns isLeader().
  bool step();
  // Loops step() every retryPeriod until stop(); releases the lease if leading when stopped.
  void run();
  void stop();
  // Gives up the lease (holderIdentity cleared) if we hold it.
  void release();
  bool isLeader() const { return leader_.load(); }
  std::string observedHolder() const;

 private:
  LeaderElector(Client& client, const Clock& clock, LeaderElectionConfig config);
  bool tryAcquireOrRenew();
  void setLeader(bool leader);

  Client& client_;
  const Clock& clock_;
  LeaderElectionConfig config_;
  std::atomic<bool> leader_{false};
  mutable std::mutex mu_;
  Object observedSpec_;
  std::chrono::steady_clock::time_point observedTime_{};
  std::chrono::steady_clock::time_point lastRenew_{};
  std::condition_variable stopCv_;
  bool stopping_ = false;
};

}  // namespace sluice::kube
