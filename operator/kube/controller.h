#pragma once

// The reconciler contract, as in controller-runtime: reconcile(key) is level-triggered and
// returns what should happen next. An error retries with per-key exponential backoff; a terminal
// error is logged and counted but not retried (the next change to the object triggers again).

#include <chrono>
#include <string>

#include "operator/common/expected.h"
#include "operator/kube/client.h"

namespace sluice::kube {

struct ReconcileResult {
  bool requeue = false;                      // again soon, with backoff
  std::chrono::nanoseconds requeueAfter{0};  // again after this long (no backoff)
};

struct ReconcileError {
  std::string message;
  bool terminal = false;
  static ReconcileError retry(std::string message) { return {std::move(message), false}; }
  static ReconcileError terminalError(std::string message) { return {std::move(message), true}; }
};

using ReconcileOutcome = Expected<ReconcileResult, ReconcileError>;

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // Called from a worker thread; never concurrently for the same key.
  virtual ReconcileOutcome reconcile(const ObjectKey& key) = 0;
};

}  // namespace sluice::kube
