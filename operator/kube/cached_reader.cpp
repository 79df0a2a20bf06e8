#include "operator/kube/cached_reader.h"

#include <sstream>

namespace sluice::kube {

namespace {

ApiError notCached(const Resource& resource) {
  ApiError error;
  error.kind = ApiError::Kind::Config;
  error.message = "no informer caches " + resource.plural + "." + resource.group;
  return error;
}

bool labelsMatch(const Object& object, const std::string& selector) {
  if (selector.empty()) {
    return true;
  }
  const auto meta = object.find("metadata");
  const Object* labels = nullptr;
  if (meta != object.end() && meta->contains("labels")) {
    labels = &(*meta)["labels"];
  }
  std::stringstream terms(selector);
  std::string term;
  while (std::getline(terms, term, ',')) {
    const auto eq = term.find('=');
    const std::string key = term.substr(0, eq);
    if (labels == nullptr || !labels->contains(key)) {
      return false;
    }
    if (eq != std::string::npos && (*labels)[key] != term.substr(eq + 1)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Informer* CachedReader::find(const Resource& resource) const {
  for (auto* informer : informers_) {
    if (informer->resource() == resource) {
      return informer;
    }
  }
  return nullptr;
}

Result<Object> CachedReader::get(const Resource& resource, const ObjectKey& key) {
  auto* informer = find(resource);
  if (informer == nullptr) {
    return Unexpected(notCached(resource));
  }
  if (auto object = informer->get(key)) {
    return std::move(*object);
  }
  ApiError error;
  error.kind = ApiError::Kind::Api;
  error.code = 404;
  error.reason = "NotFound";
  error.message = resource.plural + " \"" + key.name + "\" not found";
  return Unexpected(std::move(error));
}

Result<ObjectList> CachedReader::list(const Resource& resource, const std::string& ns,
                                      const ListOptions& options) {
  auto* informer = find(resource);
  if (informer == nullptr) {
    return Unexpected(notCached(resource));
  }
  ObjectList out;
  out.resourceVersion = informer->lastResourceVersion();
  for (auto& object : informer->list(ns)) {
    if (labelsMatch(object, options.labelSelector)) {
      out.items.push_back(std::move(object));
    }
  }
  return out;
}

Result<ObjectList> CachedReader::listIndexed(const Resource& resource, const std::string& ns,
                                             const Index& index, const std::string& value) {
  auto* informer = find(resource);
  if (informer == nullptr) {
    return Unexpected(notCached(resource));
  }
  if (!informer->hasIndex(index.name)) {
    return Reader::listIndexed(resource, ns, index, value);
  }
  ObjectList out;
  out.resourceVersion = informer->lastResourceVersion();
  for (const auto& key : informer->keysByIndex(index.name, value)) {
    if (!ns.empty() && key.ns != ns) {
      continue;
    }
    if (auto object = informer->get(key)) {
      out.items.push_back(std::move(*object));
    }
  }
  return out;
}

}  // namespace sluice::kube
