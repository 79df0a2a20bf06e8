#pragma once

// Reader served from informer caches, so reconcilers read without touching the API
// server. get() of a resource no informer covers is a Config error (a wiring mistake), and a
// missing object is a NotFound ApiError like the server's, so callers branch the same way.

#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/informer.h"

namespace sluice::kube {

class CachedReader final : public Reader {
 public:
  void add(Informer* informer) { informers_.push_back(informer); }

  Result<Object> get(const Resource& resource, const ObjectKey& key) override;
  // Label selectors of the form "k=v,k2=v2" are supported; field selectors are not.
  Result<ObjectList> list(const Resource& resource, const std::string& ns,
                          const ListOptions& options) override;
  // From the informer's index when it keeps one of that name (only the objects filed under
  // value are decoded), else by filtering the namespace's objects.
  Result<ObjectList> listIndexed(const Resource& resource, const std::string& ns,
                                 const Index& index, const std::string& value) override;

 private:
  Informer* find(const Resource& resource) const;
  std::vector<Informer*> informers_;
};

}  // namespace sluice::kube
