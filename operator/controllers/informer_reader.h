#pragma once

// kube::Reader served from informer caches, so reconcilers read without touching the API
// server. get() of a resource no informer covers is a Config error (a wiring mistake), and a
// missing object is a NotFound ApiError like the server's, so callers branch the same way.

#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/informer.h"

namespace sluice::controllers {

class InformerReader final : public kube::Reader {
 public:
  void add(kube::Informer* informer) { informers_.push_back(informer); }

  kube::Result<kube::Object> get(const kube::Resource& resource,
                                 const kube::ObjectKey& key) override;
  // Label selectors of the form "k=v,k2=v2" are supported; field selectors are not.
  kube::Result<kube::ObjectList> list(const kube::Resource& resource, const std::string& ns,
                                      const kube::ListOptions& options) override;

 private:
  kube::Informer* find(const kube::Resource& resource) const;
  std::vector<kube::Informer*> informers_;
};

}  // namespace sluice::controllers
