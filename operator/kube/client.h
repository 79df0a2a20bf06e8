#pragma once

// The Kubernetes access interfaces a controller codes against. Small role interfaces (Reader,
// Writer, StatusWriter, Watcher) compose into Client, so a controller can take only what it
// needs and tests can substitute the in-memory fake (operator/test/mocks/kube/fake_client.h).
// Objects are plain nlohmann::json; typed decoding belongs to operator/api.

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/expected.h"

namespace sluice::kube {

using Object = nlohmann::json;

// Identifies a REST collection: /apis/{group}/{version}/namespaces/{ns}/{plural}.
struct Resource {
  std::string group;  // empty for the core ("legacy") group
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;

  // "v1" for core, "group/version" otherwise: the value of an object's apiVersion.
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  bool operator==(const Resource&) const = default;
};

// Well-known Kubernetes resources the operator touches (its own kinds live in
// operator/controllers/resources.h: kube/ knows no sluice.dev resource).
namespace resources {
inline Resource configMaps() {
  return {"", "v1", "configmaps", "ConfigMap", true};
}
inline Resource services() {
  return {"", "v1", "services", "Service", true};
}
inline Resource pods() {
  return {"", "v1", "pods", "Pod", true};
}
inline Resource leases() {
  return {"coordination.k8s.io", "v1", "leases", "Lease", true};
}
inline Resource events() {
  return {"events.k8s.io", "v1", "events", "Event", true};
}
inline Resource deployments() {
  return {"apps", "v1", "deployments", "Deployment", true};
}
inline Resource horizontalPodAutoscalers() {
  return {"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true};
}
inline Resource httpRoutes() {
  return {"gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", true};
}
inline Resource backendTrafficPolicies() {
  return {"gateway.envoyproxy.io", "v1alpha1", "backendtrafficpolicies", "BackendTrafficPolicy",
          true};
}
}  // namespace resources

// namespace/name; namespace is empty for cluster-scoped objects. The string form
// ("ns/name" or "name") is the work-queue key, as in client-go's MetaNamespaceKeyFunc.
struct ObjectKey {
  std::string ns;
  std::string name;

  std::string str() const { return ns.empty() ? name : ns + "/" + name; }
  static ObjectKey parse(std::string_view key) {
    auto slash = key.find('/');
    if (slash == std::string_view::npos)
      return {"", std::string(key)};
    return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
  }
  // Reads metadata.namespace/name; missing fields give empty strings.
  static ObjectKey of(const Object& object) {
    ObjectKey key;
    if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
      if (auto it = meta->find("namespace"); it != meta->end() && it->is_string()) {
        key.ns = it->get<std::string>();
      }
      if (auto it = meta->find("name"); it != meta->end() && it->is_string()) {
        key.name = it->get<std::string>();
      }
    }
    return key;
  }
  bool operator==(const ObjectKey&) const = default;
  auto operator<=>(const ObjectKey&) const = default;
};

// A failed call. kind separates "the API server answered with a Status" from "we never got a
// usable answer", so callers branch on type, never on message text.
struct ApiError {
  enum class Kind {
    Api,        // the server answered with an HTTP error and (usually) a metav1.Status
    Transport,  // connection refused/reset, TLS failure, timeout: no HTTP answer
    Decode,     // the server answered 2xx but the body was not what the API promises
    Config,     // the request could not be built (bad input from the caller or config)
    Cancelled,  // the caller stopped the operation (shutdown)
  };
  Kind kind = Kind::Api;
  int code = 0;            // HTTP status (Kind::Api); 0 otherwise
  std::string reason;      // metav1.Status reason: NotFound, Conflict, AlreadyExists, ...
  std::string message;     // human readable, from the server or the transport
  nlohmann::json details;  // metav1.Status details (name, kind, causes), null when absent
  std::optional<std::chrono::seconds> retryAfter;  // from Retry-After or details.retryAfterSeconds

  bool isApi() const { return kind == Kind::Api; }
  bool isTransport() const { return kind == Kind::Transport; }
  bool isCancelled() const { return kind == Kind::Cancelled; }
  bool isNotFound() const {
    return isApi() && (reason == "NotFound" || (reason.empty() && code == 404));
  }
  bool isAlreadyExists() const { return isApi() && reason == "AlreadyExists"; }
  // 409 without AlreadyExists: a stale resourceVersion or a server-side-apply field conflict.
  bool isConflict() const {
    return isApi() && (reason == "Conflict" || (code == 409 && reason != "AlreadyExists"));
  }
  bool isGone() const {
    return isApi() && (code == 410 || reason == "Gone" || reason == "Expired");
  }
  bool isInvalid() const {
    return isApi() && (reason == "Invalid" || (reason.empty() && code == 422));
  }
  bool isBadRequest() const { return isApi() && code == 400; }
  bool isUnauthorized() const { return isApi() && code == 401; }
  bool isForbidden() const { return isApi() && code == 403; }
  bool isTooManyRequests() const { return isApi() && code == 429; }
  bool isServerError() const { return isApi() && code >= 500; }
  bool isTimeout() const { return isApi() && (code == 504 || reason == "Timeout"); }
  // Worth retrying the same request later (what the client's own retry loop uses).
  bool isRetryable() const { return isTransport() || isTooManyRequests() || isServerError(); }

