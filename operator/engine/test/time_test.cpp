#include <gtest/gtest.h>

#include "operator/engine/canary.h"

namespace sluice::engine {
namespace {

using std::chrono::seconds;

TEST(Time, FormatsWholeSecondsUtc) {
  const TimePoint t{seconds{1'700'000'000} + std::chrono::milliseconds{999}};
  EXPECT_EQ(formatTime(t), "2023-11-14T22:13:20Z");
}

TEST(Time, ParsesWhatItFormats) {
  const TimePoint t{seconds{1'700'000'000}};
  EXPECT_EQ(parseTime(formatTime(t)), t);
}

TEST(Time, ParsesOffsetsAndFractions) {
  const TimePoint base{seconds{1'700'000'000}};
  EXPECT_EQ(parseTime("2023-11-15T00:13:20+02:00"), base);
  EXPECT_EQ(parseTime("2023-11-14T21:13:20-01:00"), base);
  EXPECT_EQ(parseTime("2023-11-14T22:13:20.5Z"), base + std::chrono::milliseconds{500});
}

TEST(Time, RejectsMalformed) {
  for (const char* bad :
       {"", "2023-11-14", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z", "2023-02-30T22:13:20Z",
        "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20Zjunk", "2023-11-14 22:13:20Z",
        "20x3-11-14T22:13:20Z"}) {
    EXPECT_FALSE(parseTime(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sluice::engine
