#pragma once

// What `kubectl sluice get` and `status` print, from the objects as the API server returns them
// (pure: no I/O, `now` passed in, so every screen is testable).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "operator/common/clock.h"
#include "operator/kube/client.h"

namespace sluice::plugin {

// One of the three kinds, as users name it on the command line.
struct Kind {
  const char* name;       // CanaryRollout
  const char* plural;     // canaryrollouts
  const char* singular;   // canaryrollout
  const char* shortName;  // cr
  kube::Resource resource() const;
};
const std::vector<Kind>& kinds();
// "cr", "canaryrollout", "canaryrollouts", "CanaryRollout", "tp", ...; nullptr if none.
const Kind* findKind(const std::string& text);

// Health as GitOps tools show it, from the status the operator writes: Healthy, Progressing,
// Suspended (a paused rollout), Degraded; "Unknown" only before the operator saw the object.
std::string healthOf(const kube::Object& object);
// The status column of `get`: a rollout's phase, else InvalidSpec, Degraded, Ready, NotReady.
std::string statusOf(const kube::Object& object);
// The detail column of `get`: "step 3/6, 25% canary", "3/3 backends healthy", "floor 4".
std::string detailOf(const kube::Object& object);
// "5s", "3m", "2h", "4d": kubectl's age format.
std::string age(const std::string& rfc3339, Clock::TimePoint now);

struct Row {
  std::string ns, kind, name, status, health, detail, age;
};
Row rowOf(const kube::Object& object, Clock::TimePoint now);
// The table, columns padded as kubectl pads them; `withNamespace` adds NAMESPACE first.
std::string table(const std::vector<Row>& rows, bool withNamespace);

// The `status` screen of one object; `events` are events.k8s.io/v1 Events about it, newest
// last; `related` is what the screen adds from other objects (a TierLimit's HPA), or null.
std::string statusScreen(const kube::Object& object, const std::vector<kube::Object>& events,
                         const kube::Object* related, Clock::TimePoint now);
// One line for `status --watch` when not on a terminal. Without values, the metrics' verdicts
// only: what decides whether something changed (a metric's value moves at every analysis).
std::string summaryLine(const kube::Object& object, bool withValues = true);

// Seconds in a Go-style duration as the CRDs carry them ("30s", "1m30s", "2h"); nullopt if it
// is not one.
std::optional<std::int64_t> durationSeconds(const std::string& text);

// "[██████░░░░] 25%" with `width` cells.
std::string progressBar(int percent, int width);

}  // namespace sluice::plugin
