#pragma once

// Records events.k8s.io/v1 Events about objects. Repeats of the same (regarding, type, reason,
// note) within the dedupe window do not create new Events: the existing Event's
// series.count and series.lastObservedTime are patched instead, as client-go's event
// broadcaster does, so a flapping controller cannot flood etcd.

#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "operator/common/clock.h"
#include "operator/kube/client.h"

namespace sluice::kube {

struct EventRecorderOptions {
  std::string reportingController = "sluice.dev/sluice-operator";
  std::string reportingInstance;  // pod name
  std::chrono::seconds dedupeWindow{600};
  size_t maxTracked = 4096;  // memory bound on the dedupe cache (least recently used dropped)
};

enum class EventType { Normal, Warning };

class EventRecorder {
 public:
  EventRecorder(Client& client, const Clock& clock, EventRecorderOptions options);

  // regarding: the object the event is about (apiVersion, kind, metadata.name/namespace/uid).
  // action: what the controller did ("Promote", "Rollback"); reason: why, CamelCase.
  Status record(const Object& regarding, EventType type, const std::string& reason,
                const std::string& action, const std::string& note);

 private:
  struct Seen {
    std::string ns;
    std::string name;  // the Event object's name
    int64_t count = 1;
    std::chrono::steady_clock::time_point firstSeen;
    std::list<std::string>::iterator lru;
  };

  Client& client_;
  const Clock& clock_;
  EventRecorderOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, Seen> seen_;
  std::list<std::string> lru_;
  uint64_t sequence_ = 0;
};

}  // namespace sluice::kube
