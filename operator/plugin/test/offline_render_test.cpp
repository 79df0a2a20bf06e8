// `kubectl sluice render` runs the operator's reconcilers offline: every valid sample renders,
// every invalid one is refused naming the field its first line names (the same contract
// operator/api/test/samples_test.cpp holds the operator's validation to).

#include "operator/plugin/offline_render.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "operator/api/yaml.h"

namespace sluice::plugin {
namespace {

namespace fs = std::filesystem;
using kube::Object;

fs::path samples() {
  return fs::path(SLUICE_SOURCE_DIR) / "samples";
}

RenderOutput renderFiles(const std::vector<fs::path>& files) {
  RenderInput input;
  for (const auto& f : files) {
    auto docs = api::readYamlFile(f);
    EXPECT_TRUE(docs.hasValue()) << f;
    if (docs) {
      input.objects.insert(input.objects.end(), docs->begin(), docs->end());
    }
  }
  return renderOffline(input);
}

TEST(OfflineRender, CanaryRolloutBecomesItsHttpRouteAtTheFirstStep) {
  auto out = renderFiles({samples() / "canaryrollout-payment-api.yaml"});
  ASSERT_TRUE(out.problems.empty()) << out.problems[0].object << ": " << out.problems[0].message;
  ASSERT_FALSE(out.objects.empty() && out.haproxyConfig.empty());
  const std::string yaml = toYamlStream(out);
  // Whichever provider the sample names, the canary's Service gets the first step's weight.
  EXPECT_NE(yaml.find("payment-api-canary"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("# Source: CanaryRollout default/payment-api\n"), std::string::npos) << yaml;
  EXPECT_FALSE(out.notes.empty());  // its Services were assumed
  // The stream reads back as YAML, object by object.
  auto docs = api::yamlToJson(yaml);
  ASSERT_TRUE(docs.hasValue()) << docs.error();
  EXPECT_EQ(docs->size(), out.objects.size() + (out.haproxyConfig.empty() ? 0 : 1));
  for (const auto& d : *docs) {
    EXPECT_FALSE(d["metadata"].contains("uid")) << d.dump();
    // No owner reference: without the CR's uid the API server would refuse the object.
    EXPECT_FALSE(d["metadata"].contains("ownerReferences")) << d.dump();
    EXPECT_FALSE(d.contains("status")) << d.dump();
  }
}

TEST(OfflineRender, EverySampleTogether) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(samples())) {
    if (e.path().extension() == ".yaml") {
      files.push_back(e.path());
    }
  }
  auto out = renderFiles(files);
  for (const auto& p : out.problems) {
    ADD_FAILURE() << p.object << ": " << p.reason << ": " << p.message;
  }
  // The TierLimit's HPA, and the TrafficPolicy's rate limits in its route.
  bool hpa = false;
  for (const auto& o : out.objects) {
    hpa |= o.value("kind", "") == "HorizontalPodAutoscaler";
  }
  EXPECT_TRUE(hpa) << toYamlStream(out);
  const std::string yaml = toYamlStream(out);
  EXPECT_TRUE(yaml.find("limits") != std::string::npos ||
              yaml.find("rateLimit") != std::string::npos)
      << yaml;
}

TEST(OfflineRender, HaproxyConfigNamesTheMapDirNotAScratchDir) {
  RenderInput input;
  input.haproxyMapDir = "/etc/haproxy/from-test";
  input.objects = *api::yamlToJson(R"(
apiVersion: sluice.dev/v1alpha1
kind: CanaryRollout
metadata: {name: web, namespace: shop}
spec:
  stable: {serviceRef: {name: web-stable, port: 8080}}
  canary: {serviceRef: {name: web-canary, port: 8080}}
  route: {hostnames: [web.example.com], provider: haproxy}
)");
  auto out = renderOffline(input);
  ASSERT_TRUE(out.problems.empty()) << out.problems[0].message;
  ASSERT_FALSE(out.haproxyConfig.empty());
  EXPECT_NE(out.haproxyConfig.find("/etc/haproxy/from-test/weights.map"), std::string::npos)
      << out.haproxyConfig;
  EXPECT_EQ(out.haproxyConfig.find("kubectl-sluice-"), std::string::npos);
  EXPECT_NE(out.haproxyConfig.find("web-canary.shop.svc.cluster.local:8080"), std::string::npos)
      << out.haproxyConfig;
  EXPECT_NE(out.haproxyMap.find(" "), std::string::npos) << out.haproxyMap;
  EXPECT_TRUE(out.objects.empty());  // haproxy only: no HTTPRoute
}

TEST(OfflineRender, EveryInvalidSampleIsRefusedAtItsField) {
  int checked = 0;
  for (const auto& e : fs::directory_iterator(samples() / "invalid")) {
    if (e.path().extension() != ".yaml") {
      continue;
    }
    SCOPED_TRACE(e.path().string());
    std::ifstream in(e.path());
    std::string first;
    std::getline(in, first);
    const std::string marker = "# reject-field:";
    ASSERT_EQ(first.rfind(marker, 0), 0u);
    std::string field = first.substr(marker.size());
    field.erase(0, field.find_first_not_of(' '));
    auto out = renderFiles({e.path()});
    ASSERT_FALSE(out.problems.empty()) << "rendered, but should be refused at " << field;
    EXPECT_EQ(out.problems[0].reason, "InvalidSpec");
    EXPECT_NE(out.problems[0].message.find(field), std::string::npos) << out.problems[0].message;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(OfflineRender, ForeignKindsAreIgnoredAndWrongApiVersionIsRefused) {
  RenderInput input;
  input.objects = *api::yamlToJson(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: sluice.dev/v2
kind: TierLimit
metadata: {name: t}
)");
  auto out = renderOffline(input);
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_NE(out.problems[0].message.find("apiVersion"), std::string::npos);
  EXPECT_TRUE(out.objects.empty());
}

}  // namespace
}  // namespace sluice::plugin
