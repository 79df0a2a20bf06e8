#include "operator/kube/memory_client.h"

#include <algorithm>
#include <atomic>
#include <sstream>

namespace sluice::kube {
namespace {

std::string resourceId(const Resource& r) {
  return r.group + "/" + r.version + "/" + r.plural;
}

ApiError apiError(int code, std::string reason, std::string message) {
  ApiError e;
  e.kind = ApiError::Kind::Api;
  e.code = code;
  e.reason = std::move(reason);
  e.message = std::move(message);
  return e;
}

ApiError invalidRequest(std::string message) {
  ApiError e;
  e.kind = ApiError::Kind::Config;
  e.message = std::move(message);
  return e;
}

std::string rvOf(const Object& o) {
  if (!o.contains("metadata") || !o["metadata"].is_object())
    return "";
  return o["metadata"].value("resourceVersion", "");
}

bool labelsMatch(const Object& object, const std::string& selector) {
  if (selector.empty())
    return true;
  Object labels = Object::object();
  if (object.contains("metadata") && object["metadata"].contains("labels")) {
    labels = object["metadata"]["labels"];
  }
  std::stringstream ss(selector);
  std::string term;
  while (std::getline(ss, term, ',')) {
    bool negate = false;
    std::string k;
    std::string v;
    if (auto p = term.find("!="); p != std::string::npos) {
      negate = true;
      k = term.substr(0, p);
      v = term.substr(p + 2);
    } else if (auto q = term.find("=="); q != std::string::npos) {
      k = term.substr(0, q);
      v = term.substr(q + 2);
    } else if (auto r = term.find('='); r != std::string::npos) {
      k = term.substr(0, r);
      v = term.substr(r + 1);
    } else {
      if (!labels.contains(term))
        return false;  // existence
      continue;
    }
    bool equal = labels.contains(k) && labels[k].is_string() && labels[k].get<std::string>() == v;
    if (equal == negate)
      return false;
  }
  return true;
}

bool fieldsMatch(const Object& object, const std::string& selector) {
  if (selector.empty())
    return true;
  std::stringstream ss(selector);
  std::string term;
  auto key = ObjectKey::of(object);
  while (std::getline(ss, term, ',')) {
    auto p = term.find('=');
    if (p == std::string::npos)
      return false;
    std::string field = term.substr(0, p);
    std::string value = term.substr(term[p + 1] == '=' ? p + 2 : p + 1);
    if (field == "metadata.name" && key.name != value)
      return false;
    if (field == "metadata.namespace" && key.ns != value)
      return false;
  }
  return true;
}

}  // namespace

struct HistoryEvent {
  int64_t rv;
  std::string resourceId;
  WatchEvent event;
};

struct MemoryClient::State {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::map<ObjectKey, Object>> store;  // resourceId -> key -> object
  int64_t rv = 100;
  int64_t compactedRv = 0;
  int64_t uid = 0;
  std::vector<MemoryAction> actions;
  std::deque<HistoryEvent> history;
  uint64_t closeGeneration = 0;
  uint64_t goneGeneration = 0;
  size_t openWatches = 0;
  struct Failure {
    std::string verb;
    std::string plural;
    ApiError error;
    int times;
  };
  std::vector<Failure> failures;

  std::optional<ApiError> takeFailure(const std::string& verb, const Resource& r) {
    for (auto it = failures.begin(); it != failures.end(); ++it) {
      if ((it->verb == "*" || it->verb == verb) && (it->plural == "*" || it->plural == r.plural)) {
        ApiError e = it->error;
        if (--it->times <= 0)
          failures.erase(it);
        return e;
      }
    }
    return std::nullopt;
  }

  void record(MemoryAction a) { actions.push_back(std::move(a)); }

  void emit(const Resource& r, WatchEvent::Type type, const Object& object) {
    history.push_back({rv, resourceId(r), {type, object}});
    cv.notify_all();
  }

  std::string nextRv() { return std::to_string(++rv); }

