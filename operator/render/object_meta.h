#pragma once

// What every object Sluice generates carries, whichever kind it comes from: the owner's
// controller reference (so Kubernetes garbage-collects it with the owner) and two labels
// (managed-by, and the owner as "<kind in lower case>.<name>", which selects an owner's objects).

#include <nlohmann/json.hpp>
#include <string>

#include "operator/engine/route_plan.h"
#include "operator/kube/client.h"

namespace sluice::render {

inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "sluice";
inline constexpr const char* kOwnerLabel = "sluice.dev/owner";

// ownerReferences[0]: controller and blockOwnerDeletion true.
nlohmann::json ownerReference(const engine::Owner& owner);
// The sluice.dev/owner label's value: "canaryrollout.payment-api"; past the 63 characters a
// label value holds, its first 54 and a hash of the whole.
std::string ownerLabelValue(const engine::Owner& owner);
// "sluice.dev/owner=<value>", a label selector for the owner's objects in its namespace.
std::string ownerSelector(const engine::Owner& owner);
// Cache index of generated objects by owner: "<namespace>/<sluice.dev/owner value>", so a
// provider reads its owner's objects without decoding the rest of the namespace. A reader
// without the index filters by it: the same answer as the label selector ownerSelector().
const kube::Index& ownerIndex();
std::string ownerIndexValue(const engine::Owner& owner);
// metadata {name, namespace, labels, ownerReferences} for a generated object.
nlohmann::json generatedMetadata(const engine::Owner& owner, const std::string& name);

}  // namespace sluice::render