  std::string describe() const;  // one line for logs: "409 Conflict: <message>"
};

template <class T>
using Result = Expected<T, ApiError>;
using Status = Expected<void, ApiError>;

struct ObjectList {
  std::vector<Object> items;
  std::string resourceVersion;  // list RV: where a following watch starts
  std::string continueToken;    // non-empty when more pages remain
};

struct ListOptions {
  std::string labelSelector;  // e.g. "app=x,tier!=free"
  std::string fieldSelector;  // e.g. "metadata.name=foo"
  int64_t limit = 0;          // page size; 0 = server default (everything)
  std::string continueToken;
  std::string resourceVersion;  // "" = most recent (quorum read), "0" = any cached
};

struct CreateOptions {
  std::string fieldManager;
};

struct UpdateOptions {
  std::string fieldManager;
};

struct PatchOptions {
  std::string fieldManager;
};

// Server-side apply. fieldManager is required by the API server; force takes ownership of
// fields another manager holds instead of failing with 409.
struct ApplyOptions {
  std::string fieldManager;
  bool force = false;
};

enum class PropagationPolicy { Default, Foreground, Background, Orphan };

struct DeleteOptions {
  PropagationPolicy propagationPolicy = PropagationPolicy::Default;
  std::optional<int64_t> gracePeriodSeconds;
  std::string preconditionResourceVersion;  // refuse (409) if the object changed
  std::string preconditionUid;
};

struct WatchOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;  // start after this RV; "" = "now"
  bool allowBookmarks = true;
  // Server-side timeout; the server closes the stream after it, the caller reconnects.
  std::chrono::seconds timeout{300};
};

struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark, Error };
  Type type = Type::Added;
  Object object;  // the object; a metav1.Status for Type::Error
};

// One open watch connection. next() blocks until an event arrives, the stream ends (nullopt:
// server timeout or closed connection; reconnect from the last RV) or fails.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  virtual Result<std::optional<WatchEvent>> next() = 0;
  // Thread-safe: makes a blocked next() return (with nullopt or a Cancelled error) promptly.
  virtual void cancel() = 0;
};

// A secondary index: the values an object is filed under, such as "ns/name" of each object
// it refers to. Controllers find the objects referring to a changed one by value instead of
// reading the whole collection (client-go's cache.Indexers).
using IndexFunc = std::function<std::vector<std::string>(const Object&)>;
struct Index {
  std::string name;
  IndexFunc values;
};
// An index to keep on the informer of one resource.
struct ResourceIndex {
  Resource resource;
  const Index* index;
};

class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<Object> get(const Resource& resource, const ObjectKey& key) = 0;
  // One page when options.limit > 0 (see continueToken), else the whole collection.
  // ns empty = all namespaces (or a cluster-scoped resource).
  virtual Result<ObjectList> list(const Resource& resource, const std::string& ns,
                                  const ListOptions& options) = 0;
  // The objects of ns (empty = all) that index files under value. A cache keeping that index
  // answers from it without reading the rest; this default lists and filters (same answer,
  // linear in the collection).
  virtual Result<ObjectList> listIndexed(const Resource& resource, const std::string& ns,
                                         const Index& index, const std::string& value);
};

class Writer {
 public:
  virtual ~Writer() = default;
  virtual Result<Object> create(const Resource& resource, const Object& object,
                                const CreateOptions& options = {}) = 0;
  // PUT with the object's metadata.resourceVersion: 409 Conflict if stale.
  virtual Result<Object> update(const Resource& resource, const Object& object,
                                const UpdateOptions& options = {}) = 0;
  // JSON merge patch (RFC 7386).
  virtual Result<Object> patch(const Resource& resource, const ObjectKey& key,
                               const Object& mergePatch, const PatchOptions& options = {}) = 0;
  // Server-side apply of the object's intent (apiVersion, kind, metadata.name[/namespace]).
  virtual Result<Object> apply(const Resource& resource, const Object& object,
                               const ApplyOptions& options) = 0;
  virtual Status remove(const Resource& resource, const ObjectKey& key,
                        const DeleteOptions& options = {}) = 0;
};

// The status subresource: spec changes sent here are ignored by the server.
class StatusWriter {
 public:
  virtual ~StatusWriter() = default;
  virtual Result<Object> getStatus(const Resource& resource, const ObjectKey& key) = 0;
  virtual Result<Object> updateStatus(const Resource& resource, const Object& object,
                                      const UpdateOptions& options = {}) = 0;
  virtual Result<Object> patchStatus(const Resource& resource, const ObjectKey& key,
                                     const Object& mergePatch,
                                     const PatchOptions& options = {}) = 0;
  virtual Result<Object> applyStatus(const Resource& resource, const Object& object,
                                     const ApplyOptions& options) = 0;
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  virtual Result<std::unique_ptr<WatchStream>> watch(const Resource& resource,
                                                     const std::string& ns,
                                                     const WatchOptions& options) = 0;
};

class Client : public Reader, public Writer, public StatusWriter, public Watcher {};

}  // namespace sluice::kube
