#include "operator/kube/informer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "operator/kube/log.h"
#include "operator/kube/metrics.h"
#include "operator/kube/watch_decode.h"

namespace sluice::kube {
namespace {

std::string resourceVersionOf(const Object& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object())
    return "";
  auto rv = meta->find("resourceVersion");
  return rv != meta->end() && rv->is_string() ? rv->get<std::string>() : "";
}

}  // namespace

Object CachedObject::decode() const {
  return Object::from_msgpack(packed);
}

size_t CachedObject::bytes() const {
  return sizeof(CachedObject) + packed.capacity() + key.ns.capacity() + key.name.capacity() +
         resourceVersion.capacity() + 2 * sizeof(void*) /* shared_ptr control block */;
}

void stripForCache(Object& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object())
    return;
  meta->erase("managedFields");
  if (auto ann = meta->find("annotations"); ann != meta->end() && ann->is_object()) {
    ann->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (ann->empty())
      meta->erase("annotations");
  }
}

CachedPtr packForCache(const Object& strippedObject) {
  auto entry = std::make_shared<CachedObject>();
  entry->key = ObjectKey::of(strippedObject);
  entry->resourceVersion = resourceVersionOf(strippedObject);
  entry->packed = Object::to_msgpack(strippedObject);
  entry->packed.shrink_to_fit();
  return entry;
}

IndexFunc ownerUidIndex() {
  return [](const Object& object) {
    std::vector<std::string> uids;
    auto meta = object.find("metadata");
    if (meta == object.end() || !meta->is_object())
      return uids;
    auto refs = meta->find("ownerReferences");
    if (refs == meta->end() || !refs->is_array())
      return uids;
    for (const auto& ref : *refs) {
      if (ref.is_object()) {
        if (auto uid = ref.find("uid"); uid != ref.end() && uid->is_string()) {
          uids.push_back(uid->get<std::string>());
        }
      }
    }
    return uids;
  };
}

Informer::Informer(Client& client, Resource resource, InformerOptions options)
    : client_(client), resource_(std::move(resource)), options_(std::move(options)) {
  if (options_.name.empty())
    options_.name = resource_.plural;
}

Informer::~Informer() {
  stop();
}

void Informer::addHandlers(InformerHandlers handlers) {
  handlers_.push_back(std::move(handlers));
}

void Informer::addIndex(const std::string& name, IndexFunc func) {
  std::lock_guard lock(mu_);
  for (const auto& [existing, f] : indexFuncs_) {
    if (existing == name)
      return;
  }
  indexFuncs_.emplace_back(name, std::move(func));
  indexes_.emplace_back();
}

void Informer::setTransform(std::function<void(Object&)> transform) {
  std::lock_guard lock(mu_);
  transform_ = std::move(transform);
}

bool Informer::hasIndex(const std::string& name) const {
  std::lock_guard lock(mu_);
  return std::any_of(indexFuncs_.begin(), indexFuncs_.end(),
                     [&](const auto& index) { return index.first == name; });
}

