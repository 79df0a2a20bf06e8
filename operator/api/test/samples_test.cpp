// Every sample a user may `kubectl apply` must parse and validate here too, and every sample
// under samples/invalid/ must be rejected for the reason its first line names:
//   # reject-field: spec.steps
// The directory is listed at run time, so new samples are covered without touching this file.

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

TEST(Samples, EveryValidSampleParsesAndValidates) {
  std::set<std::string> kindsSeen;
  for (const auto& file : yamlFilesIn(samplesDir())) {
    SCOPED_TRACE(file.string());
    const auto docs = readYamlFile(file);
    ASSERT_TRUE(docs) << docs.error();
    for (const auto& doc : *docs) {
      if (!isSluiceObject(doc)) {
        continue;  // e.g. a Deployment or Service the sample ships alongside
      }
      const ValidationErrors errors = parseByKind(doc);
      EXPECT_TRUE(errors.empty()) << doc.value("kind", "") << " "
                                  << doc["metadata"].value("name", "") << ": " << errors.toString();
      kindsSeen.insert(doc.value("kind", ""));
    }
  }
  // An empty or partial samples/ would make this test pass vacuously.
  for (const char* kind : {kKindCanaryRollout, kKindTrafficPolicy, kKindTierLimit}) {
    EXPECT_TRUE(kindsSeen.contains(kind))
        << "no valid " << kind << " sample in " << samplesDir().string();
  }
}

TEST(Samples, EveryInvalidSampleIsRejectedAtItsField) {
  const auto files = yamlFilesIn(samplesDir() / "invalid");
  ASSERT_FALSE(files.empty()) << "no invalid samples in " << (samplesDir() / "invalid").string();
  const std::string marker = "# reject-field:";
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const std::string header = firstLine(file);
    ASSERT_TRUE(header.starts_with(marker)) << "first line must be '" << marker << " <path>'";
    std::string field = header.substr(marker.size());
    field.erase(0, field.find_first_not_of(" \t"));
    field.erase(field.find_last_not_of(" \t\r") + 1);
    ASSERT_FALSE(field.empty()) << "reject-field names no field";

    const auto docs = readYamlFile(file);
    ASSERT_TRUE(docs) << docs.error();
    bool sawSluiceObject = false;
    ValidationErrors all;
    for (const auto& doc : *docs) {
      if (isSluiceObject(doc)) {
        sawSluiceObject = true;
        all.append(parseByKind(doc));
      }
    }
    ASSERT_TRUE(sawSluiceObject) << "no sluice.dev object in the file";
    EXPECT_FALSE(all.empty()) << "accepted, but should be rejected at " << field;
    EXPECT_TRUE(all.hasErrorAt(field))
        << "rejected, but not at " << field << ": " << all.toString();
  }
}

}  // namespace
}  // namespace sluice::api