  Result<Object> createLocked(const Resource& r, Object object) {
    if (!object.is_object())
      return Unexpected(invalidRequest("object must be a JSON object"));
    auto key = ObjectKey::of(object);
    if (key.name.empty()) {
      if (object["metadata"].contains("generateName")) {
        key.name = object["metadata"]["generateName"].get<std::string>() + std::to_string(uid + 1);
        object["metadata"]["name"] = key.name;
      } else {
        return Unexpected(apiError(422, "Invalid", "metadata.name: Required value"));
      }
    }
    if (r.namespaced && key.ns.empty()) {
      return Unexpected(apiError(422, "Invalid", "metadata.namespace: Required value"));
    }
    auto& objects = store[resourceId(r)];
    if (objects.contains(key)) {
      return Unexpected(
          apiError(409, "AlreadyExists", r.plural + " \"" + key.name + "\" already exists"));
    }
    if (!object.contains("apiVersion"))
      object["apiVersion"] = r.apiVersion();
    if (!object.contains("kind"))
      object["kind"] = r.kind;
    auto& meta = object["metadata"];
    meta["uid"] = "uid-" + std::to_string(++uid);
    meta["resourceVersion"] = nextRv();
    meta["generation"] = 1;
    if (!meta.contains("creationTimestamp"))
      meta["creationTimestamp"] = "2026-01-01T00:00:00Z";
    objects[key] = object;
    emit(r, WatchEvent::Type::Added, object);
    return object;
  }

  // Stores `next` as the new state of an existing object, bumping RV and (on spec change)
  // generation.
  Result<Object> commitLocked(const Resource& r, const ObjectKey& key, Object next) {
    auto& stored = store[resourceId(r)][key];
    auto& meta = next["metadata"];
    meta["uid"] = stored["metadata"]["uid"];
    meta["creationTimestamp"] = stored["metadata"]["creationTimestamp"];
    int64_t generation = stored["metadata"].value("generation", int64_t{1});
    Object oldSpec = stored.contains("spec") ? stored["spec"] : Object();
    Object newSpec = next.contains("spec") ? next["spec"] : Object();
    if (oldSpec != newSpec)
      ++generation;
    meta["generation"] = generation;
    if (stored["metadata"].contains("deletionTimestamp")) {
      meta["deletionTimestamp"] = stored["metadata"]["deletionTimestamp"];
    }
    meta["resourceVersion"] = nextRv();
    // Clearing the last finalizer of an object being deleted completes the deletion.
    bool finalizersEmpty = !meta.contains("finalizers") || meta["finalizers"].empty();
    if (meta.contains("deletionTimestamp") && finalizersEmpty) {
      store[resourceId(r)].erase(key);
      emit(r, WatchEvent::Type::Deleted, next);
      return next;
    }
    stored = next;
    emit(r, WatchEvent::Type::Modified, stored);
    return stored;
  }

  Result<Object*> findLocked(const Resource& r, const ObjectKey& rawKey) {
    ObjectKey key{r.namespaced ? rawKey.ns : "", rawKey.name};
    auto& objects = store[resourceId(r)];
    auto it = objects.find(key);
    if (it == objects.end()) {
      return Unexpected(apiError(404, "NotFound", r.plural + " \"" + key.name + "\" not found"));
    }
    return &it->second;
  }
};

namespace {

class FakeWatchStream final : public WatchStream {
 public:
  FakeWatchStream(std::shared_ptr<MemoryClient::State> state, std::string id, std::string ns,
                  WatchOptions options, int64_t fromRv, size_t position)
      : state_(std::move(state)),
        id_(std::move(id)),
        ns_(std::move(ns)),
        options_(std::move(options)),
        fromRv_(fromRv),
        position_(position) {
    std::lock_guard lock(state_->mu);
    closeGeneration_ = state_->closeGeneration;
    goneGeneration_ = state_->goneGeneration;
    ++state_->openWatches;
  }
  ~FakeWatchStream() override {
    std::lock_guard lock(state_->mu);
    --state_->openWatches;
  }

  Result<std::optional<WatchEvent>> next() override {
    std::unique_lock lock(state_->mu);
    while (true) {
      if (cancelled_ || state_->closeGeneration != closeGeneration_) {
        return std::optional<WatchEvent>();
      }
      if (state_->goneGeneration != goneGeneration_ && !goneSent_) {
        goneSent_ = true;
        return std::optional<WatchEvent>(WatchEvent{WatchEvent::Type::Error,
                                                    {{"kind", "Status"},
                                                     {"apiVersion", "v1"},
                                                     {"status", "Failure"},
                                                     {"code", 410},
                                                     {"reason", "Expired"},
                                                     {"message", "too old resource version"}}});
      }
      // History is append-only except for compaction at the front; re-find our position.
      while (position_ < state_->history.size()) {
        const auto& h = state_->history[position_++];
        if (h.rv <= fromRv_ || h.resourceId != id_)
          continue;
        auto key = ObjectKey::of(h.event.object);
        if (!ns_.empty() && key.ns != ns_)
          continue;
        if (!labelsMatch(h.event.object, options_.labelSelector) ||
            !fieldsMatch(h.event.object, options_.fieldSelector)) {
          continue;
        }
        fromRv_ = h.rv;
        return std::optional<WatchEvent>(h.event);
      }
      state_->cv.wait(lock);
    }
  }

