// An instant query's answer from Prometheus, or from whatever lies in its place: the first
// two bytes pick the HTTP status (200 most of the time), the rest is the body.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "operator/prometheus/client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int status = 200;
  if (size >= 2 && data[0] == 0xff) {
    status = 100 + data[1] * 2;  // 100..610
    data += 2;
    size -= 2;
  }
  auto value = sluice::prometheus::parseQueryResponse(
      status, std::string_view(reinterpret_cast<const char*>(data), size));
  if (value) {
    (void)*value;
  } else {
    (void)value.error().describe();
  }
  return 0;
}
