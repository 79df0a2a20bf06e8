#include "operator/engine/bucket.h"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>

#include "operator/engine/route_plan.h"

namespace sluice::engine {
namespace {

// Reference hashes from the real HAProxy 2.6.12 on this machine:
//   http-request return ... lf-string "%[req.fhdr(X-Tenant-ID),xxh32]"
// queried with curl -H "X-Tenant-ID: <id>"; the bucket is the hash mod 1,000,000, as the
// generated config computes it (haproxy_provider_test checks the buckets against HAProxy).
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
                         ::testing::Values(HaproxySample{"a", 1426945110U, 945110},
                                           HaproxySample{"tenant-1", 2233223524U, 223524},
                                           HaproxySample{"tenant-42", 3265717879U, 717879},
                                           HaproxySample{"acme,corp", 471669923U, 669923},
                                           HaproxySample{"hello world", 3468387874U, 387874},
                                           // >= 16 bytes: the four-lane loop
                                           HaproxySample{"abcdefghijklmnopqrstuvwxyz0123456789",
                                                         1118732365U, 732365},
                                           HaproxySample{"tenant-999", 3433682408U, 682408},
                                           // UTF-8 bytes above 0x7f
                                           HaproxySample{"\xc3\x84\xc3\x96", 1585160464U, 160464}));

TEST(Xxh32, SpecVectors) {
  // From the xxHash reference implementation's sanity checks.
  EXPECT_EQ(xxh32(""), 0x02CC5D05U);
  EXPECT_EQ(xxh32("", 2654435761U), 0x36B78AE7U);
}

TEST(Bucket, TenantsOnlyMoveOntoTheCanaryAsTheWeightGrows) {
  // Along the default steps, the canary's tenants at one step are all still there at the next;
  // nobody is on the canary at 0 and everybody is at 100.
  std::set<std::string> before;
  for (int percent : {0, 1, 5, 10, 25, 50, 75, 99, 100}) {
    std::set<std::string> now;
    for (int i = 0; i < 1000; ++i) {
      const std::string tenant = "tenant-" + std::to_string(i);
      const auto bucket = bucketOf(tenant);
      ASSERT_GE(bucket, 0);
      ASSERT_LT(bucket, kWeightScale);
      if (onCanary(tenant, percent)) {
        now.insert(tenant);
      }
    }
    for (const auto& tenant : before) {
      EXPECT_TRUE(now.count(tenant)) << tenant << " left the canary at " << percent << " %";
    }
    if (percent == 0) {
      EXPECT_TRUE(now.empty());
    }
    if (percent == 100) {
      EXPECT_EQ(now.size(), 1000U);
    }
    before = std::move(now);
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
