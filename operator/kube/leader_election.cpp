#include "operator/kube/leader_election.h"

#include <spdlog/spdlog.h>

#include "operator/common/rfc3339.h"
#include "operator/kube/log.h"

namespace sluice::kube {
Expected<std::unique_ptr<LeaderElector>, std::string> LeaderElector::create(
    Client& client, const Clock& clock, LeaderElectionConfig config) {
  if (config.leaseName.empty())
    return Unexpected(std::string("leaderElection.leaseName is empty"));
  if (config.leaseNamespace.empty()) {
    return Unexpected(std::string("leaderElection.leaseNamespace is empty"));
  }
  if (config.identity.empty())
    return Unexpected(std::string("leaderElection.identity is empty"));
  if (config.renewDeadline >= config.leaseDuration) {
    return Unexpected(std::string("leaderElection.renewDeadline must be less than leaseDuration"));
  }
  if (config.retryPeriod.count() <= 0 || config.retryPeriod >= config.renewDeadline) {
    return Unexpected(
        std::string("leaderElection.retryPeriod must be positive and less than renewDeadline"));
  }
  return std::unique_ptr<LeaderElector>(new LeaderElector(client, clock, std::move(config)));
}

LeaderElector::LeaderElector(Client& client, const Clock& clock, LeaderElectionConfig config)
    : client_(client), clock_(clock), config_(std::move(config)) {}

std::string LeaderElector::observedHolder() const {
  std::lock_guard lock(mu_);
  return observedSpec_.is_object() ? observedSpec_.value("holderIdentity", "") : "";
}

void LeaderElector::setLeader(bool leader) {
  bool was = leader_.exchange(leader);
  if (was == leader)
    return;
  if (leader) {
    logger()->info("leader election: {} became leader of lease {}/{}", config_.identity,
                   config_.leaseNamespace, config_.leaseName);
    if (config_.onStartedLeading)
      config_.onStartedLeading();
  } else {
    logger()->warn("leader election: {} stopped leading lease {}/{}", config_.identity,
                   config_.leaseNamespace, config_.leaseName);
    if (config_.onStoppedLeading)
      config_.onStoppedLeading();
  }
}

bool LeaderElector::tryAcquireOrRenew() {
  const Resource leases = resources::leases();
  const ObjectKey key{config_.leaseNamespace, config_.leaseName};
  auto nowSteady = clock_.steadyNow();
  std::string now = formatRfc3339Micro(clock_.now());
  Object spec = {{"holderIdentity", config_.identity},
                 {"leaseDurationSeconds", config_.leaseDuration.count()},
                 {"acquireTime", now},
                 {"renewTime", now},
                 {"leaseTransitions", 0}};

  auto current = client_.get(leases, key);
  if (!current) {
    if (!current.error().isNotFound()) {
      logger()->warn("leader election: reading lease failed: {}", current.error().describe());
      return false;
    }
    Object lease = {{"apiVersion", "coordination.k8s.io/v1"},
                    {"kind", "Lease"},
                    {"metadata", {{"name", key.name}, {"namespace", key.ns}}},
                    {"spec", spec}};
    auto created = client_.create(leases, lease);
    if (!created)
      return false;  // someone else created it first
    std::lock_guard lock(mu_);
    observedSpec_ = spec;
    observedTime_ = nowSteady;
    return true;
  }

  Object oldSpec = current->contains("spec") ? (*current)["spec"] : Object::object();
  std::string holder = oldSpec.value("holderIdentity", "");
  {
    std::lock_guard lock(mu_);
    if (oldSpec != observedSpec_) {
      observedSpec_ = oldSpec;
      observedTime_ = nowSteady;
    }
    auto duration = std::chrono::seconds(
        oldSpec.value("leaseDurationSeconds", static_cast<int64_t>(config_.leaseDuration.count())));
    bool heldByOther = !holder.empty() && holder != config_.identity;
    if (heldByOther && observedTime_ + duration > nowSteady)
      return false;
  }
  if (holder == config_.identity) {
    spec["acquireTime"] = oldSpec.value("acquireTime", now);
    spec["leaseTransitions"] = oldSpec.value("leaseTransitions", 0);
  } else {
    spec["leaseTransitions"] = oldSpec.value("leaseTransitions", 0) + 1;
  }
  Object updated = *current;
  updated["spec"] = spec;
  // Optimistic concurrency: of two candidates updating the same version only one wins.
  auto written = client_.update(leases, updated);
  if (!written) {
    if (!written.error().isConflict()) {
      logger()->warn("leader election: updating lease failed: {}", written.error().describe());
    }
    return false;
  }
  std::lock_guard lock(mu_);
  observedSpec_ = spec;
  observedTime_ = nowSteady;
  return true;
}

bool LeaderElector::step() {
  bool ok = tryAcquireOrRenew();
  auto now = clock_.steadyNow();
  if (ok) {
    lastRenew_ = now;
    setLeader(true);
  } else if (leader_.load() && now - lastRenew_ >= config_.renewDeadline) {
    setLeader(false);
  }
  return leader_.load();
}

void LeaderElector::run() {
  while (true) {
    step();
    std::unique_lock lock(mu_);
    if (stopCv_.wait_for(lock, config_.retryPeriod, [this] { return stopping_; }))
      break;
  }
  release();
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stopCv_.notify_all();
}

void LeaderElector::release() {
  if (!leader_.load())
    return;
  const ObjectKey key{config_.leaseNamespace, config_.leaseName};
  auto current = client_.get(resources::leases(), key);
  if (current && (*current)["spec"].value("holderIdentity", "") == config_.identity) {
    Object updated = *current;
    std::string now = formatRfc3339Micro(clock_.now());
    updated["spec"]["holderIdentity"] = "";
    updated["spec"]["leaseDurationSeconds"] = 1;
    updated["spec"]["renewTime"] = now;
    if (auto written = client_.update(resources::leases(), updated); !written) {
      logger()->warn("leader election: releasing lease failed: {}", written.error().describe());
    }
  }
  setLeader(false);
}

}  // namespace sluice::kube