  void cancel() override {
    {
      std::lock_guard lock(state_->mu);
      cancelled_ = true;
    }
    state_->cv.notify_all();
  }

 private:
  std::shared_ptr<MemoryClient::State> state_;
  std::string id_;
  std::string ns_;
  WatchOptions options_;
  int64_t fromRv_;
  size_t position_;
  uint64_t closeGeneration_ = 0;
  uint64_t goneGeneration_ = 0;
  bool cancelled_ = false;
  bool goneSent_ = false;
};

}  // namespace

MemoryClient::MemoryClient() : state_(std::make_shared<State>()) {}
MemoryClient::~MemoryClient() {
  closeWatches();
}

Object MemoryClient::seed(const Resource& resource, Object object) {
  std::lock_guard lock(state_->mu);
  auto created = state_->createLocked(resource, std::move(object));
  return created ? *created : Object();
}

std::vector<MemoryAction> MemoryClient::actions() const {
  std::lock_guard lock(state_->mu);
  return state_->actions;
}

std::vector<MemoryAction> MemoryClient::writes() const {
  std::lock_guard lock(state_->mu);
  std::vector<MemoryAction> out;
  for (const auto& a : state_->actions) {
    if (a.verb != "get" && a.verb != "list" && a.verb != "watch")
      out.push_back(a);
  }
  return out;
}

void MemoryClient::clearActions() {
  std::lock_guard lock(state_->mu);
  state_->actions.clear();
}

void MemoryClient::failNext(const std::string& verb, const std::string& plural, ApiError error,
                            int times) {
  std::lock_guard lock(state_->mu);
  state_->failures.push_back({verb, plural, std::move(error), times});
}

void MemoryClient::clearFailures() {
  std::lock_guard lock(state_->mu);
  state_->failures.clear();
}

void MemoryClient::compactHistory() {
  std::lock_guard lock(state_->mu);
  state_->compactedRv = state_->rv;
  state_->cv.notify_all();
}

void MemoryClient::expireWatches() {
  {
    std::lock_guard lock(state_->mu);
    state_->compactedRv = state_->rv;
    ++state_->goneGeneration;
  }
  state_->cv.notify_all();
}

void MemoryClient::closeWatches() {
  {
    std::lock_guard lock(state_->mu);
    ++state_->closeGeneration;
  }
  state_->cv.notify_all();
}

std::string MemoryClient::currentResourceVersion() const {
  std::lock_guard lock(state_->mu);
  return std::to_string(state_->rv);
}

size_t MemoryClient::openWatches() const {
  std::lock_guard lock(state_->mu);
  return state_->openWatches;
}

Result<Object> MemoryClient::get(const Resource& resource, const ObjectKey& key) {
  std::lock_guard lock(state_->mu);
  state_->record({"get", "", resource, key, Object(), "", false});
  if (auto f = state_->takeFailure("get", resource))
    return Unexpected(*f);
  auto found = state_->findLocked(resource, key);
  if (!found)
    return Unexpected(found.error());
  return **found;
}

Result<Object> MemoryClient::getStatus(const Resource& resource, const ObjectKey& key) {
  return get(resource, key);
}

Result<ObjectList> MemoryClient::list(const Resource& resource, const std::string& ns,
                                      const ListOptions& options) {
  std::lock_guard lock(state_->mu);
  state_->record({"list", "", resource, {ns, ""}, Object(), "", false});
  if (auto f = state_->takeFailure("list", resource))
    return Unexpected(*f);
  // Only the page is copied: a paginated list of a large collection stays linear.
  std::vector<const Object*> all;
  for (const auto& [key, object] : state_->store[resourceId(resource)]) {
    if (!ns.empty() && key.ns != ns)
      continue;
    if (!labelsMatch(object, options.labelSelector))
      continue;
    if (!fieldsMatch(object, options.fieldSelector))
      continue;
    all.push_back(&object);
  }
  size_t start = 0;
  if (!options.continueToken.empty()) {
    try {
      start = std::stoul(options.continueToken);
    } catch (const std::exception&) {
      return Unexpected(apiError(400, "BadRequest", "invalid continue token"));
    }
  }
  ObjectList out;
  out.resourceVersion = std::to_string(state_->rv);
  size_t end = all.size();
  if (options.limit > 0)
    end = std::min(all.size(), start + static_cast<size_t>(options.limit));
  for (size_t i = start; i < end; ++i)
    out.items.push_back(*all[i]);
  if (end < all.size())
    out.continueToken = std::to_string(end);
  return out;
}

Result<Object> MemoryClient::create(const Resource& resource, const Object& object,
                                    const CreateOptions& options) {
  std::lock_guard lock(state_->mu);
  state_->record(
      {"create", "", resource, ObjectKey::of(object), object, options.fieldManager, false});
  if (auto f = state_->takeFailure("create", resource))
    return Unexpected(*f);
  Object copy = object;
  if (resource.namespaced && copy.is_object())
    copy.erase("status");
  return state_->createLocked(resource, std::move(copy));
}

Result<Object> MemoryClient::update(const Resource& resource, const Object& object,
                                    const UpdateOptions& options) {
  std::lock_guard lock(state_->mu);
  auto key = ObjectKey::of(object);
  state_->record({"update", "", resource, key, object, options.fieldManager, false});
  if (auto f = state_->takeFailure("update", resource))
    return Unexpected(*f);
  auto found = state_->findLocked(resource, key);
  if (!found)
    return Unexpected(found.error());
  std::string sent = rvOf(object);
  if (!sent.empty() && sent != rvOf(**found)) {
    return Unexpected(apiError(409, "Conflict",
                               "Operation cannot be fulfilled on " + resource.plural + " \"" +
                                   key.name +
                                   "\": the object has been modified; please apply your "
                                   "changes to the latest version and try again"));
  }
  Object next = object;
  // The main endpoint ignores status changes.
  if ((*found)->contains("status")) {
    next["status"] = (**found)["status"];
  } else {
    next.erase("status");
  }
  return state_->commitLocked(resource, key, std::move(next));
}

Result<Object> MemoryClient::updateStatus(const Resource& resource, const Object& object,
                                          const UpdateOptions& options) {
  std::lock_guard lock(state_->mu);
  auto key = ObjectKey::of(object);
  state_->record({"update", "status", resource, key, object, options.fieldManager, false});
  if (auto f = state_->takeFailure("update_status", resource))
    return Unexpected(*f);
  auto found = state_->findLocked(resource, key);
  if (!found)
    return Unexpected(found.error());
  std::string sent = rvOf(object);
  if (!sent.empty() && sent != rvOf(**found)) {
    return Unexpected(apiError(409, "Conflict", "the object has been modified"));
  }
  Object next = **found;
  if (object.contains("status")) {
    next["status"] = object["status"];
  } else {
    next.erase("status");
  }
  return state_->commitLocked(resource, key, std::move(next));
}

Result<Object> MemoryClient::patch(const Resource& resource, const ObjectKey& key,
                                   const Object& mergePatch, const PatchOptions& options) {
  std::lock_guard lock(state_->mu);
  state_->record({"patch", "", resource, key, mergePatch, options.fieldManager, false});
  if (auto f = state_->takeFailure("patch", resource))
    return Unexpected(*f);
  auto found = state_->findLocked(resource, key);
  if (!found)
    return Unexpected(found.error());
  Object next = **found;
  Object p = mergePatch;
  if (p.is_object())
    p.erase("status");
  next.merge_patch(p);
  return state_->commitLocked(resource, ObjectKey::of(**found), std::move(next));
}

Result<Object> MemoryClient::patchStatus(const Resource& resource, const ObjectKey& key,
                                         const Object& mergePatch, const PatchOptions& options) {
  std::lock_guard lock(state_->mu);
  state_->record({"patch", "status", resource, key, mergePatch, options.fieldManager, false});
  if (auto f = state_->takeFailure("patch_status", resource))
    return Unexpected(*f);
  auto found = state_->findLocked(resource, key);
  if (!found)
    return Unexpected(found.error());
  Object next = **found;
  if (mergePatch.is_object() && mergePatch.contains("status")) {
    Object status = next.contains("status") ? next["status"] : Object::object();
    status.merge_patch(mergePatch["status"]);
    next["status"] = status;
  }
  return state_->commitLocked(resource, ObjectKey::of(**found), std::move(next));
}

Result<Object> MemoryClient::apply(const Resource& resource, const Object& object,
                                   const ApplyOptions& options) {
  std::lock_guard lock(state_->mu);
  auto key = ObjectKey::of(object);
  state_->record({"apply", "", resource, key, object, options.fieldManager, options.force});
  if (options.fieldManager.empty()) {
    return Unexpected(invalidRequest("ApplyOptions.fieldManager is required"));
  }
  if (auto f = state_->takeFailure("apply", resource))
    return Unexpected(*f);
  Object intent = object;
  if (intent.is_object())
    intent.erase("status");
  auto found = state_->findLocked(resource, key);
  if (!found)
    return state_->createLocked(resource, std::move(intent));
  Object next = **found;
  if (intent.contains("metadata"))
    intent["metadata"].erase("resourceVersion");
  next.merge_patch(intent);
  // A no-op apply does not bump resourceVersion on a real server either.
  if (next == **found)
    return next;
  return state_->commitLocked(resource, key, std::move(next));
}

Result<Object> MemoryClient::applyStatus(const Resource& resource, const Object& object,
                                         const ApplyOptions& options) {
  std::lock_guard lock(state_->mu);
  auto key = ObjectKey::of(object);
  state_->record({"apply", "status", resource, key, object, options.fieldManager, options.force});
  if (options.fieldManager.empty()) {
    return Unexpected(invalidRequest("ApplyOptions.fieldManager is required"));
  }
  if (auto f = state_->takeFailure("apply_status", resource))
    return Unexpected(*f);
  auto found = state_->findLocked(resource, key);
  if (!found)
    return Unexpected(found.error());
  Object next = **found;
  if (object.contains("status")) {
    Object status = next.contains("status") ? next["status"] : Object::object();
    status.merge_patch(object["status"]);
    next["status"] = status;
  }
  if (next == **found)
    return next;
  return state_->commitLocked(resource, key, std::move(next));
}

Status MemoryClient::remove(const Resource& resource, const ObjectKey& key,
                            const DeleteOptions& options) {
  std::lock_guard lock(state_->mu);
  state_->record({"delete", "", resource, key, Object(), "", false});
  if (auto f = state_->takeFailure("delete", resource))
    return Unexpected(*f);
  auto found = state_->findLocked(resource, key);
  if (!found)
    return Unexpected(found.error());
  Object& stored = **found;
  if (!options.preconditionResourceVersion.empty() &&
      options.preconditionResourceVersion != rvOf(stored)) {
    return Unexpected(apiError(409, "Conflict", "precondition failed: resourceVersion"));
  }
  auto& meta = stored["metadata"];
  if (meta.contains("finalizers") && !meta["finalizers"].empty()) {
    if (!meta.contains("deletionTimestamp")) {
      Object next = stored;
      next["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
      meta["deletionTimestamp"] = next["metadata"]["deletionTimestamp"];
      meta["resourceVersion"] = state_->nextRv();
      state_->emit(resource, WatchEvent::Type::Modified, stored);
    }
    return {};
  }
  Object last = stored;
  last["metadata"]["resourceVersion"] = state_->nextRv();
  state_->store[resourceId(resource)].erase(ObjectKey::of(last));
  state_->emit(resource, WatchEvent::Type::Deleted, last);
  return {};
}

Result<std::unique_ptr<WatchStream>> MemoryClient::watch(const Resource& resource,
                                                         const std::string& ns,
                                                         const WatchOptions& options) {
  int64_t fromRv = 0;
  size_t position = 0;
  {
    std::lock_guard lock(state_->mu);
    state_->record({"watch", "", resource, {ns, ""}, Object(), "", false});
    if (auto f = state_->takeFailure("watch", resource))
      return Unexpected(*f);
    if (options.resourceVersion.empty() || options.resourceVersion == "0") {
      fromRv = state_->rv;
    } else {
      try {
        fromRv = std::stoll(options.resourceVersion);
      } catch (const std::exception&) {
        return Unexpected(apiError(400, "BadRequest", "invalid resourceVersion"));
      }
    }
    if (fromRv < state_->compactedRv) {
      return Unexpected(apiError(410, "Expired", "too old resource version"));
    }
  }
  return std::unique_ptr<WatchStream>(std::make_unique<FakeWatchStream>(
      state_, resourceId(resource), resource.namespaced ? ns : "", options, fromRv, position));
}

}  // namespace sluice::kube
