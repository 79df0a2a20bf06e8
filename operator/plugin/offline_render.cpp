#include "operator/plugin/offline_render.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "operator/api/common.h"
#include "operator/api/yaml.h"
#include "operator/cmd/haproxy_provider.h"
#include "operator/common/clock.h"
#include "operator/controllers/canary_rollout_controller.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/tier_limit_controller.h"
#include "operator/controllers/traffic_policy_controller.h"
#include "operator/kube/events.h"
#include "operator/kube/memory_client.h"
#include "operator/render/gatewayapi/provider.h"

namespace sluice::plugin {
namespace {

namespace fs = std::filesystem;
using kube::Object;

// A scratch directory removed on the way out.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "kubectl-sluice-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) {
      fs::remove_all(path_, ec);
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every {name, port} a CR points at as a Service: spec.stable, spec.canary, serviceRef and the
// regions' canary, wherever they sit in the spec.
void serviceRefs(const Object& node, const std::string& key, std::map<std::string, int>& out) {
  if (node.is_object()) {
    if ((key == "serviceRef" || key == "stable" || key == "canary") && node.contains("name") &&
        node["name"].is_string()) {
      const int port =
          node.contains("port") && node["port"].is_number() ? node["port"].get<int>() : 80;
      out.emplace(node["name"].get<std::string>(), port);
    }
    for (const auto& [k, v] : node.items()) {
      serviceRefs(v, k, out);
    }
  } else if (node.is_array()) {
    for (const auto& v : node) {
      serviceRefs(v, key, out);
    }
  }
}

// What a server would not have a user write, and what differs per run. Returns the owning CR
// ("CanaryRollout shop/pay"), or "".
std::string tidy(Object& object) {
  auto& meta = object["metadata"];
  for (const char* field :
       {"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"}) {
    meta.erase(field);
  }
  std::string owner;
  if (meta.contains("ownerReferences")) {
    const auto& refs = meta["ownerReferences"];
    if (refs.is_array() && !refs.empty()) {
      owner = refs[0].value("kind", "") + " " + meta.value("namespace", "") + "/" +
              refs[0].value("name", "");
    }
    // An owner reference needs the CR's uid, which exists only once the CR is in a cluster: the
    // API server refuses one without it (metadata.ownerReferences.uid: must not be empty), and
    // a made-up uid would have the garbage collector delete the object. The operator adds it
    // when it takes the object over; the sluice.dev/owner label names the CR meanwhile.
    meta.erase("ownerReferences");
  }
  object.erase("status");
  return owner;
}

std::string describe(const std::string& kind, const std::string& ns, const std::string& name) {
  return kind + " " + ns + "/" + name;
}

}  // namespace

RenderOutput renderOffline(const RenderInput& input) {
  RenderOutput output;
  ScratchDir scratch;
  kube::MemoryClient api;
  SystemClock clock;
  kube::Metrics metrics;

  // The CRs, in the namespace they name or the default one; Services given are used as is.
  struct Cr {
    const kube::Resource resource;
    std::string ns, name;
  };
  std::vector<Cr> crs;
  std::map<std::string, std::map<std::string, int>> wanted;  // ns -> service -> port
  std::set<std::string> given;                               // "ns/name" Services in files
  for (Object object : input.objects) {
    if (!object.is_object()) {
      continue;
    }
    auto& meta = object["metadata"];
    if (!meta.is_object() || !meta.contains("namespace") || !meta["namespace"].is_string()) {
      meta["namespace"] = input.defaultNamespace;
    }
    const std::string ns = meta["namespace"];
    const std::string kind = object.value("kind", "");
    const std::string name = meta.value("name", "");
    if (kind == "Service" && object.value("apiVersion", "") == "v1") {
      api.seed(kube::resources::services(), object);
      given.insert(ns + "/" + name);
      continue;
    }
    std::optional<kube::Resource> resource;
    if (kind == "CanaryRollout") {
      resource = controllers::resources::canaryRollouts();
    } else if (kind == "TrafficPolicy") {
      resource = controllers::resources::trafficPolicies();
    } else if (kind == "TierLimit") {
      resource = controllers::resources::tierLimits();
    }
    if (!resource) {
      continue;  // a Deployment or anything else in the same files: not ours
    }
    if (object.value("apiVersion", "") != api::kApiVersion) {
      output.problems.push_back({describe(kind, ns, name), "InvalidSpec",
                                 "apiVersion: must be " + std::string(api::kApiVersion)});
      continue;
    }
    if (name.empty()) {
      output.problems.push_back(
          {describe(kind, ns, "?"), "InvalidSpec", "metadata.name: required"});
      continue;
    }
    object.erase("status");  // the first reconcile, as a fresh operator would do it
    api.seed(*resource, object);
    crs.push_back({*resource, ns, name});
    serviceRefs(object.value("spec", Object::object()), "", wanted[ns]);
  }
  for (const auto& [ns, services] : wanted) {
    for (const auto& [name, port] : services) {
      if (given.contains(ns + "/" + name)) {
        continue;
      }
      api.seed(kube::resources::services(),
               {{"apiVersion", "v1"},
                {"kind", "Service"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"spec", {{"type", "ClusterIP"}, {"ports", {{{"port", port}}}}}}});
      output.notes.push_back("assumed Service " + ns + "/" + name + " (port " +
                             std::to_string(port) + "); pass it with -f to use the real one");
    }
  }

  // The operator's providers: the Gateway API one writes into the in-memory API server, the
  // haproxy one into the scratch directory (no HAProxy to reload or to move weights in).
  render::Providers providers;
  providers.add(std::make_unique<render::gatewayapi::GatewayApiProvider>(
      api, api, controllers::kFieldManager));
  auto haproxyFlags = input.haproxy;
  haproxyFlags.configPath = (scratch.path() / "haproxy.cfg").string();
  haproxyFlags.mapDir = scratch.path().string();
  haproxyFlags.masterSocket.clear();
  auto haproxyOptions = cmd::haproxyProviderOptions(haproxyFlags);
  haproxyOptions.runtimeAddress.clear();
  providers.add(std::make_unique<render::haproxy::HaproxyProvider>(haproxyOptions));

  kube::EventRecorder events(api, clock, {});
  controllers::PrometheusClients prometheus([](const std::string&) {
    return Expected<std::unique_ptr<prometheus::QueryClient>, prometheus::QueryError>(
        Unexpected(prometheus::QueryError{prometheus::QueryErrorKind::Unreachable, 0, "",
                                          "offline render: no Prometheus"}));
  });
  controllers::Deps deps;
  deps.cache = &api;
  deps.writer = &api;
  deps.statusWriter = &api;
  deps.events = &events;
  deps.prometheus = &prometheus;
  deps.providers = &providers;
  deps.metrics = &metrics;
  deps.clock = &clock;
  controllers::TierLimitReconciler tierLimits(deps, engine::systemZones());
  controllers::TrafficPolicyReconciler policies(deps);
  controllers::CanaryRolloutReconciler rollouts(deps);
  const auto reconcileAll = [&] {
    for (const auto& cr : crs) {
      kube::Reconciler* r = cr.resource.kind == "TierLimit" ? &tierLimits
                            : cr.resource.kind == "TrafficPolicy"
                                ? static_cast<kube::Reconciler*>(&policies)
                                : &rollouts;
      (void)r->reconcile({cr.ns, cr.name});
    }
  };
  // Twice: a TierLimit's limits and a rollout's split ride on the policy's route, and each
  // controller reads the others' status as the operator's would on its next turn.
  reconcileAll();
  reconcileAll();

  // What the operator would refuse: each CR's Ready (or RateLimitsEnforced) condition.
  for (const auto& cr : crs) {
    auto object = api.get(cr.resource, {cr.ns, cr.name});
    if (!object || !object->contains("status")) {
      continue;
    }
    for (const auto& c : (*object)["status"].value("conditions", Object::array())) {
      const std::string type = c.value("type", "");
      const std::string reason = c.value("reason", "");
      if ((type == "Ready" || type == "RateLimitsEnforced") && c.value("status", "") == "False" &&
          reason != "Pending" && reason != "RolloutProgressing") {
        output.problems.push_back(
            {describe(cr.resource.kind, cr.ns, cr.name), reason, c.value("message", "")});
        break;
      }
    }
  }

  for (const auto& resource :
       {kube::resources::httpRoutes(), kube::resources::backendTrafficPolicies(),
        kube::resources::horizontalPodAutoscalers()}) {
    auto list = api.list(resource, "", {});
    if (!list) {
      continue;
    }
    for (auto item : list->items) {
      if (!item.contains("apiVersion")) {
        item["apiVersion"] =
            resource.group.empty() ? resource.version : resource.group + "/" + resource.version;
      }
      if (!item.contains("kind")) {
        item["kind"] = resource.kind;
      }
      output.owners.push_back(tidy(item));
      output.objects.push_back(std::move(item));
    }
  }
  const auto cfg = scratch.path() / "haproxy.cfg";
  if (fs::exists(cfg)) {
    const std::string scratchDir = scratch.path().string();
    auto replaceAll = [&](std::string text) {
      for (auto at = text.find(scratchDir); at != std::string::npos;
           at = text.find(scratchDir, at)) {
        text.replace(at, scratchDir.size(), input.haproxyMapDir);
      }
      return text;
    };
    auto text = replaceAll(readFile(cfg));
    // A config without routes is the empty frontend every operator starts with: not output.
    if (text.find("backend ") != std::string::npos) {
      output.haproxyConfig = std::move(text);
      output.haproxyMap = readFile(scratch.path() / "weights.map");
    }
  }
  return output;
}

std::string toYamlStream(const RenderOutput& output) {
  std::string out;
  for (std::size_t i = 0; i < output.objects.size(); ++i) {
    const std::string owner = i < output.owners.size() ? output.owners[i] : "";
    out += "---\n" + (owner.empty() ? "" : "# Source: " + owner + "\n") +
           api::jsonToYaml(output.objects[i]);
  }
  if (!output.haproxyConfig.empty()) {
    const Object configMap = {
        {"apiVersion", "v1"},
        {"kind", "ConfigMap"},
        {"metadata",
         {{"name", "sluice-haproxy"}, {"labels", {{"app.kubernetes.io/managed-by", "sluice"}}}}},
        {"data", {{"haproxy.cfg", output.haproxyConfig}, {"weights.map", output.haproxyMap}}}};
    out += "---\n# Source: the haproxy provider (haproxy.cfg and the weights map it reads)\n" +
           api::jsonToYaml(configMap);
  }
  return out;
}

}  // namespace sluice::plugin
