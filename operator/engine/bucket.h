#pragma once

// Tenant buckets for sticky canary splits. A request goes to the canary when its bucket is
// below the canary weight, so raising the weight only moves tenants stable -> canary, never
// back. The hash matches HAProxy's `req.hdr(X-Tenant-ID),xxh32,mod(100)` (xxh32 with seed 0),
// so the operator can predict which tenants HAProxy sends to the canary.

#include <cstdint>
#include <string_view>

namespace sluice::engine {

// XXH32 (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).
std::uint32_t xxh32(std::string_view data, std::uint32_t seed = 0);

// 0..99.
std::int32_t bucketOf(std::string_view tenantId);

// Whether a tenant is on the canary at this weight (0..100).
inline bool onCanary(std::string_view tenantId, std::int32_t weight) {
  return bucketOf(tenantId) < weight;
}

}  // namespace sluice::engine
