#include "operator/api/yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace sluice::api {
namespace {

using nlohmann::json;

bool isOneOf(const std::string& s, std::initializer_list<const char*> options) {
  for (const char* o : options) {
    if (s == o) {
      return true;
    }
  }
  return false;
}

std::optional<json> resolveInteger(const std::string& s) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.starts_with("0x")) {
    base = 16;
    digits.remove_prefix(2);
    if (s.front() == '-' || s.front() == '+') {
      return std::nullopt;  // the core schema has no signed hex or octal
    }
  } else if (digits.starts_with("0o")) {
    base = 8;
    digits.remove_prefix(2);
    if (s.front() == '-' || s.front() == '+') {
      return std::nullopt;
    }
  }
  if (digits.empty()) {
    return std::nullopt;
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range) {
    return json(std::strtod(s.c_str(), nullptr));
  }
  if (ec != std::errc{}) {
    return std::nullopt;
  }
  if (!negative) {
    if (magnitude <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return json(static_cast<std::int64_t>(magnitude));
    }
    return json(magnitude);
  }
  if (magnitude <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
    return json(static_cast<std::int64_t>(~magnitude + 1));
  }
  return json(-static_cast<double>(magnitude));
}

std::optional<json> resolveFloat(const std::string& s) {
  if (isOneOf(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})) {
    return json(std::numeric_limits<double>::infinity());
  }
  if (isOneOf(s, {"-.inf", "-.Inf", "-.INF"})) {
    return json(-std::numeric_limits<double>::infinity());
  }
  if (isOneOf(s, {".nan", ".NaN", ".NAN"})) {
    return json(std::numeric_limits<double>::quiet_NaN());
  }
  // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    ++i;
  }
  std::size_t mantissaDigits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    ++i;
    ++mantissaDigits;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      ++mantissaDigits;
    }
  }
  if (mantissaDigits == 0) {
    return std::nullopt;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    if (i == start) {
      return std::nullopt;
    }
  }
  if (i != s.size()) {
    return std::nullopt;
  }
  std::istringstream in(s);
  in.imbue(std::locale::classic());
  double value = 0;
  in >> value;
  return json(value);
}

json resolvePlainScalar(const std::string& s) {
  if (s.empty() || isOneOf(s, {"~", "null", "Null", "NULL"})) {
    return nullptr;
  }
  if (isOneOf(s, {"true", "True", "TRUE"})) {
    return true;
  }
  if (isOneOf(s, {"false", "False", "FALSE"})) {
    return false;
  }
  if (auto i = resolveInteger(s)) {
    return *i;
  }
  if (auto f = resolveFloat(s)) {
    return *f;
  }
  return s;
}

// What a document may expand to: aliases are copied into the JSON, so a few lines of anchors
// can stand for billions of nodes ("billion laughs"), or a million copies of one long string.
// kube-apiserver refuses objects over 3 MiB; real CRs are far below all three limits.
constexpr std::size_t kMaxNodes = 100'000;
constexpr std::size_t kMaxBytes = 32 * 1024 * 1024;
constexpr int kMaxDepth = 200;

struct TooLarge {
  std::string message;
};

struct Budget {
  std::size_t nodes = 0;
  std::size_t bytes = 0;

  void spend(std::size_t text) {
    if (++nodes > kMaxNodes) {
      throw TooLarge{"more than " + std::to_string(kMaxNodes) + " nodes once aliases are expanded"};
    }
    bytes += text;
    if (bytes > kMaxBytes) {
      throw TooLarge{"more than " + std::to_string(kMaxBytes / (1024 * 1024)) +
                     " MiB of text once aliases are expanded"};
    }
  }
};

