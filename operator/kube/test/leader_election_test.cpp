#include "operator/kube/leader_election.h"

#include <gtest/gtest.h>

#include "operator/test/mocks/kube/fake_client.h"

namespace sluice::kube {
namespace {

using namespace std::chrono_literals;

struct Candidate {
  int started = 0;
  int stopped = 0;
  std::unique_ptr<LeaderElector> elector;
};

void make(Candidate& c, FakeClient& fake, FakeClock& clock, const std::string& id) {
  LeaderElectionConfig cfg;
  cfg.leaseNamespace = "sluice-system";
  cfg.leaseName = "sluice-operator";
  cfg.identity = id;
  cfg.leaseDuration = 15s;
  cfg.renewDeadline = 10s;
  cfg.retryPeriod = 2s;
  cfg.onStartedLeading = [&c] { ++c.started; };
  cfg.onStoppedLeading = [&c] { ++c.stopped; };
  auto created = LeaderElector::create(fake, clock, cfg);
  ASSERT_TRUE(created.hasValue()) << created.error();
  c.elector = std::move(created).value();
}

Object lease(FakeClient& fake) {
  return fake.get(resources::leases(), {"sluice-system", "sluice-operator"}).value();
}

TEST(LeaderElection, AcquireRenewTakeoverAndRelease) {
  FakeClient fake;
  FakeClock clock;
  Candidate a;
  Candidate b;
  make(a, fake, clock, "replica-a");
  make(b, fake, clock, "replica-b");

  EXPECT_TRUE(a.elector->step());
  EXPECT_EQ(a.started, 1);
  EXPECT_FALSE(b.elector->step());
  EXPECT_EQ(lease(fake)["spec"]["holderIdentity"], "replica-a");
  EXPECT_EQ(lease(fake)["spec"]["leaseDurationSeconds"], 15);

  clock.advance(5s);
  std::string before = lease(fake)["spec"]["renewTime"];
  EXPECT_TRUE(a.elector->step());
  EXPECT_NE(lease(fake)["spec"]["renewTime"], before) << "renewal moves renewTime";
  EXPECT_FALSE(b.elector->step());

  // a stops renewing; b must wait a full leaseDuration from when it saw the last renewal.
  clock.advance(14s);
  EXPECT_FALSE(b.elector->step());
  clock.advance(2s);
  EXPECT_TRUE(b.elector->step());
  EXPECT_EQ(b.started, 1);
  EXPECT_EQ(lease(fake)["spec"]["holderIdentity"], "replica-b");
  EXPECT_EQ(lease(fake)["spec"]["leaseTransitions"], 1);

  // a comes back: it cannot renew and, past renewDeadline, steps down.
  EXPECT_FALSE(a.elector->step());
  EXPECT_EQ(a.stopped, 1);
  EXPECT_FALSE(a.elector->isLeader());

  // b releases on shutdown; a can take over at once instead of waiting for expiry.
  b.elector->release();
  EXPECT_EQ(b.stopped, 1);
  EXPECT_EQ(lease(fake)["spec"]["holderIdentity"], "");
  EXPECT_TRUE(a.elector->step());
  EXPECT_EQ(a.started, 2);
  EXPECT_EQ(lease(fake)["spec"]["leaseTransitions"], 2);
}

TEST(LeaderElection, ConflictingWriteLosesTheRace) {
  FakeClient fake;
  FakeClock clock;
  Candidate a;
  make(a, fake, clock, "replica-a");
  ASSERT_TRUE(a.elector->step());
  ApiError conflict;
  conflict.code = 409;
  conflict.reason = "Conflict";
  fake.failNext("update", "leases", conflict);
  clock.advance(2s);
  EXPECT_TRUE(a.elector->step()) << "one failed renewal within renewDeadline keeps leadership";
  clock.advance(11s);
  fake.failNext("update", "leases", conflict);
  EXPECT_FALSE(a.elector->step());
  EXPECT_EQ(a.stopped, 1);
}

TEST(LeaderElection, RejectsInconsistentTiming) {
  FakeClient fake;
  FakeClock clock;
  LeaderElectionConfig cfg;
  cfg.leaseNamespace = "ns";
  cfg.leaseName = "l";
  cfg.identity = "me";
  cfg.leaseDuration = 10s;
  cfg.renewDeadline = 10s;
  auto created = LeaderElector::create(fake, clock, cfg);
  ASSERT_FALSE(created.hasValue());
  EXPECT_NE(created.error().find("renewDeadline"), std::string::npos);
}

}  // namespace
}  // namespace sluice::kube
