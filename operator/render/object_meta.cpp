#include "operator/render/object_meta.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "operator/engine/bucket.h"

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
  std::string value = kind + "." + owner.name;
  if (value.size() <= 63) {
    return value;
  }
  // Label values hold 63 characters; an object name holds 253. A longer value keeps its
  // start (readable) and ends in a hash of the whole (unique), alphanumeric at both ends.
  char hash[9];
  std::snprintf(hash, sizeof(hash), "%08x", engine::xxh32(value));
  std::string prefix = value.substr(0, 63 - 9);
  while (!prefix.empty() && !std::isalnum(static_cast<unsigned char>(prefix.back()))) {
    prefix.pop_back();
  }
  return prefix + "-" + hash;
}

std::string ownerSelector(const engine::Owner& owner) {
  return std::string(kOwnerLabel) + "=" + ownerLabelValue(owner);
}

const kube::Index& ownerIndex() {
  static const kube::Index index{
      "sluiceOwner", [](const kube::Object& object) {
        std::vector<std::string> out;
        const auto meta = object.find("metadata");
        if (meta == object.end() || !meta->is_object()) {
          return out;
        }
        const auto labels = meta->find("labels");
        if (labels == meta->end() || !labels->is_object()) {
          return out;
        }
        const auto owner = labels->find(kOwnerLabel);
        if (owner != labels->end() && owner->is_string()) {
          out.push_back(meta->value("namespace", "") + "/" + owner->get<std::string>());
        }
        return out;
      }};
  return index;
}

std::string ownerIndexValue(const engine::Owner& owner) {
  return owner.namespace_ + "/" + ownerLabelValue(owner);
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
