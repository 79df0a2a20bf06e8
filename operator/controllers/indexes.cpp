#include "operator/controllers/indexes.h"

#include "operator/controllers/plan_ops.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/tier_limit_target.h"

namespace sluice::controllers::indexes {

namespace {

std::string namespaceOf(const kube::Object& object) {
  return stringAt(object, {"metadata", "namespace"});
}

void addRef(std::vector<std::string>& out, const std::string& ns, const std::string& name) {
  if (name.empty()) {
    return;
  }
  auto value = ref(ns, name);
  for (const auto& v : out) {
    if (v == value) {
      return;
    }
  }
  out.push_back(std::move(value));
}

// An index over one reference field: the name nameOf reads from an object.
template <class NameOf>
kube::Index nameAt(std::string name, NameOf nameOf) {
  return {std::move(name), [nameOf](const kube::Object& object) {
            std::vector<std::string> out;
            addRef(out, namespaceOf(object), nameOf(object));
            return out;
          }};
}

}  // namespace

std::string ref(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

std::string label(const std::string& ns, const std::string& key, const std::string& value) {
  return ns + "/" + key + "=" + value;
}

const kube::Index& rolloutsByService() {
  static const kube::Index index{
      "rolloutsByService", [](const kube::Object& rollout) {
        std::vector<std::string> out;
        const auto ns = namespaceOf(rollout);
        for (const char* side : {"stable", "canary"}) {
          addRef(out, ns, stringAt(rollout, {"spec", side, "serviceRef", "name"}));
        }
        const auto* regions = findPath(rollout, {"spec", "regions"});
        if (regions != nullptr && regions->is_array()) {
          for (const auto& region : *regions) {
            addRef(out, ns, stringAt(region, {"canary", "serviceRef", "name"}));
          }
        }
        return out;
      }};
  return index;
}

const kube::Index& rolloutsByPolicy() {
  static const kube::Index index = nameAt("rolloutsByPolicy", [](const kube::Object& o) {
    return stringAt(o, {"spec", "trafficPolicyRef", "name"});
  });
  return index;
}

const kube::Index& policiesByService() {
  static const kube::Index index{"policiesByService", [](const kube::Object& policy) {
                                   std::vector<std::string> out;
                                   const auto ns = namespaceOf(policy);
                                   const auto* backends = findPath(policy, {"spec", "backends"});
                                   if (backends != nullptr && backends->is_array()) {
                                     for (const auto& b : *backends) {
                                       addRef(out, ns, stringAt(b, {"serviceRef", "name"}));
                                     }
                                   }
                                   return out;
                                 }};
  return index;
}

const kube::Index& tierLimitsByPolicy() {
  static const kube::Index index{"tierLimitsByPolicy", [](const kube::Object& tierLimit) {
                                   std::vector<std::string> out;
                                   const auto ns = namespaceOf(tierLimit);
                                   for (const auto& name : targetPolicies(tierLimit)) {
                                     addRef(out, ns, name);
                                   }
                                   return out;
                                 }};
  return index;
}

const kube::Index& tierLimitsByWorkload() {
  static const kube::Index index = nameAt("tierLimitsByWorkload", [](const kube::Object& o) {
    return stringAt(o, {"spec", "autoscaling", "targetRef", "name"});
  });
  return index;
}

const kube::Index& hpasByWorkload() {
  static const kube::Index index = nameAt("hpasByWorkload", [](const kube::Object& o) {
    return stringAt(o, {"spec", "scaleTargetRef", "name"});
  });
  return index;
}

const kube::Index& podsByLabel() {
  static const kube::Index index{"podsByLabel", [](const kube::Object& pod) {
                                   std::vector<std::string> out;
                                   const auto* labels = findPath(pod, {"metadata", "labels"});
                                   if (labels == nullptr || !labels->is_object()) {
                                     return out;
                                   }
                                   const auto ns = namespaceOf(pod);
                                   for (const auto& [key, value] : labels->items()) {
                                     if (value.is_string()) {
                                       out.push_back(label(ns, key, value.get<std::string>()));
                                     }
                                   }
                                   return out;
                                 }};
  return index;
}

void podForCache(kube::Object& pod) {
  if (!pod.is_object()) {
    return;
  }
  kube::Object kept = kube::Object::object();
  for (const char* top : {"apiVersion", "kind"}) {
    if (auto it = pod.find(top); it != pod.end()) {
      kept[top] = std::move(*it);
    }
  }
  if (auto meta = pod.find("metadata"); meta != pod.end() && meta->is_object()) {
    auto& m = kept["metadata"] = kube::Object::object();
    for (const char* field : {"name", "namespace", "uid", "resourceVersion", "labels",
                              "ownerReferences", "deletionTimestamp", "generation"}) {
      if (auto it = meta->find(field); it != meta->end()) {
        m[field] = std::move(*it);
      }
    }
  }
  if (const auto* containers = findPath(pod, {"spec", "containers"});
      containers != nullptr && containers->is_array()) {
    auto& out = kept["spec"]["containers"] = kube::Object::array();
    for (const auto& c : *containers) {
      if (c.is_object()) {
        out.push_back({{"name", c.value("name", "")}, {"image", c.value("image", "")}});
      }
    }
  }
  pod = std::move(kept);
}

std::vector<kube::ObjectKey> keysReferring(kube::Reader& cache, const kube::Resource& resource,
                                           const kube::Index& index, const std::string& ns,
                                           const std::string& name) {
  std::vector<kube::ObjectKey> out;
  if (auto list = cache.listIndexed(resource, ns, index, ref(ns, name))) {
    for (const auto& object : list->items) {
      out.push_back(kube::ObjectKey::of(object));
    }
  }
  return out;
}

std::vector<kube::ResourceIndex> cacheIndexes() {
  return {{resources::canaryRollouts(), &rolloutsByService()},
          {resources::canaryRollouts(), &rolloutsByPolicy()},
          {resources::trafficPolicies(), &policiesByService()},
          {resources::tierLimits(), &tierLimitsByPolicy()},
          {resources::tierLimits(), &tierLimitsByWorkload()},
          {kube::resources::horizontalPodAutoscalers(), &hpasByWorkload()},
          {kube::resources::pods(), &podsByLabel()}};
}

}  // namespace sluice::controllers::indexes
