#pragma once

// Decoding of one line of a watch stream ({"type":"ADDED","object":{...}}), shared by the REST
// watch, the fake and the benchmarks.

#include <string_view>

#include "operator/kube/client.h"

namespace sluice::kube {

Result<WatchEvent> decodeWatchEvent(std::string_view line);

// Turns a metav1.Status (from an ERROR watch event or an error response body) into an ApiError;
// httpCode is used when the Status carries no code.
ApiError apiErrorFromStatus(const Object& status, int httpCode);

}  // namespace sluice::kube
