// The small parsers every spec goes through: durations, decimals, quantities, cron schedules,
// RFC 3339 times, base64, and the names and tokens validation checks. The first byte picks the
// parser; round trips must hold where a formatter exists.

#include "operator/api/units.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "operator/common/rfc3339.h"
#include "operator/kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      if (auto d = sluice::api::parseDuration(text)) {
        auto again = sluice::api::parseDuration(sluice::api::formatDuration(*d));
        if (!again || *again != *d) {
          std::abort();  // formatDuration's promise: parse(format(d)) == d
        }
      }
      break;
    case 1:
      if (auto d = sluice::api::parseDecimal(text)) {
        auto again = sluice::api::parseDecimal(sluice::api::formatDecimal(d->micros));
        if (!again || again->micros != d->micros) {
          std::abort();
        }
      }
      break;
    case 2:
      (void)sluice::api::parseQuantity(text);
      break;
    case 3:
      if (!sluice::api::parseCron(text)) {
        (void)sluice::api::cronError(text);
      }
      break;
    case 4:
      if (auto t = sluice::parseRfc3339(text)) {
        (void)sluice::formatRfc3339(*t);
      }
      break;
    case 5:
      (void)sluice::kube::decodeBase64(text);
      break;
    default:
      (void)sluice::api::isHttpToken(text);
      (void)sluice::api::isDns1123Label(text);
      break;
  }
  return 0;
}
