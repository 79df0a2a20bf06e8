#pragma once

// An in-memory Client: the API server the controller unit tests run against, and the one
// `kubectl sluice render` runs the real reconcilers against offline (no cluster). It records
// every call as an Action and behaves like the API server where controllers depend on it:
// resourceVersion increments on every write, a stale resourceVersion on update gives 409 Conflict,
// metadata.generation moves only when spec changes, the main endpoint ignores status and the status
// subresource ignores everything else, finalizers defer deletion, and watches replay history from a
// resourceVersion (410 Gone once that history is compacted).
//
// Simplifications (documented so tests do not rely on them): server-side apply is a JSON merge
// of the applied object, so fields dropped from an apply are not removed; label selectors
// support only equality terms (k=v, k==v, k!=v); no cascading delete through ownerReferences.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "operator/kube/client.h"

namespace sluice::kube {

struct MemoryAction {
  std::string verb;         // get, list, create, update, patch, apply, delete, watch
  std::string subresource;  // "status" or empty
  Resource resource;
  ObjectKey key;
  Object object;  // the body sent (object, patch), null for get/list/delete
  std::string fieldManager;
  bool force = false;
};

class MemoryClient final : public Client {
 public:
  MemoryClient();
  ~MemoryClient() override;

  Result<Object> get(const Resource& resource, const ObjectKey& key) override;
  Result<ObjectList> list(const Resource& resource, const std::string& ns,
                          const ListOptions& options) override;
  Result<Object> create(const Resource& resource, const Object& object,
                        const CreateOptions& options = {}) override;
  Result<Object> update(const Resource& resource, const Object& object,
                        const UpdateOptions& options = {}) override;
  Result<Object> patch(const Resource& resource, const ObjectKey& key, const Object& mergePatch,
                       const PatchOptions& options = {}) override;
  Result<Object> apply(const Resource& resource, const Object& object,
                       const ApplyOptions& options) override;
  Status remove(const Resource& resource, const ObjectKey& key,
                const DeleteOptions& options = {}) override;
  Result<Object> getStatus(const Resource& resource, const ObjectKey& key) override;
  Result<Object> updateStatus(const Resource& resource, const Object& object,
                              const UpdateOptions& options = {}) override;
  Result<Object> patchStatus(const Resource& resource, const ObjectKey& key,
                             const Object& mergePatch, const PatchOptions& options = {}) override;
  Result<Object> applyStatus(const Resource& resource, const Object& object,
                             const ApplyOptions& options) override;
  Result<std::unique_ptr<WatchStream>> watch(const Resource& resource, const std::string& ns,
                                             const WatchOptions& options) override;

  // Test controls.
  // Stores an object as the server would after a create, without recording an action.
  Object seed(const Resource& resource, Object object);
  std::vector<MemoryAction> actions() const;
  // Actions excluding reads (get, list, watch): what a controller changed.
  std::vector<MemoryAction> writes() const;
  void clearActions();
  // The next `times` calls of verb ("*" = any) on resource.plural ("*" = any) fail with error.
  void failNext(const std::string& verb, const std::string& plural, ApiError error, int times = 1);
  void clearFailures();
  // Events with resourceVersion <= now are forgotten: watches from older versions get 410.
  void compactHistory();
  // compactHistory() plus an ERROR event (Status 410 Expired) on every open watch, as
  // kube-apiserver sends when a watcher falls behind the watch cache.
  void expireWatches();
  // Ends every open watch stream (as a server-side timeout would).
  void closeWatches();
  std::string currentResourceVersion() const;
  size_t openWatches() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sluice::kube
