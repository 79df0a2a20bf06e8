// kubectl-sluice: the kubectl plugin for Sluice (`kubectl sluice ...`). See docs/kubectl-sluice.md.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "operator/api/yaml.h"
#include "operator/common/clock.h"
#include "operator/kube/config.h"
#include "operator/kube/rest_client.h"
#include "operator/plugin/actions.h"
#include "operator/plugin/offline_render.h"
#include "operator/plugin/view.h"

namespace {

using sluice::kube::Object;
namespace plugin = sluice::plugin;
namespace fs = std::filesystem;

// Exit codes scripts can rely on (also in --help).
enum Exit : int {
  kOk = 0,
  kError = 1,         // the cluster: unreachable, forbidden, not found
  kUsage = 2,         // the command line
  kDoesNotApply = 3,  // promote a Succeeded rollout, resume one that is not paused
  kInvalidInput = 4,  // render: the CRs would be refused
  kTimedOut = 5,      // the operator did not act within --timeout
};

constexpr const char* kExitCodes = R"(Exit codes:
  0  success
  1  error talking to the cluster (unreachable, forbidden, object not found)
  2  usage error
  3  the action does not apply (promote a Succeeded rollout, resume one not paused)
  4  render: a CR would be refused (the message names the field)
  5  the operator did not act on the request within --timeout)";

struct Global {
  std::string kubeconfig;
  std::string context;
  std::string ns;
  bool allNamespaces = false;
};

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return code;
}

struct Cluster {
  std::unique_ptr<sluice::kube::RestClient> client;
  std::string ns;  // -n, else the context's namespace
};

sluice::Expected<Cluster, std::string> connect(const Global& g) {
  auto config = sluice::kube::loadConfig({g.kubeconfig, g.context});
  if (!config) {
    return sluice::Unexpected(config.error().message + (config.error().file.empty()
                                                            ? ""
                                                            : " (" + config.error().file + ")"));
  }
  sluice::kube::RestClientOptions options;
  options.userAgent = "kubectl-sluice";
  options.maxRetries = 1;
  options.requestTimeout = std::chrono::seconds{15};
  auto client = sluice::kube::RestClient::create(*config, options);
  if (!client) {
    return sluice::Unexpected(client.error().describe());
  }
  return Cluster{std::move(*client), g.ns.empty() ? config->ns : g.ns};
}

std::string apiMessage(const sluice::kube::ApiError& e, const std::string& what) {
  if (e.isNotFound() && e.details.is_object() && e.details.value("name", "").empty()) {
    return "the sluice.dev CRDs are not installed in this cluster (kubectl apply -f crds/)";
  }
  if (e.isNotFound()) {
    return what + " not found";
  }
  if (e.isForbidden()) {
    return what + ": forbidden: " + e.message;
  }
  return what + ": " + e.describe();
}

// "cr/pay", "canaryrollout pay", "pay" (a CanaryRollout).
sluice::Expected<std::pair<const plugin::Kind*, std::string>, std::string> target(
    const std::vector<std::string>& args, bool rolloutsOnly) {
  const plugin::Kind* kind = &plugin::kinds()[0];
  std::string name;
  if (args.size() == 2) {
    kind = plugin::findKind(args[0]);
    if (kind == nullptr) {
      return sluice::Unexpected("unknown kind \"" + args[0] +
                                "\" (canaryrollout|cr, trafficpolicy|tp, tierlimit|tl)");
    }
    name = args[1];
  } else if (args.size() == 1) {
    name = args[0];
    if (auto slash = name.find('/'); slash != std::string::npos) {
      kind = plugin::findKind(name.substr(0, slash));
      if (kind == nullptr) {
        return sluice::Unexpected("unknown kind \"" + name.substr(0, slash) + "\"");
      }
      name = name.substr(slash + 1);
    }
  } else {
    return sluice::Unexpected("expected NAME, KIND/NAME or KIND NAME");
  }
  if (name.empty()) {
    return sluice::Unexpected("expected a name");
  }
  if (rolloutsOnly && std::string(kind->name) != "CanaryRollout") {
    return sluice::Unexpected("this command applies to CanaryRollouts only, not " +
                              std::string(kind->name) + "s");
  }
  return std::make_pair(kind, name);
}

