#pragma once

// YAML to JSON, for sample files and local (cluster-less) runs. Plain scalars resolve by the
// YAML 1.2 core schema (null, true/false, integers, floats); quoted scalars always stay
// strings, so `"0.05"` is the string the API expects and `5` is the integer 5. YAML 1.1's
// yes/no/on/off booleans are deliberately not recognised: they stay strings.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "operator/common/expected.h"

namespace sluice::api {

// Every non-empty document in `text` ("---" separated), in order.
Expected<std::vector<nlohmann::json>, std::string> yamlToJson(std::string_view text);
Expected<std::vector<nlohmann::json>, std::string> readYamlFile(const std::filesystem::path& file);

// One YAML document for `value` (block style, keys sorted as nlohmann::json keeps them). Strings
// that would read back as something else (numbers, booleans, null, "") are quoted; multi-line
// strings are literal blocks. yamlToJson(jsonToYaml(v)) == v.
std::string jsonToYaml(const nlohmann::json& value);

}  // namespace sluice::api
