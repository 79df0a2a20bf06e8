#include "operator/render/object_meta.h"

#include <algorithm>
#include <cctype>

namespace sluice::render {

using nlohmann::json;

json ownerReference(const engine::Owner& owner) {
  return {{"apiVersion", owner.apiVersion},
          {"kind", owner.kind},
          {"name", owner.name},
          {"uid", owner.uid},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

std::string ownerLabelValue(const engine::Owner& owner) {
  std::string kind = owner.kind;
  std::transform(kind.begin(), kind.end(), kind.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kind + "." + owner.name;
}

std::string ownerSelector(const engine::Owner& owner) {
  return std::string(kOwnerLabel) + "=" + ownerLabelValue(owner);
}

json generatedMetadata(const engine::Owner& owner, const std::string& name) {
  json metadata{
      {"name", name},
      {"labels", {{kManagedByLabel, kManagedByValue}, {kOwnerLabel, ownerLabelValue(owner)}}},
      {"ownerReferences", json::array({ownerReference(owner)})}};
  if (!owner.namespace_.empty()) {
    metadata["namespace"] = owner.namespace_;
  }
  return metadata;
}

}  // namespace sluice::render