void Informer::start() {
  if (runThread_.joinable())
    return;
  stopping_ = false;
  runThread_ = std::thread([this] { run(); });
  if (options_.resyncPeriod.count() > 0)
    resyncThread_ = std::thread([this] { resyncLoop(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(stopMu_);
    stopping_ = true;
  }
  stopCv_.notify_all();
  {
    std::lock_guard lock(streamMu_);
    if (currentStream_ != nullptr)
      currentStream_->cancel();
  }
  if (runThread_.joinable())
    runThread_.join();
  if (resyncThread_.joinable())
    resyncThread_.join();
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return syncCv_.wait_for(lock, timeout, [this] { return synced_.load(); });
}

bool Informer::sleepUnlessStopped(std::chrono::milliseconds d) {
  std::unique_lock lock(stopMu_);
  return !stopCv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void Informer::countRestart(const std::string& reason) {
  ++watchRestarts_;
  if (options_.metrics != nullptr) {
    options_.metrics->counterAdd("informer_watch_restarts_total",
                                 "Watch connections re-established, by informer and reason",
                                 {{"informer", options_.name}, {"reason", reason}});
  }
}

void Informer::run() {
  auto backoff = options_.minBackoff;
  bool needList = true;
  while (!stopping_) {
    if (needList) {
      auto listed = listAndReplace();
      if (!listed) {
        if (listed.error().isCancelled() || stopping_)
          return;
        logger()->warn("informer {}: list failed: {}; retrying in {} ms", options_.name,
                       listed.error().describe(), backoff.count());
        if (!sleepUnlessStopped(backoff))
          return;
        backoff = std::min(backoff * 2, options_.maxBackoff);
        continue;
      }
      needList = false;
    }
    switch (watchOnce()) {
      case WatchOutcome::Stopped:
        return;
      case WatchOutcome::Reconnect:
        backoff = options_.minBackoff;
        countRestart("closed");
        break;
      case WatchOutcome::Relist:
        needList = true;
        countRestart("gone");
        break;
      case WatchOutcome::Backoff:
        countRestart("error");
        if (!sleepUnlessStopped(backoff))
          return;
        backoff = std::min(backoff * 2, options_.maxBackoff);
        break;
    }
  }
}

Result<void*> Informer::listAndReplace() {
  ListOptions opts;
  opts.labelSelector = options_.labelSelector;
  opts.fieldSelector = options_.fieldSelector;
  opts.limit = options_.pageSize;
  std::vector<Object> items;
  std::string rv;
  while (true) {
    auto page = client_.list(resource_, options_.ns, opts);
    if (!page) {
      // An expired continue token means the snapshot is gone: start the list over.
      if (page.error().isGone() && !opts.continueToken.empty()) {
        items.clear();
        opts.continueToken.clear();
        continue;
      }
      return Unexpected(page.error());
    }
    for (auto& item : page->items)
      items.push_back(std::move(item));
    rv = page->resourceVersion;
    if (page->continueToken.empty())
      break;
    opts.continueToken = page->continueToken;
  }
  ++relists_;
  replaceAllForTest(std::move(items), rv);
  return nullptr;
}

void Informer::replaceAllForTest(std::vector<Object> items, const std::string& resourceVersion) {
  std::vector<Notification> out;
  {
    std::lock_guard lock(mu_);
    std::set<std::string> seen;
    for (auto& item : items) {
      seen.insert(ObjectKey::of(item).str());
      upsertLocked(std::move(item), out);
    }
    // Objects deleted while we were not watching: the relist is the only place we learn it.
    std::vector<std::string> gone;
    for (const auto& [key, entry] : items_) {
      if (!seen.contains(key))
        gone.push_back(key);
    }
    for (const auto& key : gone)
      removeLocked(ObjectKey::parse(key), Object(), out);
    lastRv_ = resourceVersion;
  }
  dispatch(out);
  if (!synced_.exchange(true)) {
    std::lock_guard lock(mu_);
    syncCv_.notify_all();
  }
}

Informer::WatchOutcome Informer::watchOnce() {
  WatchOptions opts;
  opts.labelSelector = options_.labelSelector;
  opts.fieldSelector = options_.fieldSelector;
  opts.resourceVersion = lastResourceVersion();
  opts.allowBookmarks = true;
  opts.timeout = options_.watchTimeout;
  auto opened = client_.watch(resource_, options_.ns, opts);
  if (!opened) {
    if (stopping_)
      return WatchOutcome::Stopped;
    if (opened.error().isGone())
      return WatchOutcome::Relist;
    logger()->warn("informer {}: watch failed: {}", options_.name, opened.error().describe());
    return WatchOutcome::Backoff;
  }
  std::unique_ptr<WatchStream> stream = std::move(*opened);
  {
    std::lock_guard lock(streamMu_);
    if (stopping_)
      return WatchOutcome::Stopped;
    currentStream_ = stream.get();
  }
  WatchOutcome outcome = WatchOutcome::Reconnect;
  while (true) {
    auto next = stream->next();
    if (stopping_) {
      outcome = WatchOutcome::Stopped;
      break;
    }
    if (!next) {
      logger()->warn("informer {}: watch stream failed: {}", options_.name,
                     next.error().describe());
      outcome = WatchOutcome::Backoff;
      break;
    }
    if (!next->has_value())
      break;  // server closed the watch: resume from lastRv_
    std::vector<Notification> out;
    bool gone = false;
    bool isError = (*next)->type == WatchEvent::Type::Error;
    handleEvent(**next, out, gone);
    dispatch(out);
    if (gone) {
      outcome = WatchOutcome::Relist;
      break;
    }
    if (isError) {
      // kube-apiserver ends the stream after an ERROR event; reconnect after a backoff.
      outcome = WatchOutcome::Backoff;
      break;
    }
  }
  {
    std::lock_guard lock(streamMu_);
    currentStream_ = nullptr;
  }
  return outcome;
}

void Informer::applyEventForTest(WatchEvent event) {
  std::vector<Notification> out;
  bool gone = false;
  handleEvent(event, out, gone);
  dispatch(out);
}

void Informer::handleEvent(WatchEvent& event, std::vector<Notification>& out, bool& gone) {
  if (event.type == WatchEvent::Type::Error) {
    ApiError e = apiErrorFromStatus(event.object, 0);
    if (e.isGone()) {
      gone = true;
      logger()->info("informer {}: resourceVersion too old, relisting", options_.name);
    } else {
      logger()->warn("informer {}: watch error event: {}", options_.name, e.describe());
      gone = false;
    }
    return;
  }
  std::string rv = resourceVersionOf(event.object);
  std::lock_guard lock(mu_);
  switch (event.type) {
    case WatchEvent::Type::Bookmark:
      break;
    case WatchEvent::Type::Added:
    case WatchEvent::Type::Modified:
      upsertLocked(std::move(event.object), out);
      break;
    case WatchEvent::Type::Deleted: {
      // The key must be read before the object is moved into the call.
      ObjectKey key = ObjectKey::of(event.object);
      removeLocked(key, std::move(event.object), out);
    } break;
    case WatchEvent::Type::Error:
      break;
  }
  if (!rv.empty())
    lastRv_ = rv;
}

void Informer::upsertLocked(Object object, std::vector<Notification>& out) {
  stripForCache(object);
  if (transform_)
    transform_(object);
  ObjectKey key = ObjectKey::of(object);
  std::string k = key.str();
  std::string rv = resourceVersionOf(object);
  auto it = items_.find(k);
  // The same resourceVersion is the same object state: a replayed event or an unchanged item
  // in a relist. Delivering it again would be a duplicate.
  if (it != items_.end() && !rv.empty() && it->second.object->resourceVersion == rv)
    return;
  Entry entry;
  entry.object = packForCache(object);
  for (const auto& [name, func] : indexFuncs_)
    entry.indexValues.push_back(func(object));
  bool wantsNotification = !handlers_.empty();
  if (it != items_.end()) {
    Notification n{Notification::Kind::Update,
                   wantsNotification ? it->second.object->decode() : Object(), Object()};
    indexEraseLocked(k, it->second);
    it->second = std::move(entry);
    indexInsertLocked(k, it->second);
    if (wantsNotification) {
      n.newObject = std::move(object);
      out.push_back(std::move(n));
    }
  } else {
    auto [inserted, ok] = items_.emplace(k, std::move(entry));
    (void)ok;
    indexInsertLocked(k, inserted->second);
    if (wantsNotification)
      out.push_back({Notification::Kind::Add, Object(), std::move(object)});
  }
}

void Informer::removeLocked(const ObjectKey& key, Object lastState,
                            std::vector<Notification>& out) {
  auto it = items_.find(key.str());
  if (it == items_.end())
    return;  // already gone: never report a delete twice
  if (!handlers_.empty()) {
    if (lastState.is_null())
      lastState = it->second.object->decode();
    stripForCache(lastState);
    if (transform_)
      transform_(lastState);
    out.push_back({Notification::Kind::Delete, std::move(lastState), Object()});
  }
  indexEraseLocked(it->first, it->second);
  items_.erase(it);
}

void Informer::indexInsertLocked(const std::string& key, const Entry& entry) {
  for (size_t i = 0; i < entry.indexValues.size(); ++i) {
    for (const auto& value : entry.indexValues[i])
      indexes_[i][value].push_back(key);
  }
}

void Informer::indexEraseLocked(const std::string& key, const Entry& entry) {
  for (size_t i = 0; i < entry.indexValues.size(); ++i) {
    for (const auto& value : entry.indexValues[i]) {
      auto bucket = indexes_[i].find(value);
      if (bucket == indexes_[i].end())
        continue;
      auto& keys = bucket->second;
      keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
      if (keys.empty())
        indexes_[i].erase(bucket);
    }
  }
}

void Informer::dispatch(std::vector<Notification>& notifications) {
  // Outside the cache lock: handlers may read the cache.
  for (auto& n : notifications) {
    for (const auto& h : handlers_) {
      switch (n.kind) {
        case Notification::Kind::Add:
          if (h.onAdd)
            h.onAdd(n.newObject);
          break;
        case Notification::Kind::Update:
          if (h.onUpdate)
            h.onUpdate(n.oldObject, n.newObject);
          break;
        case Notification::Kind::Delete:
          if (h.onDelete)
            h.onDelete(n.oldObject);
          break;
      }
    }
  }
}

void Informer::resync() {
  std::vector<CachedPtr> snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot.reserve(items_.size());
    for (const auto& [key, entry] : items_)
      snapshot.push_back(entry.object);
  }
  for (const auto& cached : snapshot) {
    Object object = cached->decode();
    for (const auto& h : handlers_) {
      if (h.onUpdate)
        h.onUpdate(object, object);
    }
  }
}

void Informer::resyncLoop() {
  while (sleepUnlessStopped(options_.resyncPeriod)) {
    if (hasSynced())
      resync();
  }
}

std::optional<Object> Informer::get(const ObjectKey& key) const {
  auto cached = getCached(key);
  if (!cached)
    return std::nullopt;
  return cached->decode();
}

CachedPtr Informer::getCached(const ObjectKey& key) const {
  std::lock_guard lock(mu_);
  auto it = items_.find(key.str());
  return it == items_.end() ? nullptr : it->second.object;
}

std::vector<Object> Informer::list() const {
  return list("");
}

std::vector<Object> Informer::list(const std::string& ns) const {
  std::vector<CachedPtr> snapshot;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, entry] : items_) {
      if (ns.empty() || entry.object->key.ns == ns)
        snapshot.push_back(entry.object);
    }
  }
  std::vector<Object> out;
  out.reserve(snapshot.size());
  for (const auto& c : snapshot)
    out.push_back(c->decode());
  return out;
}

