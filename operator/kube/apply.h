#pragma once

// Server-side apply that skips no-ops: the API server sees a write only when the cached object's
// spec differs from the desired one (or it does not exist).

#include <string>

#include "operator/kube/client.h"

namespace sluice::kube {

// Returns true when it wrote. `desired` carries apiVersion, kind and metadata.name/namespace.
inline Expected<bool, ApiError> applyIfChanged(Reader& cache, Writer& writer,
                                               const Resource& resource, const Object& desired,
                                               const std::string& fieldManager) {
  auto existing = cache.get(resource, ObjectKey::of(desired));
  if (existing && existing->contains("spec") && desired.contains("spec") &&
      (*existing)["spec"] == desired["spec"]) {
    return false;
  }
  if (auto applied = writer.apply(resource, desired, {fieldManager, true}); !applied) {
    return Unexpected(applied.error());
  }
  return true;
}

}  // namespace sluice::kube
