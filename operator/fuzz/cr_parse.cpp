// The three kinds as a user (or a GitOps tool) hands them in: YAML or JSON text, parsed,
// defaulted and validated as the operator and `kubectl sluice render` do. Any input must give
// a value or field-named errors: no crash, no exception, no sanitizer report.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "operator/api/parse.h"
#include "operator/api/status_json.h"
#include "operator/api/yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = sluice::api::yamlToJson(text);
  if (!docs) {
    return 0;
  }
  for (const auto& doc : *docs) {
    if (!doc.is_object()) {
      continue;
    }
    // Every kind's parser sees every document: a wrong kind must be refused, not crash.
    if (auto r = sluice::api::parseCanaryRollout(doc)) {
      (void)sluice::api::toJson(r->status);
    }
    if (auto p = sluice::api::parseTrafficPolicy(doc)) {
      (void)sluice::api::toJson(p->status);
    }
    if (auto l = sluice::api::parseTierLimit(doc)) {
      (void)sluice::api::toJson(l->status);
    }
    (void)sluice::api::jsonToYaml(doc);
  }
  return 0;
}
