// Every sample a user may `kubectl apply` must parse and validate here too, and every sample
// under samples/invalid/ must be rejected for the reason its first line names:
//   # reject-field: spec.steps
// The directory is listed at run time, so new samples are covered without touching this file.

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "operator/api/parse.h"
#include "operator/api/yaml.h"

namespace sluice::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path samplesDir() {
  return fs::path(SLUICE_SOURCE_DIR) / "samples";
}

std::vector<fs::path> yamlFilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) {
    return files;
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool isSluiceObject(const json& doc) {
  return doc.is_object() && doc.value("apiVersion", "").starts_with(std::string(kGroup) + "/");
}

// Parses one Sluice object by kind; an unknown Sluice kind is itself an error.
ValidationErrors parseByKind(const json& doc) {
  const std::string kind = doc.value("kind", "");
  if (kind == kKindCanaryRollout) {
    auto r = parseCanaryRollout(doc);
    return r ? ValidationErrors{} : r.error();
  }
  if (kind == kKindTrafficPolicy) {
    auto r = parseTrafficPolicy(doc);
    return r ? ValidationErrors{} : r.error();
  }
  if (kind == kKindTierLimit) {
    auto r = parseTierLimit(doc);
    return r ? ValidationErrors{} : r.error();
  }
  ValidationErrors errors;
  errors.add("kind", "unknown Sluice kind \"" + kind + "\"");
  return errors;
}

std::string firstLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// Non-fatal expectations only, so every problem in a directory is reported in one run.
void checkValidSamples(const fs::path& dir) {
  std::set<std::string> kindsSeen;
  for (const auto& file : yamlFilesIn(dir)) {
    SCOPED_TRACE(file.string());
    const auto docs = readYamlFile(file);
    EXPECT_TRUE(docs) << (docs ? "" : docs.error());
    if (!docs) {
      continue;
    }
    for (const auto& doc : *docs) {
      if (!isSluiceObject(doc)) {
        continue;  // e.g. a Deployment or Service the sample ships alongside
      }
      const ValidationErrors errors = parseByKind(doc);
      EXPECT_TRUE(errors.empty()) << doc.value("kind", "") << ": " << errors.toString();
      kindsSeen.insert(doc.value("kind", ""));
    }
  }
  // An empty or partial samples/ would make this check pass vacuously.
  for (const char* kind : {kKindCanaryRollout, kKindTrafficPolicy, kKindTierLimit}) {
    EXPECT_TRUE(kindsSeen.contains(kind)) << "no valid " << kind << " sample in " << dir.string();
  }
}

void checkInvalidSamples(const fs::path& dir) {
  const auto files = yamlFilesIn(dir);
  EXPECT_FALSE(files.empty()) << "no invalid samples in " << dir.string();
  const std::string marker = "# reject-field:";
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const std::string header = firstLine(file);
    if (!header.starts_with(marker)) {
      ADD_FAILURE() << "first line must be '" << marker << " <path>'";
      continue;
    }
    std::string field = header.substr(marker.size());
    field.erase(0, field.find_first_not_of(" \t"));
    field.erase(field.find_last_not_of(" \t\r") + 1);
    if (field.empty()) {
      ADD_FAILURE() << "reject-field names no field";
      continue;
    }
    const auto docs = readYamlFile(file);
    if (!docs) {
      ADD_FAILURE() << docs.error();
      continue;
    }
    bool sawSluiceObject = false;
    ValidationErrors all;
    for (const auto& doc : *docs) {
      if (isSluiceObject(doc)) {
        sawSluiceObject = true;
        all.append(parseByKind(doc));
      }
    }
    EXPECT_TRUE(sawSluiceObject) << "no sluice.dev object in the file";
    EXPECT_FALSE(all.empty()) << "accepted, but should be rejected at " << field;
    EXPECT_TRUE(all.empty() || all.hasErrorAt(field))
        << "rejected, but not at " << field << ": " << all.toString();
  }
}

TEST(Samples, EveryValidSampleParsesAndValidates) {
  checkValidSamples(samplesDir());
}

TEST(Samples, EveryInvalidSampleIsRejectedAtItsField) {
  checkInvalidSamples(samplesDir() / "invalid");
}

// Runs `check` with its failures captured instead of reported; returns their messages.
template <class F>
std::string capturedFailures(F&& check) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    check();
  }
  std::string messages;
  for (int i = 0; i < results.size(); ++i) {
    messages += results.GetTestPartResult(i).message();
    messages += "\n";
  }
  return messages;
}

// The checks above must be able to fail: exercised on a scratch directory.
class SamplesCheckSelfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("sluice-api-samples-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

constexpr const char* kTierLimitYaml = R"(apiVersion: sluice.dev/v1alpha1
kind: TierLimit
metadata: {name: t}
spec:
  targetRefs: [{kind: TrafficPolicy, name: checkout}]
  tiers: [{name: free, requestsPerSecond: 10, burst: 20}]
)";

TEST_F(SamplesCheckSelfTest, EmptyDirectoryFails) {
  EXPECT_THAT(capturedFailures([&] { checkValidSamples(dir_); }),
              ::testing::HasSubstr("no valid CanaryRollout sample"));
  EXPECT_THAT(capturedFailures([&] { checkInvalidSamples(dir_); }),
              ::testing::HasSubstr("no invalid samples"));
}

TEST_F(SamplesCheckSelfTest, MissingKindFails) {
  write("tierlimit.yaml", kTierLimitYaml);
  const std::string failures = capturedFailures([&] { checkValidSamples(dir_); });
  EXPECT_THAT(failures, ::testing::HasSubstr("no valid TrafficPolicy sample"));
  EXPECT_THAT(failures, ::testing::Not(::testing::HasSubstr("no valid TierLimit sample")));
}

TEST_F(SamplesCheckSelfTest, AcceptedInvalidSampleFails) {
  write("ok.yaml", std::string("# reject-field: spec.tiers\n") + kTierLimitYaml);
  EXPECT_THAT(capturedFailures([&] { checkInvalidSamples(dir_); }),
              ::testing::HasSubstr("accepted, but should be rejected"));
}

TEST_F(SamplesCheckSelfTest, RejectionAtAnotherFieldFails) {
  std::string yaml = kTierLimitYaml;
  yaml.replace(yaml.find("burst: 20"), 9, "burst: 5");
  write("burst.yaml", "# reject-field: spec.targetRefs\n" + yaml);
  EXPECT_THAT(capturedFailures([&] { checkInvalidSamples(dir_); }),
              ::testing::HasSubstr("rejected, but not at spec.targetRefs"));
}

TEST_F(SamplesCheckSelfTest, RejectionAtTheNamedFieldPasses) {
  std::string yaml = kTierLimitYaml;
  yaml.replace(yaml.find("burst: 20"), 9, "burst: 5");
  write("burst.yaml", "# reject-field: spec.tiers[0]\n" + yaml);
  EXPECT_EQ(capturedFailures([&] { checkInvalidSamples(dir_); }), "");
}

TEST_F(SamplesCheckSelfTest, MissingMarkerFails) {
  write("nomarker.yaml", kTierLimitYaml);
  EXPECT_THAT(capturedFailures([&] { checkInvalidSamples(dir_); }),
              ::testing::HasSubstr("first line must be"));
}

}  // namespace
}  // namespace sluice::api
