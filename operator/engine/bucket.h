#pragma once

// Tenant buckets for sticky splits (see route_plan.h). A request goes to a rule's last
// destination (the canary) when its bucket is below that destination's weight, so raising the
// weight only moves tenants stable -> canary, never back. The hash matches HAProxy's
// `req.fhdr(X-Tenant-ID),xxh32,mod(1000000)` (xxh32 with seed 0), so the operator can predict
// which tenants HAProxy sends to the canary.

#include <cstdint>
#include <string_view>

namespace sluice::engine {

// XXH32 (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).
std::uint32_t xxh32(std::string_view data, std::uint32_t seed = 0);

// 0..kWeightScale-1 (route_plan.h).
std::int32_t bucketOf(std::string_view tenantId);

// Whether a tenant is on the canary at this weight (percent, 0..100).
bool onCanary(std::string_view tenantId, std::int32_t percent);

}  // namespace sluice::engine