std::vector<Object> eventsAbout(Cluster& c, const Object& object) {
  const std::string name = object["metadata"].value("name", "");
  const std::string kind = object.value("kind", "");
  sluice::kube::ListOptions options;
  options.fieldSelector = "regarding.name=" + name;
  auto list = c.client->list(sluice::kube::resources::events(), c.ns, options);
  if (!list) {
    return {};
  }
  std::vector<Object> events;
  for (auto& e : list->items) {
    if (e.contains("regarding") && e["regarding"].value("kind", "") == kind) {
      events.push_back(std::move(e));
    }
  }
  const auto when = [](const Object& e) {
    if (e.contains("series") && e["series"].contains("lastObservedTime")) {
      return e["series"]["lastObservedTime"].get<std::string>();
    }
    return e.value("eventTime", e["metadata"].value("creationTimestamp", ""));
  };
  std::stable_sort(events.begin(), events.end(),
                   [&](const Object& a, const Object& b) { return when(a) < when(b); });
  return events;
}

int runGet(const Global& g, const std::vector<std::string>& args, const std::string& output) {
  std::vector<const plugin::Kind*> wanted;
  for (const auto& a : args) {
    for (std::size_t start = 0; start <= a.size();) {
      auto comma = std::min(a.find(',', start), a.size());
      const std::string part = a.substr(start, comma - start);
      start = comma + 1;
      if (part.empty() || part == "all" || part == "sluice") {
        continue;
      }
      const plugin::Kind* k = plugin::findKind(part);
      if (k == nullptr) {
        return fail(kUsage, "unknown kind \"" + part +
                                "\" (canaryrollout|cr, trafficpolicy|tp, tierlimit|tl)");
      }
      wanted.push_back(k);
    }
  }
  if (wanted.empty()) {
    for (const auto& k : plugin::kinds()) {
      wanted.push_back(&k);
    }
  }
  if (output != "" && output != "wide" && output != "json" && output != "yaml" &&
      output != "name") {
    return fail(kUsage, "--output " + output + ": one of json, yaml, name, wide");
  }
  auto c = connect(g);
  if (!c) {
    return fail(kError, c.error());
  }
  const std::string ns = g.allNamespaces ? "" : c->ns;
  std::vector<Object> items;
  for (const auto* k : wanted) {
    auto list = c->client->list(k->resource(), ns, {});
    if (!list) {
      return fail(kError, apiMessage(list.error(), std::string("listing ") + k->plural));
    }
    for (auto& item : list->items) {
      item["kind"] = k->name;
      item["apiVersion"] = "sluice.dev/v1alpha1";
      items.push_back(std::move(item));
    }
  }
  if (output == "json" || output == "yaml") {
    Object list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
    std::cout << (output == "json" ? list.dump(2) + "\n" : sluice::api::jsonToYaml(list));
    return kOk;
  }
  if (output == "name") {
    for (const auto& item : items) {
      const auto* k = plugin::findKind(item.value("kind", ""));
      std::cout << k->singular << ".sluice.dev/" << item["metadata"].value("name", "") << "\n";
    }
    return kOk;
  }
  if (items.empty()) {
    std::fprintf(stderr, "No Sluice resources found%s.\n",
                 g.allNamespaces ? "" : (" in " + ns + " namespace").c_str());
    return kOk;
  }
  const auto now = sluice::SystemClock().now();
  std::vector<plugin::Row> rows;
  for (const auto& item : items) {
    rows.push_back(plugin::rowOf(item, now));
  }
  std::cout << plugin::table(rows, g.allNamespaces);
  return kOk;
}

struct Snapshot {
  Object object;
  std::vector<Object> events;
  std::optional<Object> related;
};

