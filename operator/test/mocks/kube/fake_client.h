#pragma once

// Controller tests call the in-memory API server (operator/kube/memory_client.h) a FakeClient.

#include "operator/kube/memory_client.h"

namespace sluice::kube {

using FakeClient = MemoryClient;
using FakeAction = MemoryAction;

}  // namespace sluice::kube
