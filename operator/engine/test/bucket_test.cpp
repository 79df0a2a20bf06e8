#include "operator/engine/bucket.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace sluice::engine {
namespace {

// Reference values from the real HAProxy 2.6.12 on this machine:
//   http-request return ... lf-string "%[req.fhdr(X-Tenant-ID),xxh32]
//   %[req.fhdr(X-Tenant-ID),xxh32,mod(100)]"
// queried with curl -H "X-Tenant-ID: <id>".
struct HaproxySample {
  const char* tenant;
  std::uint32_t hash;
  std::int32_t bucket;
};

// Names the case in test output and CTest names (the default prints raw bytes).
void PrintTo(const HaproxySample& c, std::ostream* os) {
  *os << c.tenant;
}

class HaproxyXxh32 : public ::testing::TestWithParam<HaproxySample> {};

TEST_P(HaproxyXxh32, MatchesHaproxyConverter) {
  const auto& sample = GetParam();
  EXPECT_EQ(xxh32(sample.tenant), sample.hash);
  EXPECT_EQ(bucketOf(sample.tenant), sample.bucket);
}

INSTANTIATE_TEST_SUITE_P(Samples, HaproxyXxh32,
                         ::testing::Values(HaproxySample{"a", 1426945110U, 10},
                                           HaproxySample{"tenant-1", 2233223524U, 24},
                                           HaproxySample{"tenant-42", 3265717879U, 79},
                                           HaproxySample{"acme,corp", 471669923U, 23},
                                           HaproxySample{"hello world", 3468387874U, 74},
                                           // >= 16 bytes: the four-lane loop
                                           HaproxySample{"abcdefghijklmnopqrstuvwxyz0123456789",
                                                         1118732365U, 65},
                                           HaproxySample{"tenant-999", 3433682408U, 8},
                                           // UTF-8 bytes above 0x7f
                                           HaproxySample{"\xc3\x84\xc3\x96", 1585160464U, 64}));

TEST(Xxh32, SpecVectors) {
  // From the xxHash reference implementation's sanity checks.
  EXPECT_EQ(xxh32(""), 0x02CC5D05U);
  EXPECT_EQ(xxh32("", 2654435761U), 0x36B78AE7U);
}

TEST(Bucket, WeightMonotonicity) {
  // A tenant on the canary at weight w stays there at every higher weight.
  for (int i = 0; i < 1000; ++i) {
    const std::string tenant = "tenant-" + std::to_string(i);
    const auto bucket = bucketOf(tenant);
    ASSERT_GE(bucket, 0);
    ASSERT_LT(bucket, 100);
    for (int w = 0; w <= 100; ++w) {
      EXPECT_EQ(onCanary(tenant, w), bucket < w);
    }
  }
}

TEST(Bucket, SpreadOverThousandTenantsTracksWeight) {
  int onCanaryAt25 = 0;
  for (int i = 0; i < 1000; ++i) {
    onCanaryAt25 += onCanary("tenant-" + std::to_string(i), 25) ? 1 : 0;
  }
  // A uniform hash puts 250 +- a few sigma (sigma ~ 13.7) of 1000 tenants below 25.
  EXPECT_NEAR(onCanaryAt25, 250, 50);
}

}  // namespace
}  // namespace sluice::engine
