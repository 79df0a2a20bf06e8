#pragma once

// The day-2 verbs of `kubectl sluice` on a CanaryRollout: the same annotations and field the
// operator honours (engine/canary.h), asked only when they apply, so a script learns at once
// that promoting a Succeeded rollout does nothing.

#include <string>
#include <vector>

#include "operator/common/expected.h"
#include "operator/kube/client.h"

namespace sluice::plugin {

enum class Verb { Promote, Abort, Retry, Pause, Resume };

const char* verbName(Verb verb);

// The JSON merge patch that asks the operator for `verb` on `rollout` (as read from the API
// server), or why it does not apply. `regions`: with spec.regions, the regions it is for
// (empty: all); naming a region the rollout does not have is an error.
Expected<kube::Object, std::string> actionPatch(Verb verb, const kube::Object& rollout,
                                                const std::vector<std::string>& regions);

// Whether the operator has acted on a patch from actionPatch(): the annotation consumed, or
// status.phase reflecting the pause or resume.
bool actionDone(Verb verb, const kube::Object& rollout);

}  // namespace sluice::plugin
