// One line of a watch stream (what kube-apiserver, or a proxy in between, sends): decoded
// into an event or an ApiError, never a crash.

#include "operator/kube/watch_decode.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)sluice::kube::decodeWatchEvent(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