json convert(const YAML::Node& node, Budget& budget, int depth) {
  budget.spend(node.IsScalar() ? node.Scalar().size() : 0);
  if (depth > kMaxDepth) {
    throw TooLarge{"nested deeper than " + std::to_string(kMaxDepth) + " levels"};
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      const std::string& value = node.Scalar();
      // "!" marks a quoted (non-plain) scalar; explicit tags are honoured.
      if (tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "!!str") {
        return value;
      }
      return resolvePlainScalar(value);
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) {
        out.push_back(convert(item, budget, depth + 1));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& entry : node) {
        auto key = entry.first.as<std::string>();
        budget.spend(key.size());
        out[std::move(key)] = convert(entry.second, budget, depth + 1);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

namespace {

// YAML allows only printable characters (YAML 1.2, 5.1): of the C0 controls, tab, line feed
// and carriage return. yaml-cpp 0.7 does not check, and a NUL byte inside a document sends
// LoadAll into an endless loop of empty documents (found by operator/fuzz/cr_parse).
std::optional<std::string> nonPrintable(std::string_view text) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      ++line;
      column = 1;
      continue;
    }
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02X", c);
      return "control character " + std::string(code) + " at line " + std::to_string(line) +
             ", column " + std::to_string(column) + " (YAML allows only printable characters)";
    }
    ++column;
  }
  return std::nullopt;
}

}  // namespace

namespace {

// yaml-cpp 0.7 can stop consuming input and hand out empty documents forever: `,- a` (a flow
// indicator at block level) sends LoadAll into an endless loop that allocates until memory
// runs out (found by operator/fuzz/cr_parse). A first pass through the parser's events, with
// no nodes built, counts documents: every real document consumes at least one byte, so more
// documents than bytes means the parser is stuck.
class StuckParser : public YAML::EventHandler {
 public:
  explicit StuckParser(std::size_t limit) : limit_(limit) {}
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > limit_) {
      throw TooLarge{"the YAML parser stopped consuming input at line " +
                     std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1)};
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::size_t limit_;
  std::size_t documents_ = 0;
};

}  // namespace

Expected<std::vector<json>, std::string> yamlToJson(std::string_view text) {
  if (auto bad = nonPrintable(text)) {
    return Unexpected("invalid YAML: " + *bad);
  }
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    StuckParser stuck(text.size() + 1);
    while (parser.HandleNextDocument(stuck)) {
    }
  } catch (const YAML::Exception& e) {
    return Unexpected(std::string("invalid YAML: ") + e.what());
  } catch (const TooLarge& e) {
    return Unexpected("invalid YAML: " + e.message + " (yaml-cpp)");
  }
  try {
    std::vector<json> out;
    for (const auto& document : YAML::LoadAll(std::string(text))) {
      Budget budget;
      json converted = convert(document, budget, 0);
      if (!converted.is_null()) {
        out.push_back(std::move(converted));
      }
    }
    return out;
  } catch (const YAML::Exception& e) {
    return Unexpected(std::string("invalid YAML: ") + e.what());
  } catch (const TooLarge& e) {
    return Unexpected("YAML document too large: " + e.message);
  }
}

Expected<std::vector<json>, std::string> readYamlFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Unexpected("cannot read " + file.string());
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  auto documents = yamlToJson(buffer.str());
  if (!documents) {
    return Unexpected(file.string() + ": " + documents.error());
  }
  return documents;
}

namespace {

// A plain scalar YAML would read as something other than this string.
bool needsQuotes(const std::string& s) {
  if (s.empty()) {
    return true;
  }
  std::string lower = s;
  for (auto& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (const char* typed :
       {"true", "false", "null", "~", "yes", "no", "on", "off", ".inf", "-.inf", "+.inf", ".nan"}) {
    if (lower == typed) {
      return true;
    }
  }
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end != nullptr && *end == '\0';
}

void emit(YAML::Emitter& out, const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : v.items()) {
        out << YAML::Key;
        if (needsQuotes(key)) {
          out << YAML::DoubleQuoted;
        }
        out << key << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) {
        emit(out, item);
      }
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (s.find('\n') != std::string::npos) {
        out << YAML::Literal << s;
      } else if (needsQuotes(s)) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case nlohmann::json::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      break;
    case nlohmann::json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << v.dump();  // numbers exactly as JSON writes them
      break;
  }
}

}  // namespace

std::string jsonToYaml(const nlohmann::json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace sluice::api
