#pragma once

// What every controller does with status and Events, in one place: write the status only when
// it changed (at most once a reconcile), report a CR that cannot proceed (Ready=False with a
// reason and a Warning Event, once), and say whether and when to retry.
//
// Status types follow the api/ conventions: `conditions`, `observedGeneration`, `message`, and
// an api::toJson() overload.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/conditions.h"
#include "operator/api/kstatus.h"
#include "operator/api/status_json.h"
#include "operator/common/clock.h"
#include "operator/kube/client.h"
#include "operator/kube/controller.h"
#include "operator/kube/events.h"

namespace sluice::controllers {

inline constexpr const char* kFieldManager = "sluice-operator";

class StatusReporter {
 public:
  StatusReporter(kube::StatusWriter* writer, kube::EventRecorder* events, const Clock* clock)
      : writer_(writer), events_(events), clock_(clock) {}

  // Writes `next` as the object's status when it differs from `current`; true when written.
  // Reconciling and Stalled (what kstatus reads) are derived from the rest of `next` here, so
  // every status the operator writes carries them. A conflict means the object changed since
  // the cache saw it: the caller returns the error and the queue retries once the watch has
  // brought the new version.
  template <class Status>
  Expected<bool, kube::ApiError> write(const kube::Resource& resource, const kube::Object& object,
                                       const Status& current, Status next) {
    api::setKstatusConditions(next, clock_->now());
    if (next == current) {
      return false;
    }
    kube::Object updated = object;
    updated["status"] = api::toJson(next);
    auto result = writer_->updateStatus(resource, updated, {kFieldManager});
    if (!result) {
      return Unexpected(result.error());
    }
    return true;
  }

  // Sets Ready=False (reason, message) on `status`, writes it if that changed and records a
  // Warning Event with it (once, not per retry). retryAfter: when to look again; none: a
  // terminal error (the next change to the object, or to what it watches, triggers again).
  template <class Status>
  kube::ReconcileOutcome blocked(const kube::Resource& resource, const kube::Object& object,
                                 const Status& current, std::int64_t generation,
                                 const std::string& reason, const std::string& message,
                                 std::optional<std::chrono::seconds> retryAfter) {
    Status next = current;
    next.observedGeneration = generation;
    next.message = message;
    api::setCondition(next.conditions,
                      {api::kConditionReady, api::kConditionFalse, reason, message, "", generation},
                      clock_->now());
    if (auto w = writeThen(resource, object, current, next,
                           {{kube::EventType::Warning, reason, message}});
        !w) {
      return Unexpected(kube::ReconcileError{"writing status: " + w.error().describe()});
    }
    if (!retryAfter) {
      return Unexpected(kube::ReconcileError{message, true});
    }
    return kube::ReconcileResult{false, *retryAfter};
  }

  // Writes `next` like write(), then records `events` if it was written. An Event says what
  // the status now says, so it goes only with a status that landed: after a conflict, or a
  // process killed between the two, the retry decides again and says it once (at most once,
  // as Events are best effort).
  struct PendingEvent {
    kube::EventType type;
    std::string reason;
    std::string note;
  };
  template <class Status>
  Expected<bool, kube::ApiError> writeThen(const kube::Resource& resource,
                                           const kube::Object& object, const Status& current,
                                           Status next, const std::vector<PendingEvent>& events) {
    auto written = write(resource, object, current, std::move(next));
    if (written && *written) {
      for (const auto& e : events) {
        event(object, e.type, e.reason, e.note);
      }
    }
    return written;
  }

  // An Event that cannot be written is not worth failing the reconcile for; the recorder
  // logs and counts it.
  void event(const kube::Object& regarding, kube::EventType type, const std::string& reason,
             const std::string& note) {
    if (events_ != nullptr) {
      (void)events_->record(regarding, type, reason, reason, note);
    }
  }

 private:
  kube::StatusWriter* writer_;
  kube::EventRecorder* events_;
  const Clock* clock_;
};

}  // namespace sluice::controllers
