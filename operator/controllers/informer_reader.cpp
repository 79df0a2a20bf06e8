#include "operator/controllers/informer_reader.h"

#include <sstream>

namespace sluice::controllers {

namespace {

kube::ApiError notCached(const kube::Resource& resource) {
  kube::ApiError error;
  error.kind = kube::ApiError::Kind::Config;
  error.message = "no informer caches " + resource.plural + "." + resource.group;
  return error;
}

bool labelsMatch(const kube::Object& object, const std::string& selector) {
  if (selector.empty()) {
    return true;
  }
  const auto meta = object.find("metadata");
  const kube::Object* labels = nullptr;
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

kube::Informer* InformerReader::find(const kube::Resource& resource) const {
  for (auto* informer : informers_) {
    if (informer->resource() == resource) {
      return informer;
    }
  }
  return nullptr;
}

kube::Result<kube::Object> InformerReader::get(const kube::Resource& resource,
                                               const kube::ObjectKey& key) {
  auto* informer = find(resource);
  if (informer == nullptr) {
    return Unexpected(notCached(resource));
  }
  if (auto object = informer->get(key)) {
    return std::move(*object);
  }
  kube::ApiError error;
  error.kind = kube::ApiError::Kind::Api;
  error.code = 404;
  error.reason = "NotFound";
  error.message = resource.plural + " \"" + key.name + "\" not found";
  return Unexpected(std::move(error));
}

kube::Result<kube::ObjectList> InformerReader::list(const kube::Resource& resource,
                                                    const std::string& ns,
                                                    const kube::ListOptions& options) {
  auto* informer = find(resource);
  if (informer == nullptr) {
    return Unexpected(notCached(resource));
  }
  kube::ObjectList out;
  out.resourceVersion = informer->lastResourceVersion();
  for (auto& object : informer->list()) {
    if (!ns.empty() && kube::ObjectKey::of(object).ns != ns) {
      continue;
    }
    if (labelsMatch(object, options.labelSelector)) {
      out.items.push_back(std::move(object));
    }
  }
  return out;
}

}  // namespace sluice::controllers
