#pragma once

// Kubernetes objects controller tests seed into the fake API server.

#include <string>

#include "operator/kube/client.h"

namespace sluice::kube::testing {

// A Service with one port (80) in `ns`.
inline Object service(const std::string& name, const std::string& ns = "shop") {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"ports", {{{"port", 80}}}}}}};
}

}  // namespace sluice::kube::testing
