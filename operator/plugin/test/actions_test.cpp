#include "operator/plugin/actions.h"

#include <gtest/gtest.h>

namespace sluice::plugin {
namespace {

using kube::Object;

Object rollout(const std::string& phase, bool paused = false, bool regions = false) {
  Object r = {{"metadata", {{"name", "pay"}, {"generation", 3}}},
              {"spec", {{"paused", paused}}},
              {"status", {{"phase", phase}, {"observedGeneration", 3}}}};
  if (regions) {
    r["spec"]["regions"] = Object::parse(R"([{"name": "eu"}, {"name": "us"}])");
    r["status"]["regions"] = Object::parse(
        R"([{"name": "eu", "phase": "RolledBack"}, {"name": "us", "phase": "Progressing"}])");
  }
  return r;
}

TEST(Actions, PromoteAnnotatesUnlessDone) {
  auto patch = actionPatch(Verb::Promote, rollout("Progressing"), {});
  ASSERT_TRUE(patch.hasValue());
  EXPECT_EQ((*patch)["metadata"]["annotations"]["sluice.dev/promote"], "true");
  auto done = actionPatch(Verb::Promote, rollout("Succeeded"), {});
  ASSERT_FALSE(done.hasValue());
  EXPECT_NE(done.error().find("already Succeeded"), std::string::npos) << done.error();
  auto back = actionPatch(Verb::Promote, rollout("RolledBack"), {});
  ASSERT_FALSE(back.hasValue());
  EXPECT_NE(back.error().find("kubectl sluice retry pay"), std::string::npos) << back.error();
}

TEST(Actions, AbortAndRetry) {
  EXPECT_TRUE(actionPatch(Verb::Abort, rollout("Progressing"), {}).hasValue());
  EXPECT_FALSE(actionPatch(Verb::Abort, rollout("RolledBack"), {}).hasValue());
  EXPECT_TRUE(actionPatch(Verb::Retry, rollout("RolledBack"), {}).hasValue());
  auto retry = actionPatch(Verb::Retry, rollout("Progressing"), {});
  ASSERT_FALSE(retry.hasValue());
  EXPECT_NE(retry.error().find("is Progressing"), std::string::npos) << retry.error();
}

TEST(Actions, PauseAndResumeUseTheSpecField) {
  auto pause = actionPatch(Verb::Pause, rollout("Progressing"), {});
  ASSERT_TRUE(pause.hasValue());
  EXPECT_EQ((*pause)["spec"]["paused"], true);
  EXPECT_FALSE(actionPatch(Verb::Pause, rollout("Paused", true), {}).hasValue());
  EXPECT_FALSE(actionPatch(Verb::Pause, rollout("Succeeded"), {}).hasValue());
  auto resume = actionPatch(Verb::Resume, rollout("Progressing"), {});
  ASSERT_FALSE(resume.hasValue());
  EXPECT_NE(resume.error().find("not paused"), std::string::npos) << resume.error();
  EXPECT_EQ((*actionPatch(Verb::Resume, rollout("Paused", true), {}))["spec"]["paused"], false);
}

TEST(Actions, RegionsAreNamedAndChecked) {
  auto promote = actionPatch(Verb::Promote, rollout("Progressing", false, true), {"us"});
  ASSERT_TRUE(promote.hasValue());
  EXPECT_EQ((*promote)["metadata"]["annotations"]["sluice.dev/promote"], "us");
  EXPECT_TRUE(actionPatch(Verb::Retry, rollout("Progressing", false, true), {"eu"}).hasValue());
  EXPECT_FALSE(actionPatch(Verb::Retry, rollout("Progressing", false, true), {"us"}).hasValue());
  auto unknown = actionPatch(Verb::Abort, rollout("Progressing", false, true), {"apac"});
  ASSERT_FALSE(unknown.hasValue());
  EXPECT_NE(unknown.error().find("regions: eu, us"), std::string::npos) << unknown.error();
  EXPECT_FALSE(actionPatch(Verb::Abort, rollout("Progressing"), {"eu"}).hasValue());
}

TEST(Actions, DoneWhenTheOperatorActed) {
  auto r = rollout("Progressing");
  r["metadata"]["annotations"] = {{"sluice.dev/promote", "true"}};
  EXPECT_FALSE(actionDone(Verb::Promote, r));
  r["metadata"]["annotations"].erase("sluice.dev/promote");
  EXPECT_TRUE(actionDone(Verb::Promote, r));
  EXPECT_FALSE(actionDone(Verb::Pause, r));
  r["status"]["phase"] = "Paused";
  EXPECT_TRUE(actionDone(Verb::Pause, r));
  r["metadata"]["generation"] = 4;  // the patch not yet observed
  EXPECT_FALSE(actionDone(Verb::Pause, r));
}

}  // namespace
}  // namespace sluice::plugin
