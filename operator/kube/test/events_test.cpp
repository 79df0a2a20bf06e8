#include "operator/kube/events.h"

#include <gtest/gtest.h>

#include "operator/test/mocks/kube/fake_client.h"

namespace sluice::kube {
namespace {

using namespace std::chrono_literals;

Object rollout() {
  return {{"apiVersion", "sluice.dev/v1alpha1"},
          {"kind", "CanaryRollout"},
          {"metadata", {{"name", "pay"}, {"namespace", "ns1"}, {"uid", "u-1"}}}};
}

size_t count(const std::vector<FakeAction>& actions, const std::string& verb) {
  size_t n = 0;
  for (const auto& a : actions)
    n += a.verb == verb ? 1 : 0;
  return n;
}

TEST(EventRecorder, CreatesEventsK8sIoV1Event) {
  FakeClient fake;
  FakeClock clock;
  EventRecorder recorder(fake, clock, {"sluice.dev/sluice-operator", "pod-1", 600s, 16});
  ASSERT_TRUE(recorder
                  .record(rollout(), EventType::Warning, "AnalysisFailed", "Rollback",
                          "error-rate 0.2 > 0.01")
                  .hasValue());
  auto writes = fake.writes();
  ASSERT_EQ(writes.size(), 1u);
  const Object& e = writes[0].object;
  EXPECT_EQ(writes[0].resource, resources::events());
  EXPECT_EQ(e["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(e["metadata"]["namespace"], "ns1");
  EXPECT_EQ(e["regarding"]["kind"], "CanaryRollout");
  EXPECT_EQ(e["regarding"]["uid"], "u-1");
  EXPECT_EQ(e["reason"], "AnalysisFailed");
  EXPECT_EQ(e["action"], "Rollback");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["note"], "error-rate 0.2 > 0.01");
  EXPECT_EQ(e["reportingController"], "sluice.dev/sluice-operator");
  EXPECT_EQ(e["reportingInstance"], "pod-1");
  EXPECT_TRUE(e.contains("eventTime"));
}

TEST(EventRecorder, RepeatsWithinWindowBumpSeries) {
  FakeClient fake;
  FakeClock clock;
  EventRecorder recorder(fake, clock, {"sluice.dev/sluice-operator", "pod-1", 600s, 16});
  for (int i = 0; i < 3; ++i) {
    clock.advance(10s);
    ASSERT_TRUE(recorder.record(rollout(), EventType::Normal, "StepAdvanced", "Promote", "step 2")
                    .hasValue());
  }
  auto writes = fake.writes();
  EXPECT_EQ(count(writes, "create"), 1u);
  ASSERT_EQ(count(writes, "patch"), 2u);
  EXPECT_EQ(writes.back().object["series"]["count"], 3);
  EXPECT_EQ(writes.back().key.name, writes.front().object["metadata"]["name"]);
  auto stored = fake.get(resources::events(), writes.back().key).value();
  EXPECT_EQ(stored["series"]["count"], 3);
  EXPECT_TRUE(stored["series"].contains("lastObservedTime"));

  // A different note is a different event.
  ASSERT_TRUE(recorder.record(rollout(), EventType::Normal, "StepAdvanced", "Promote", "step 3")
                  .hasValue());
  EXPECT_EQ(count(fake.writes(), "create"), 2u);

  // After the window the same event starts a new series.
  clock.advance(601s);
  ASSERT_TRUE(recorder.record(rollout(), EventType::Normal, "StepAdvanced", "Promote", "step 2")
                  .hasValue());
  EXPECT_EQ(count(fake.writes(), "create"), 3u);
}

TEST(EventRecorder, RecreatesWhenTheEventExpiredOnTheServer) {
  FakeClient fake;
  FakeClock clock;
  EventRecorder recorder(fake, clock, {"c", "i", 600s, 16});
  ASSERT_TRUE(recorder.record(rollout(), EventType::Normal, "R", "A", "n").hasValue());
  auto name = fake.writes()[0].object["metadata"]["name"].get<std::string>();
  ASSERT_TRUE(fake.remove(resources::events(), {"ns1", name}).hasValue());
  ASSERT_TRUE(recorder.record(rollout(), EventType::Normal, "R", "A", "n").hasValue());
  EXPECT_EQ(count(fake.writes(), "create"), 2u);
}

TEST(EventRecorder, RejectsMissingFields) {
  FakeClient fake;
  FakeClock clock;
  EventRecorder recorder(fake, clock, {});
  auto r = recorder.record(rollout(), EventType::Normal, "", "A", "n");
  ASSERT_FALSE(r.hasValue());
  EXPECT_NE(r.error().message.find("reason"), std::string::npos);
  EXPECT_TRUE(fake.writes().empty());
}

}  // namespace
}  // namespace sluice::kube