sluice::Expected<Snapshot, std::string> snapshot(Cluster& c, const plugin::Kind& kind,
                                                 const std::string& name) {
  auto object = c.client->get(kind.resource(), {c.ns, name});
  if (!object) {
    return sluice::Unexpected(
        apiMessage(object.error(), std::string(kind.singular) + " " + c.ns + "/" + name));
  }
  (*object)["kind"] = kind.name;
  Snapshot s{*object, eventsAbout(c, *object), std::nullopt};
  if (std::string(kind.name) == "TierLimit" && (*object)["status"].contains("hpa")) {
    const std::string hpa = (*object)["status"]["hpa"].value("name", "");
    if (auto h = c.client->get(sluice::kube::resources::horizontalPodAutoscalers(), {c.ns, hpa})) {
      s.related = *h;
    }
  }
  return s;
}

int runStatus(const Global& g, const std::vector<std::string>& args, bool watch,
              std::chrono::milliseconds interval) {
  auto t = target(args, false);
  if (!t) {
    return fail(kUsage, t.error());
  }
  auto c = connect(g);
  if (!c) {
    return fail(kError, c.error());
  }
  const bool terminal = isatty(STDOUT_FILENO) != 0;
  std::string lastLine;
  bool seen = false;
  bool firstFrame = true;
  while (true) {
    auto s = snapshot(*c, *t->first, t->second);
    const auto now = sluice::SystemClock().now();
    if (!s) {
      if (seen && watch) {
        std::printf("%s %s/%s is gone: %s\n", t->first->singular, c->ns.c_str(), t->second.c_str(),
                    s.error().c_str());
      }
      return fail(kError, s.error());
    }
    seen = true;
    if (!watch) {
      std::cout << plugin::statusScreen(s->object, s->events, s->related ? &*s->related : nullptr,
                                        now);
      return kOk;
    }
    if (terminal) {
      // Redraw in place: cursor home, each line overwritten and cleared to its end, then the
      // rest of the screen cleared. The whole screen is cleared only before the first frame:
      // terminals that keep a cleared screen (tmux's scroll-on-clear, VTE) would otherwise push
      // a copy of the screen into the scrollback at every redraw.
      std::ostringstream screen;
      screen << plugin::statusScreen(s->object, s->events, s->related ? &*s->related : nullptr, now)
             << "\n(watching every " << interval.count() / 1000.0 << "s; Ctrl-C to stop)\n";
      std::string frame = firstFrame ? "\x1b[H\x1b[2J" : "\x1b[H";
      firstFrame = false;
      std::istringstream lines(screen.str());
      for (std::string line; std::getline(lines, line);) {
        frame += line + "\x1b[K\n";
      }
      frame += "\x1b[J";
      std::cout << frame << std::flush;
    } else {
      // Piped: one plain line whenever something changed (a metric's value moving at each
      // analysis is not a change; its verdict is).
      const auto key = plugin::summaryLine(s->object, false);
      if (key != lastLine) {
        const auto line = plugin::summaryLine(s->object);
        const auto stamp = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        char when[16];
        std::strftime(when, sizeof when, "%H:%M:%S", std::gmtime(&stamp));
        std::cout << when << " " << line << "\n" << std::flush;
        lastLine = key;
      }
    }
    std::this_thread::sleep_for(interval);
  }
}

