#include "operator/common/expected.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

Expected<int, std::string> parsePositive(int v) {
  if (v <= 0) {
    return Unexpected(std::string("must be positive"));
  }
  return v;
}

TEST(ExpectedTest, CarriesValueOrError) {
  auto ok = parsePositive(3);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 3);
  auto bad = parsePositive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "must be positive");
  EXPECT_EQ(bad.valueOr(7), 7);
}

TEST(ExpectedTest, VoidSpecialisation) {
  Expected<void, std::string> ok;
  EXPECT_TRUE(ok);
  Expected<void, std::string> bad = Unexpected(std::string("nope"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "nope");
}

}  // namespace
}  // namespace sluice
