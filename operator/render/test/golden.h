#pragma once

// Golden files: SLUICE_UPDATE_GOLDENS=1 rewrites them from the current output; review the
// diff before committing. Only the exact value "1" rewrites: any other value (0, empty, false)
// compares, so a variable left set to 0 in a shell or CI job cannot turn every golden test into
// a pass.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace sluice::render::testing {

inline bool updateGoldens() {
  const char* value = std::getenv("SLUICE_UPDATE_GOLDENS");
  return value != nullptr && std::string_view(value) == "1";
}

inline void expectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(SLUICE_RENDER_GOLDEN_DIR) + "/" + name;
  if (updateGoldens()) {
    std::ofstream(path) << actual;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden " << path
                         << " (run with SLUICE_UPDATE_GOLDENS=1 to create it)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "differs from " << path;
}

}  // namespace sluice::render::testing
