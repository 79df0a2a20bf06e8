#pragma once

// `kubectl sluice render`: what the operator would write for some CRs, without a cluster. The
// operator's own reconcilers run against an in-memory API server (kube::MemoryClient) holding
// the CRs and the Services they name, with the operator's own providers: the HTTPRoutes,
// BackendTrafficPolicies and HPAs they write there, and the haproxy.cfg the haproxy provider
// writes to a scratch directory, are the output. No second implementation of a decision or a
// renderer: this is the first reconcile of each CR, as a fresh operator would do it (no
// Prometheus: weights are where a rollout or policy starts).

#include <string>
#include <vector>

#include "operator/cmd/options.h"
#include "operator/kube/client.h"

namespace sluice::plugin {

struct RenderInput {
  std::vector<kube::Object> objects;  // CRs, and Services to use instead of assumed ones
  std::string defaultNamespace = "default";
  cmd::HaproxyOptions haproxy;  // bind addresses as the operator's --haproxy-* flags
  std::string haproxyMapDir = "/etc/haproxy/sluice";  // where haproxy.cfg says the map is
};

struct RenderProblem {
  std::string object;   // "CanaryRollout shop/pay"
  std::string reason;   // InvalidSpec, TrafficProviderError, ...
  std::string message;  // names the field
};

struct RenderOutput {
  std::vector<kube::Object> objects;    // HTTPRoutes, BackendTrafficPolicies, HPAs
  std::vector<std::string> owners;      // the CR each of `objects` is for ("CanaryRollout ns/n")
  std::string haproxyConfig;            // empty when no CR uses the haproxy provider
  std::string haproxyMap;               // the weights map haproxy.cfg reads
  std::vector<RenderProblem> problems;  // CRs the operator would refuse, and why
  std::vector<std::string> notes;       // assumptions made (Services not given)
};

RenderOutput renderOffline(const RenderInput& input);

// The output as one YAML stream: the objects, then haproxy.cfg and its map as a ConfigMap
// ("sluice-haproxy") so the whole stream stays valid YAML for diffs and `kubectl apply`.
std::string toYamlStream(const RenderOutput& output);

}  // namespace sluice::plugin
