#pragma once

// The cache indexes the controllers find related objects by. Every reference between objects
// is filed as "<namespace>/<name>" of the object referred to (references never leave the
// namespace), so "which rollouts use Service shop/checkout" reads those rollouts and no
// others. Without them each such question decoded the whole namespace's collection: with
// 10,000 CRs in one namespace, seconds per reconcile and quadratic in all.
//
// cmd/main.cpp registers cacheIndexes() on the informers; the controllers ask through
// kube::Reader::listIndexed, which a reader without the index answers by filtering (tests on
// the in-memory client get the same answers).

#include <string>
#include <vector>

#include "operator/kube/client.h"

namespace sluice::controllers::indexes {

// CanaryRollouts by spec.stable/canary.serviceRef (and per-region service references).
const kube::Index& rolloutsByService();
// CanaryRollouts by spec.trafficPolicyRef.
const kube::Index& rolloutsByPolicy();
// TrafficPolicies by spec.backends[].serviceRef.
const kube::Index& policiesByService();
// TierLimits by spec.targetRefs[] of kind TrafficPolicy.
const kube::Index& tierLimitsByPolicy();
// TierLimits by spec.autoscaling.targetRef (the workload, any kind).
const kube::Index& tierLimitsByWorkload();
// HorizontalPodAutoscalers by spec.scaleTargetRef (the workload, any kind).
const kube::Index& hpasByWorkload();
// Pods by each label, "<namespace>/<key>=<value>": a selector's first term narrows the
// pods to match the rest against.
const kube::Index& podsByLabel();

// Pods are cached with only what the controllers read (a canary's version is its pods'
// pod-template-hash and images): name, namespace, uid, resourceVersion, labels, owner
// references, deletionTimestamp, and each container's name and image. A pod's status and
// full spec are most of its 5-20 KiB; the operator watches every pod of its namespaces.
void podForCache(kube::Object& pod);

// "<namespace>/<name>": the value objects are filed under.
std::string ref(const std::string& ns, const std::string& name);
// The value podsByLabel files a pod labelled key=value under.
std::string label(const std::string& ns, const std::string& key, const std::string& value);

// The keys of the objects of `resource` in ns that `index` files under ref(ns, name): what a
// watch maps a changed object to. Empty when the cache cannot answer.
std::vector<kube::ObjectKey> keysReferring(kube::Reader& cache, const kube::Resource& resource,
                                           const kube::Index& index, const std::string& ns,
                                           const std::string& name);

// Every index above with the resource it is kept on.
std::vector<kube::ResourceIndex> cacheIndexes();

}  // namespace sluice::controllers::indexes
