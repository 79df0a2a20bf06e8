#pragma once

// Golden files: SLUICE_UPDATE_GOLDENS=1 rewrites them from the current output; review the
// diff before committing.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace sluice::render::testing {

inline void expectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(SLUICE_RENDER_GOLDEN_DIR) + "/" + name;
  if (std::getenv("SLUICE_UPDATE_GOLDENS") != nullptr) {
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
