#include "operator/kube/events.h"

#include <cstdio>

#include "operator/common/rfc3339.h"

namespace sluice::kube {
namespace {

ApiError invalid(std::string message) {
  ApiError e;
  e.kind = ApiError::Kind::Config;
  e.message = std::move(message);
  return e;
}

// Note is capped at 1 kB by the API server's validation.
std::string truncateNote(const std::string& note) {
  return note.size() <= 1024 ? note : note.substr(0, 1021) + "...";
}

}  // namespace

EventRecorder::EventRecorder(Client& client, const Clock& clock, EventRecorderOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {}

Status EventRecorder::record(const Object& regarding, EventType type, const std::string& reason,
                             const std::string& action, const std::string& note) {
  if (!regarding.is_object() || !regarding.contains("metadata")) {
    return Unexpected(invalid("regarding object has no metadata"));
  }
  if (reason.empty())
    return Unexpected(invalid("event reason is required"));
  if (action.empty())
    return Unexpected(invalid("event action is required"));
  const auto& meta = regarding["metadata"];
  std::string ns = meta.value("namespace", "");
  std::string name = meta.value("name", "");
  if (name.empty())
    return Unexpected(invalid("regarding.metadata.name is required"));
  std::string eventNs = ns.empty() ? "default" : ns;
  std::string typeText = type == EventType::Warning ? "Warning" : "Normal";
  std::string shortNote = truncateNote(note);
  std::string dedupeKey = regarding.value("kind", "") + "\x1f" + ns + "\x1f" + name + "\x1f" +
                          meta.value("uid", "") + "\x1f" + typeText + "\x1f" + reason + "\x1f" +
                          shortNote;
  auto nowSteady = clock_.steadyNow();
  std::string now = formatRfc3339Micro(clock_.now());

  std::unique_lock lock(mu_);
  auto it = seen_.find(dedupeKey);
  if (it != seen_.end() && nowSteady - it->second.firstSeen < options_.dedupeWindow) {
    Seen& s = it->second;
    ++s.count;
    lru_.splice(lru_.begin(), lru_, s.lru);
    Object patch = {{"series", {{"count", s.count}, {"lastObservedTime", now}}}};
    ObjectKey key{s.ns, s.name};
    lock.unlock();
    auto patched = client_.patch(resources::events(), key, patch);
    if (patched)
      return {};
    if (!patched.error().isNotFound())
      return Unexpected(patched.error());
    // The Event expired (TTL) on the server: forget it and create a fresh one below.
    lock.lock();
    if (auto again = seen_.find(dedupeKey); again != seen_.end()) {
      lru_.erase(again->second.lru);
      seen_.erase(again);
    }
  } else if (it != seen_.end()) {
    lru_.erase(it->second.lru);
    seen_.erase(it);
  }

  // Unique, like client-go's "<name>.<hex unix nanos>", plus a sequence for same-tick events.
  char suffix[48];
  std::snprintf(suffix, sizeof(suffix), ".%llx%llx",
                static_cast<unsigned long long>(clock_.now().time_since_epoch().count()),
                static_cast<unsigned long long>(++sequence_));
  std::string eventName = name + suffix;
  lock.unlock();

  Object regardingRef = {{"apiVersion", regarding.value("apiVersion", "")},
                         {"kind", regarding.value("kind", "")},
                         {"name", name}};
  if (!ns.empty())
    regardingRef["namespace"] = ns;
  if (meta.contains("uid"))
    regardingRef["uid"] = meta["uid"];
  if (meta.contains("resourceVersion"))
    regardingRef["resourceVersion"] = meta["resourceVersion"];
  Object event = {{"apiVersion", "events.k8s.io/v1"},
                  {"kind", "Event"},
                  {"metadata", {{"name", eventName}, {"namespace", eventNs}}},
                  {"eventTime", now},
                  {"reportingController", options_.reportingController},
                  {"reportingInstance", options_.reportingInstance},
                  {"action", action},
                  {"reason", reason},
                  {"type", typeText},
                  {"note", shortNote},
                  {"regarding", regardingRef}};
  auto created = client_.create(resources::events(), event);
  if (!created)
    return Unexpected(created.error());

  lock.lock();
  lru_.push_front(dedupeKey);
  seen_[dedupeKey] = Seen{eventNs, eventName, 1, nowSteady, lru_.begin()};
  while (seen_.size() > options_.maxTracked) {
    seen_.erase(lru_.back());
    lru_.pop_back();
  }
  return {};
}

}  // namespace sluice::kube