int runAction(const Global& g, plugin::Verb verb, const std::vector<std::string>& args,
              const std::vector<std::string>& regions, bool wait,
              std::chrono::milliseconds timeout) {
  auto t = target(args, true);
  if (!t) {
    return fail(kUsage, t.error());
  }
  auto c = connect(g);
  if (!c) {
    return fail(kError, c.error());
  }
  const std::string what = std::string(t->first->singular) + " " + c->ns + "/" + t->second;
  auto object = c->client->get(t->first->resource(), {c->ns, t->second});
  if (!object) {
    return fail(kError, apiMessage(object.error(), what));
  }
  auto patch = plugin::actionPatch(verb, *object, regions);
  if (!patch) {
    return fail(kDoesNotApply, patch.error());
  }
  auto patched = c->client->patch(t->first->resource(), {c->ns, t->second}, *patch);
  if (!patched) {
    return fail(kError, apiMessage(patched.error(), what));
  }
  if (!wait) {
    std::printf("%s: %s requested\n", what.c_str(), plugin::verbName(verb));
    return kOk;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto now = c->client->get(t->first->resource(), {c->ns, t->second});
    if (now) {
      (*now)["kind"] = t->first->name;
      if (plugin::actionDone(verb, *now)) {
        std::printf("%s: %s done: %s\n", what.c_str(), plugin::verbName(verb),
                    plugin::summaryLine(*now).c_str());
        return kOk;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(kTimedOut, what + ": " + plugin::verbName(verb) +
                                 " requested, but the operator has not acted on it within " +
                                 std::to_string(timeout.count() / 1000) +
                                 "s (is sluice-operator running?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{250});
  }
}

sluice::Expected<std::vector<Object>, std::string> readInputs(
    const std::vector<std::string>& files) {
  std::vector<Object> objects;
  const auto readText = [&](const std::string& label,
                            const std::string& text) -> std::optional<std::string> {
    auto docs = sluice::api::yamlToJson(text);
    if (!docs) {
      return label + ": " + docs.error();
    }
    for (auto& d : *docs) {
      if (d.is_object() && d.value("kind", "") == "List" && d.contains("items")) {
        for (auto& item : d["items"]) {
          objects.push_back(item);
        }
      } else {
        objects.push_back(std::move(d));
      }
    }
    return std::nullopt;
  };
  for (const auto& f : files) {
    std::vector<fs::path> paths;
    if (f == "-") {
      std::string text((std::istreambuf_iterator<char>(std::cin)),
                       std::istreambuf_iterator<char>());
      if (auto e = readText("stdin", text)) {
        return sluice::Unexpected(*e);
      }
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(f, ec)) {
      for (const auto& entry : fs::directory_iterator(f)) {
        const auto ext = entry.path().extension();
        if (ext == ".yaml" || ext == ".yml" || ext == ".json") {
          paths.push_back(entry.path());
        }
      }
      std::sort(paths.begin(), paths.end());
    } else if (fs::exists(f, ec)) {
      paths.push_back(f);
    } else {
      return sluice::Unexpected(f + ": no such file or directory");
    }
    for (const auto& p : paths) {
      std::ifstream in(p);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (auto e = readText(p.string(), text)) {
        return sluice::Unexpected(*e);
      }
    }
  }
  return objects;
}

int runRender(const Global& g, const std::vector<std::string>& files,
              const plugin::RenderInput& base, const std::string& output) {
  if (files.empty()) {
    return fail(kUsage, "render needs -f FILE (a file, a directory or - for stdin)");
  }
  if (output != "yaml" && output != "json") {
    return fail(kUsage, "--output " + output + ": one of yaml, json");
  }
  auto objects = readInputs(files);
  if (!objects) {
    return fail(kInvalidInput, objects.error());
  }
  plugin::RenderInput input = base;
  input.objects = std::move(*objects);
  input.defaultNamespace = g.ns.empty() ? "default" : g.ns;
  if (auto bind = sluice::cmd::parseHostPort("haproxy-frontend-bind", input.haproxy.frontendBind);
      !bind) {
    return fail(kUsage, bind.error());
  }
  if (auto bind = sluice::cmd::parseHostPort("haproxy-stats-bind", input.haproxy.statsBind);
      !bind) {
    return fail(kUsage, bind.error());
  }
  auto out = plugin::renderOffline(input);
  for (const auto& note : out.notes) {
    std::fprintf(stderr, "note: %s\n", note.c_str());
  }
  if (!out.problems.empty()) {
    for (const auto& p : out.problems) {
      std::fprintf(stderr, "error: %s: %s: %s\n", p.object.c_str(), p.reason.c_str(),
                   p.message.c_str());
    }
    return kInvalidInput;
  }
  if (output == "json") {
    Object list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", out.objects}};
    if (!out.haproxyConfig.empty()) {
      list["items"].push_back(
          {{"apiVersion", "v1"},
           {"kind", "ConfigMap"},
           {"metadata", {{"name", "sluice-haproxy"}}},
           {"data", {{"haproxy.cfg", out.haproxyConfig}, {"weights.map", out.haproxyMap}}}});
    }
    std::cout << list.dump(2) << "\n";
  } else {
    std::cout << plugin::toYamlStream(out);
  }
  return kOk;
}

// Cobra's protocol (what kubectl's plugin completion reads from kubectl_complete-sluice):
// candidates one per line, then ":<directive>" (4: no file completion, 0: default).
int runComplete(const Global& g, std::vector<std::string> words) {
  static const std::vector<std::string> commands{"get",        "status", "promote", "abort",
                                                 "retry",      "pause",  "resume",  "render",
                                                 "completion", "version"};
  const std::string partial = words.empty() ? "" : words.back();
  if (!words.empty()) {
    words.pop_back();
  }
  std::vector<std::string> candidates;
  int directive = 4;
  const auto offer = [&](const std::string& c) {
    if (c.rfind(partial, 0) == 0) {
      candidates.push_back(c);
    }
  };
  const auto names = [&](const plugin::Kind& k, const std::string& prefix) {
    auto c = connect(g);
    if (!c) {
      return;
    }
    if (auto list = c->client->list(k.resource(), c->ns, {})) {
      for (const auto& item : list->items) {
        offer(prefix + item["metadata"].value("name", ""));
      }
    }
  };
  if (words.empty()) {
    for (const auto& c : commands) {
      offer(c);
    }
  } else if (!words.empty() && (words.back() == "-n" || words.back() == "--namespace")) {
    auto c = connect(g);
    if (c) {
      if (auto list = c->client->list({"", "v1", "namespaces", "Namespace", false}, "", {})) {
        for (const auto& item : list->items) {
          offer(item["metadata"].value("name", ""));
        }
      }
    }
  } else if (words[0] == "render") {
    directive = partial.rfind('-', 0) == 0 ? 4 : 0;
    if (partial.rfind('-', 0) == 0) {
      for (const char* f : {"--filename", "--output", "--namespace", "--haproxy-map-dir"}) {
        offer(f);
      }
    }
  } else if (words[0] == "get") {
    for (const auto& k : plugin::kinds()) {
      offer(k.plural);
      offer(k.shortName);
    }
  } else if (words[0] == "completion") {
    offer("bash");
    offer("zsh");
  } else if (words[0] == "status") {
    if (words.size() == 2 && plugin::findKind(words[1]) != nullptr) {
      names(*plugin::findKind(words[1]), "");
    } else if (words.size() == 1) {
      if (auto slash = partial.find('/'); slash != std::string::npos) {
        if (const auto* k = plugin::findKind(partial.substr(0, slash))) {
          names(*k, partial.substr(0, slash + 1));
        }
      } else {
        names(plugin::kinds()[0], "");
        for (const auto& k : plugin::kinds()) {
          offer(std::string(k.shortName) + "/");
        }
      }
      if (partial.rfind('-', 0) == 0) {
        offer("--watch");
        offer("--interval");
      }
    }
  } else if (std::find(commands.begin(), commands.end(), words[0]) != commands.end() &&
             words.size() == 1) {
    if (partial.rfind('-', 0) == 0) {
      for (const char* f : {"--region", "--wait", "--timeout", "--namespace"}) {
        offer(f);
      }
    } else {
      names(plugin::kinds()[0], "");
    }
  }
  for (const auto& c : candidates) {
    std::cout << c << "\n";
  }
  std::cout << ":" << directive << "\n";
  return kOk;
}

constexpr const char* kBashCompletion =
    R"(# bash completion for kubectl-sluice (and `kubectl sluice` with kubectl >= 1.26, through
# kubectl_complete-sluice on PATH). Load with: source <(kubectl-sluice completion bash)
_kubectl_sluice() {
  local cur words out directive
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:1:COMP_CWORD}")
  out=$(kubectl-sluice __complete "${words[@]}" 2>/dev/null) || return
  directive=${out##*:}
  out=${out%:*}
  COMPREPLY=($(compgen -W "${out}" -- "${cur}"))
  if [[ ${#COMPREPLY[@]} -eq 0 && ${directive} == 0 ]]; then
    COMPREPLY=($(compgen -f -- "${cur}"))
  fi
}
complete -F _kubectl_sluice kubectl-sluice
)";

constexpr const char* kZshCompletion =
    R"(# zsh completion for kubectl-sluice. Load with: source <(kubectl-sluice completion zsh)
autoload -U +X bashcompinit && bashcompinit
)";

std::chrono::milliseconds parseInterval(const std::string& text, bool& ok) {
  auto seconds = plugin::durationSeconds(text);
  ok = seconds.has_value() && *seconds > 0;
  return std::chrono::milliseconds{ok ? *seconds * 1000 : 0};
}

}  // namespace

int main(int argc, char** argv) {
  Global g;
  CLI::App app{
      "kubectl sluice: see and steer Sluice CanaryRollouts, TrafficPolicies and TierLimits.",
      "kubectl-sluice"};
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(std::string(R"(
Examples:
  # Every Sluice object in the current namespace, with phase and health
  kubectl sluice get

  # A rollout live: step, weight, each analysis metric against its threshold, events
  kubectl sluice status payment-api --watch

  # Skip to 100 %, or roll back now
  kubectl sluice promote payment-api
  kubectl sluice abort payment-api

  # What the operator would write for these CRs, without a cluster (GitOps previews)
  kubectl sluice render -f samples/

)") + kExitCodes);
  app.add_option("--kubeconfig", g.kubeconfig, "Path to the kubeconfig file");
  app.add_option("--context", g.context, "The kubeconfig context to use");
  app.add_option("-n,--namespace", g.ns, "The namespace (default: the context's)");
  std::string output;
  bool watch = false;
  std::string interval = "2s";
  std::vector<std::string> args;
  std::vector<std::string> regions;
  bool wait = true;
  std::string timeout = "30s";
  std::vector<std::string> files;
  plugin::RenderInput renderInput;

  auto* get = app.add_subcommand("get", "List CanaryRollouts, TrafficPolicies and TierLimits");
  get->add_option("kind", args, "Kinds to list (cr, tp, tl; comma-separated); default all");
  get->add_flag("-A,--all-namespaces", g.allNamespaces, "List across all namespaces");
  get->add_option("-o,--output", output, "json, yaml, name or wide");
  get->footer(
      "\nExamples:\n  kubectl sluice get\n  kubectl sluice get cr -A\n  kubectl sluice get tp,tl "
      "-o yaml\n");

  auto* status = app.add_subcommand("status", "Show one object in detail, live with --watch");
  status->add_option("target", args, "NAME (a CanaryRollout), KIND/NAME or KIND NAME")
      ->required()
      ->expected(1, 2);
  status->add_flag("-w,--watch", watch,
                   "Keep watching: redraw in place on a terminal, one line per change when piped");
  status->add_option("--interval", interval, "How often --watch looks again (default 2s)");
  status->footer(
      "\nExamples:\n  kubectl sluice status payment-api --watch\n  kubectl sluice status "
      "tp/checkout\n  kubectl sluice status tierlimit checkout-tiers\n");

  struct VerbCommand {
    plugin::Verb verb;
    const char* help;
    CLI::App* command = nullptr;
  };
  std::vector<VerbCommand> verbs{
      {plugin::Verb::Promote, "Skip the remaining steps: canary at 100 % (sluice.dev/promote)"},
      {plugin::Verb::Abort, "Roll back now: canary at 0 % (sluice.dev/abort)"},
      {plugin::Verb::Retry,
       "Start a rolled-back rollout again at its first step (sluice.dev/retry)"},
      {plugin::Verb::Pause, "Hold the rollout at its step (spec.paused: true)"},
      {plugin::Verb::Resume, "Go on from a pause (spec.paused: false)"},
  };
  for (auto& v : verbs) {
    v.command = app.add_subcommand(plugin::verbName(v.verb), v.help);
    v.command->add_option("name", args, "The CanaryRollout")->required()->expected(1);
    if (v.verb != plugin::Verb::Pause && v.verb != plugin::Verb::Resume) {
      v.command->add_option("--region", regions,
                            "Only this region of a regional rollout (repeatable)");
    }
    v.command->add_flag("--wait,!--no-wait", wait,
                        "Wait until the operator has acted on it (default true)");
    v.command->add_option("--timeout", timeout, "How long --wait waits (default 30s)");
    v.command->footer(std::string("\nExample:\n  kubectl sluice ") + plugin::verbName(v.verb) +
                      " payment-api\n\n" + kExitCodes);
  }

  auto* render = app.add_subcommand(
      "render", "Print what the operator would write for CRs in files, without a cluster");
  render->add_option("-f,--filename", files, "File, directory or - (stdin); repeatable")
      ->required();
  render->add_option("-o,--output", output, "yaml (default) or json");
  render->add_option("--haproxy-map-dir", renderInput.haproxyMapDir,
                     "Where haproxy.cfg says its weights map lives (default /etc/haproxy/sluice)");
  render->add_option("--haproxy-frontend-bind", renderInput.haproxy.frontendBind,
                     "As the operator's flag (default 127.0.0.1:8000)");
  render->add_option("--haproxy-stats-bind", renderInput.haproxy.statsBind,
                     "As the operator's flag (default 127.0.0.1:8404)");
  render->add_option("--haproxy-runtime-address", renderInput.haproxy.runtimeAddress,
                     "As the operator's flag (default admin.sock in --haproxy-map-dir)");
  render->add_option("--haproxy-peers-bind", renderInput.haproxy.peersBind,
                     "As the operator's flag (default 127.0.0.1:8405)");
  render->footer(std::string(R"(
The CRs are validated as the operator validates them (the messages name the field); Services
they name that are not in the files are assumed (a note on stderr says so). Output: the
HTTPRoutes, BackendTrafficPolicies and HPAs the operator would apply, and haproxy.cfg with its
weights map as a ConfigMap, as one YAML stream: the first reconcile of each CR, weights where a
rollout or policy starts.

Examples:
  kubectl sluice render -f samples/canaryrollout-payment-api.yaml
  kustomize build overlays/prod | kubectl sluice render -f -

)") + kExitCodes);

  auto* completion = app.add_subcommand("completion", "Print a shell completion script");
  std::string shell;
  completion->add_option("shell", shell, "bash or zsh")->required();
  auto* complete = app.add_subcommand("__complete", "")->group("");
  std::vector<std::string> words;
  complete->add_option("words", words)->allow_extra_args();
  complete->allow_extras();
  auto* version = app.add_subcommand("version", "Print the plugin's version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\nSee 'kubectl sluice --help' for usage.\n", e.what());
    return kUsage;
  }

  if (*get) {
    return runGet(g, args, output);
  }
  if (*status) {
    bool ok = false;
    auto every = parseInterval(interval, ok);
    if (!ok) {
      return fail(kUsage, "--interval " + interval + ": a duration such as 2s or 1m");
    }
    return runStatus(g, args, watch, every);
  }
  for (const auto& v : verbs) {
    if (*v.command) {
      bool ok = false;
      auto limit = parseInterval(timeout, ok);
      if (!ok) {
        return fail(kUsage, "--timeout " + timeout + ": a duration such as 30s or 2m");
      }
      return runAction(g, v.verb, args, regions, wait, limit);
    }
  }
  if (*render) {
    return runRender(g, files, renderInput, output.empty() ? "yaml" : output);
  }
  if (*completion) {
    if (shell == "bash") {
      std::cout << kBashCompletion;
    } else if (shell == "zsh") {
      std::cout << kZshCompletion << kBashCompletion;
    } else {
      return fail(kUsage, "completion " + shell + ": bash or zsh");
    }
    return kOk;
  }
  if (*complete) {
    auto rest = complete->remaining();
    words.insert(words.end(), rest.begin(), rest.end());
    return runComplete(g, words);
  }
  if (*version) {
    std::printf("kubectl-sluice %s (sluice.dev/v1alpha1)\n", SLUICE_VERSION);
    return kOk;
  }
  return kUsage;
}
