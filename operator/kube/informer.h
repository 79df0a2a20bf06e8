#pragma once

// List+watch one resource into a thread-safe cache keyed by namespace/name, with event
// handlers, secondary indexes and periodic resync, like client-go's SharedIndexInformer.
//
// Cached objects are stored compactly (MessagePack bytes of the object without
// metadata.managedFields and the last-applied annotation) and decoded on access: a
// nlohmann::json DOM costs several times its wire size, and the operator must hold 10,000 CRs
// within its memory budget. Never mutate what the cache hands out; it is a copy anyway.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "operator/kube/client.h"

namespace sluice::kube {

class Metrics;

struct CachedObject {
  ObjectKey key;
  std::string resourceVersion;
  std::vector<uint8_t> packed;  // MessagePack of the stripped object

  Object decode() const;
  size_t bytes() const;  // approximate heap footprint of this entry
};
using CachedPtr = std::shared_ptr<const CachedObject>;

// Removes what controllers never read but which dominates object size.
void stripForCache(Object& object);
CachedPtr packForCache(const Object& strippedObject);

struct InformerHandlers {
  std::function<void(const Object&)> onAdd;
  std::function<void(const Object& oldObject, const Object& newObject)> onUpdate;
  std::function<void(const Object&)> onDelete;
};

inline constexpr const char* kOwnerUidIndex = "ownerUid";
// Values: the uid of every metadata.ownerReferences entry.
IndexFunc ownerUidIndex();

struct InformerOptions {
  std::string name;  // for logs and metrics; defaults to the resource plural
  std::string ns;    // empty = all namespaces
  std::string labelSelector;
  std::string fieldSelector;
  int64_t pageSize = 500;
  std::chrono::seconds watchTimeout{300};
  std::chrono::milliseconds minBackoff{200};
  std::chrono::milliseconds maxBackoff{30'000};
  std::chrono::milliseconds resyncPeriod{0};  // 0 = no periodic resync
  Metrics* metrics = nullptr;
};

class Informer {
 public:
  Informer(Client& client, Resource resource, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Both must be called before start(). An index of a name already kept is kept once.
  void addHandlers(InformerHandlers handlers);
  void addIndex(const std::string& name, IndexFunc func);
  bool hasIndex(const std::string& name) const;
  // Before start(): applied to every object after stripForCache, before it is cached, indexed
  // or handed to handlers (client-go's SetTransform): a cache of another kind's objects keeps
  // only what its readers read.
  void setTransform(std::function<void(Object&)> transform);

  void start();
  void stop();  // idempotent; returns once the informer's threads have ended
  bool hasSynced() const { return synced_.load(); }
  bool waitForSync(std::chrono::milliseconds timeout) const;

  std::optional<Object> get(const ObjectKey& key) const;
  CachedPtr getCached(const ObjectKey& key) const;
  std::vector<Object> list() const;
  // One namespace's objects (all when ns is empty); the others are never decoded.
  std::vector<Object> list(const std::string& ns) const;
  std::vector<ObjectKey> keys() const;
  std::vector<Object> byIndex(const std::string& index, const std::string& value) const;
  std::vector<ObjectKey> keysByIndex(const std::string& index, const std::string& value) const;
  size_t size() const;
  size_t cachedBytes() const;

  // Delivers onUpdate(obj, obj) for every cached object (what the periodic resync does), so
  // level-triggered controllers re-check everything now and then.
  void resync();

  // Handles one list result / watch event exactly as the run loop does. Public for tests and
  // benchmarks that feed the cache without a server.
  void replaceAllForTest(std::vector<Object> items, const std::string& resourceVersion);
  void applyEventForTest(WatchEvent event);

  const Resource& resource() const { return resource_; }
  const std::string& name() const { return options_.name; }
  uint64_t watchRestarts() const { return watchRestarts_.load(); }
  uint64_t relists() const { return relists_.load(); }
  std::string lastResourceVersion() const;

 private:
  struct Entry {
    CachedPtr object;
    std::vector<std::vector<std::string>> indexValues;  // per index, in indexes_ order
  };
  struct Notification {
    enum class Kind { Add, Update, Delete } kind;
    Object oldObject;
    Object newObject;
  };

  void run();
  void resyncLoop();
  Result<void*> listAndReplace();
  // Returns false when the watch must end and the informer relist (410).
  enum class WatchOutcome { Reconnect, Relist, Backoff, Stopped };
  WatchOutcome watchOnce();
  void handleEvent(WatchEvent& event, std::vector<Notification>& out, bool& gone);
  void upsertLocked(Object object, std::vector<Notification>& out);
  void removeLocked(const ObjectKey& key, Object lastState, std::vector<Notification>& out);
  void indexInsertLocked(const std::string& key, const Entry& entry);
  void indexEraseLocked(const std::string& key, const Entry& entry);
  void dispatch(std::vector<Notification>& notifications);
  bool sleepUnlessStopped(std::chrono::milliseconds d);
  void countRestart(const std::string& reason);

  Client& client_;
  Resource resource_;
  InformerOptions options_;
  std::vector<InformerHandlers> handlers_;
  std::vector<std::pair<std::string, IndexFunc>> indexFuncs_;
  std::function<void(Object&)> transform_;

  mutable std::mutex mu_;
  mutable std::condition_variable syncCv_;
  std::unordered_map<std::string, Entry> items_;
  std::vector<std::map<std::string, std::vector<std::string>>> indexes_;  // value -> keys
  std::string lastRv_;

  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> watchRestarts_{0};
  std::atomic<uint64_t> relists_{0};
  std::mutex streamMu_;
  WatchStream* currentStream_ = nullptr;
  std::mutex stopMu_;
  std::condition_variable stopCv_;
  std::thread runThread_;
  std::thread resyncThread_;
};

}  // namespace sluice::kube