std::vector<ObjectKey> Informer::keys() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectKey> out;
  for (const auto& [key, entry] : items_)
    out.push_back(entry.object->key);
  return out;
}

std::vector<ObjectKey> Informer::keysByIndex(const std::string& index,
                                             const std::string& value) const {
  std::lock_guard lock(mu_);
  std::vector<ObjectKey> out;
  for (size_t i = 0; i < indexFuncs_.size(); ++i) {
    if (indexFuncs_[i].first != index)
      continue;
    auto bucket = indexes_[i].find(value);
    if (bucket == indexes_[i].end())
      return out;
    for (const auto& k : bucket->second)
      out.push_back(ObjectKey::parse(k));
  }
  return out;
}

std::vector<Object> Informer::byIndex(const std::string& index, const std::string& value) const {
  std::vector<Object> out;
  for (const auto& key : keysByIndex(index, value)) {
    if (auto o = get(key))
      out.push_back(std::move(*o));
  }
  return out;
}

size_t Informer::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

size_t Informer::cachedBytes() const {
  std::lock_guard lock(mu_);
  size_t total = 0;
  for (const auto& [key, entry] : items_) {
    // Node of the hash map: key string, entry, bucket pointer.
    total += entry.object->bytes() + key.capacity() + sizeof(Entry) + 4 * sizeof(void*);
  }
  return total;
}

std::string Informer::lastResourceVersion() const {
  std::lock_guard lock(mu_);
  return lastRv_;
}

}  // namespace sluice::kube
