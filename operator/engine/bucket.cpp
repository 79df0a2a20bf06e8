#include "operator/engine/bucket.h"

#include <bit>

#include "operator/engine/route_plan.h"

namespace sluice::engine {
namespace {

constexpr std::uint32_t kPrime1 = 2654435761U;
constexpr std::uint32_t kPrime2 = 2246822519U;
constexpr std::uint32_t kPrime3 = 3266489917U;
constexpr std::uint32_t kPrime4 = 668265263U;
constexpr std::uint32_t kPrime5 = 374761393U;

// XXH32 reads input as little-endian words whatever the host order.
std::uint32_t readLe32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::uint32_t round(std::uint32_t acc, std::uint32_t lane) {
  acc += lane * kPrime2;
  acc = std::rotl(acc, 13);
  return acc * kPrime1;
}

}  // namespace

std::uint32_t xxh32(std::string_view data, std::uint32_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const auto* const end = p + data.size();
  std::uint32_t h = 0;
  if (data.size() >= 16) {
    std::uint32_t v1 = seed + kPrime1 + kPrime2;
    std::uint32_t v2 = seed + kPrime2;
    std::uint32_t v3 = seed;
    std::uint32_t v4 = seed - kPrime1;
    const auto* const limit = end - 16;
    do {
      v1 = round(v1, readLe32(p));
      v2 = round(v2, readLe32(p + 4));
      v3 = round(v3, readLe32(p + 8));
      v4 = round(v4, readLe32(p + 12));
      p += 16;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<std::uint32_t>(data.size());
  while (end - p >= 4) {
    h += readLe32(p) * kPrime3;
    h = std::rotl(h, 17) * kPrime4;
    p += 4;
  }
  while (p < end) {
    h += static_cast<std::uint32_t>(*p) * kPrime5;
    h = std::rotl(h, 11) * kPrime1;
    ++p;
  }
  h ^= h >> 15;
  h *= kPrime2;
  h ^= h >> 13;
  h *= kPrime3;
  h ^= h >> 16;
  return h;
}

std::int32_t bucketOf(std::string_view tenantId) {
  return static_cast<std::int32_t>(xxh32(tenantId, 0) % static_cast<std::uint32_t>(kWeightScale));
}

bool onCanary(std::string_view tenantId, std::int32_t percent) {
  return bucketOf(tenantId) < weightFromPercent(percent);
}

}  // namespace sluice::engine
