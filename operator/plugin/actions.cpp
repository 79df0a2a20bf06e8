#include "operator/plugin/actions.h"

#include <algorithm>

#include "operator/engine/canary.h"

namespace sluice::plugin {
namespace {

using kube::Object;

std::string phaseOf(const Object& rollout) {
  auto s = rollout.find("status");
  if (s == rollout.end() || !s->is_object()) {
    return "";
  }
  return s->value("phase", "");
}

bool paused(const Object& rollout) {
  auto spec = rollout.find("spec");
  return spec != rollout.end() && spec->is_object() && spec->value("paused", false);
}

const char* annotationOf(Verb verb) {
  switch (verb) {
    case Verb::Promote:
      return engine::kPromoteAnnotation;
    case Verb::Abort:
      return engine::kAbortAnnotation;
    case Verb::Retry:
      return engine::kRetryAnnotation;
    default:
      return nullptr;
  }
}

std::string regionPhase(const Object& rollout, const std::string& region) {
  auto s = rollout.find("status");
  if (s == rollout.end() || !s->is_object() || !s->contains("regions")) {
    return "";
  }
  for (const auto& r : (*s)["regions"]) {
    if (r.value("name", "") == region) {
      return r.value("phase", "");
    }
  }
  return "";
}

}  // namespace

const char* verbName(Verb verb) {
  switch (verb) {
    case Verb::Promote:
      return "promote";
    case Verb::Abort:
      return "abort";
    case Verb::Retry:
      return "retry";
    case Verb::Pause:
      return "pause";
    case Verb::Resume:
      return "resume";
  }
  return "";
}

Expected<Object, std::string> actionPatch(Verb verb, const Object& rollout,
                                          const std::vector<std::string>& regions) {
  const std::string name = rollout["metadata"].value("name", "");
  const std::string phase = phaseOf(rollout);
  const std::string is =
      "rollout " + name + " is " + (phase.empty() ? "not reconciled yet" : phase);
  std::vector<std::string> known;
  if (auto spec = rollout.find("spec"); spec != rollout.end() && spec->contains("regions")) {
    for (const auto& r : (*spec)["regions"]) {
      known.push_back(r.value("name", ""));
    }
  }
  for (const auto& r : regions) {
    if (known.empty()) {
      return Unexpected("--region " + r + ": rollout " + name + " has no spec.regions");
    }
    if (std::find(known.begin(), known.end(), r) == known.end()) {
      std::string list;
      for (const auto& k : known) {
        list += (list.empty() ? "" : ", ") + k;
      }
      return Unexpected("--region " + r + ": rollout " + name +
                        " has no such region (regions: " + list + ")");
    }
  }
  // With regions named, a region's own phase decides; otherwise the rollout's.
  const auto anyIn = [&](std::initializer_list<const char*> phases) {
    const auto in = [&](const std::string& p) {
      return std::any_of(phases.begin(), phases.end(), [&](const char* q) { return p == q; });
    };
    if (regions.empty()) {
      return in(phase);
    }
    return std::all_of(regions.begin(), regions.end(),
                       [&](const std::string& r) { return in(regionPhase(rollout, r)); });
  };
  const std::string target = regions.empty() ? is : "the region(s) named are";
  switch (verb) {
    case Verb::Promote:
      if (anyIn({"Succeeded"})) {
        return Unexpected(target + " already Succeeded: nothing to promote");
      }
      if (anyIn({"RolledBack"})) {
        return Unexpected(target + " RolledBack: promote does not apply (kubectl sluice retry " +
                          name + " starts it again)");
      }
      break;
    case Verb::Abort:
      if (anyIn({"RolledBack"})) {
        return Unexpected(target + " already RolledBack: nothing to abort");
      }
      break;
    case Verb::Retry:
      if (!anyIn({"RolledBack"})) {
        return Unexpected((regions.empty() ? is : target + " not all RolledBack") +
                          ": retry applies only to a rolled-back rollout");
      }
      break;
    case Verb::Pause:
      if (paused(rollout)) {
        return Unexpected("rollout " + name + " is already paused (spec.paused: true)");
      }
      if (phase == "Succeeded" || phase == "RolledBack") {
        return Unexpected(is + ": there is no step to pause");
      }
      if (!regions.empty()) {
        return Unexpected("--region: pause and resume apply to the whole rollout");
      }
      return Object{{"spec", {{"paused", true}}}};
    case Verb::Resume:
      if (!paused(rollout)) {
        return Unexpected("rollout " + name + " is not paused (spec.paused is not true)");
      }
      if (!regions.empty()) {
        return Unexpected("--region: pause and resume apply to the whole rollout");
      }
      return Object{{"spec", {{"paused", false}}}};
  }
  std::string value = "true";
  if (!regions.empty()) {
    value.clear();
    for (const auto& r : regions) {
      value += (value.empty() ? "" : ",") + r;
    }
  }
  return Object{{"metadata", {{"annotations", {{annotationOf(verb), value}}}}}};
}

bool actionDone(Verb verb, const Object& rollout) {
  const auto generation = rollout["metadata"].value("generation", std::int64_t{0});
  auto status = rollout.find("status");
  const bool observed = status != rollout.end() && status->is_object() &&
                        status->value("observedGeneration", std::int64_t{0}) >= generation;
  if (verb == Verb::Pause) {
    return observed && phaseOf(rollout) == "Paused";
  }
  if (verb == Verb::Resume) {
    return observed && phaseOf(rollout) != "Paused";
  }
  const auto& meta = rollout["metadata"];
  return !(meta.contains("annotations") && meta["annotations"].contains(annotationOf(verb)));
}

}  // namespace sluice::plugin
