#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/prometheus/client.h"

namespace sluice::prometheus {
namespace {

const TemplateValues kValues{"pay-canary", "pay-stable", "shop", "30s", ""};

TEST(Template, FillsEveryPlaceholder) {
  auto q = renderQuery(R"(sum(rate(x{service="{{canary}}",ns="{{ namespace }}"}[{{interval}}])) / )"
                       R"(sum(rate(x{service="{{stable}}"}[{{interval}}])))",
                       kValues);
  ASSERT_TRUE(q.hasValue());
  EXPECT_EQ(*q, R"(sum(rate(x{service="pay-canary",ns="shop"}[30s])) / )"
                R"(sum(rate(x{service="pay-stable"}[30s])))");
}

TEST(Template, EscapesValuesForDoubleQuotedStrings) {
  TemplateValues values = kValues;
  values.canary = "a\"b\\c\nd";
  auto q = renderQuery(R"(x{s="{{canary}}"})", values);
  ASSERT_TRUE(q.hasValue());
  EXPECT_EQ(*q, R"(x{s="a\"b\\c\nd"})");
}

// Values that try to leave their string or matcher and add PromQL (issue 15).
const std::vector<std::string>& hostileValues() {
  static const std::vector<std::string> values = {
      "\"} or vector(1) #",
      "\\\"} or vector(1) #",
      "'} or vector(1) #",
      "`} or vector(1) #",
      "a}b",
      "x\n} or vector(1)",
      "x\r\t\x01\x7f",
      ".*",
      "a|b",
      "\\",
      " or vector(1)",
      "1) or vector(1",
  };
  return values;
}

// Where a placeholder can stand, each with the same value written as PromQL would need it
// spelled in that place (what escaping must produce), or "" where it must be refused.
struct Spot {
  const char* name;
  std::string before;
  std::string after;
};
const std::vector<Spot>& spots() {
  static const std::vector<Spot> all = {
      {"double-quoted", R"(sum(x{s=")", R"("}))"},
      {"single-quoted", R"(sum(x{s=')", R"('}))"},
      {"regex", R"(sum(x{s=~")", R"("}))"},
      {"regex single-quoted", R"(sum(x{s=~ ')", R"('}))"},
      {"raw", "sum(x{s=`", "`})"},
      {"bare", "sum(x{s=\"a\"}[", "])"},
      {"comment", "sum(x) # ", "\n"},
  };
  return all;
}

// PromQL's unquoting (strutil.Unquote) of a string written between `quote`s.
std::string unquote(std::string_view text, char quote) {
  if (quote == '`') {
    return std::string(text);
  }
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    const char c = text[++i];
    switch (c) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'x':
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
        break;
      default:
        out += c;
    }
  }
  return out;
}

// RE2 unescaping of a literal written with escapeRegex's backslashes.
std::string unregex(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i] == '\\' ? text[++i] : text[i];
  }
  return out;
}

// Every hostile value in every place: refused as a BadTemplate, or written so that the text
// between the template's own delimiters reads back (PromQL's unquoting, then RE2's) as exactly
// the value: it cannot have closed the string and added anything.
TEST(Template, NoValueLeavesItsPlace) {
  int refused = 0;
  int escaped = 0;
  for (const auto& spot : spots()) {
    for (const auto& value : hostileValues()) {
      Placeholders values{{"canary", value}};
      auto q = renderQuery(spot.before + "{{canary}}" + spot.after, values);
      const std::string what = std::string(spot.name) + " " + ::testing::PrintToString(value);
      if (!q) {
        EXPECT_EQ(q.error().kind, QueryErrorKind::BadTemplate) << what;
        EXPECT_NE(q.error().message.find("{{canary}}"), std::string::npos) << what;
        ++refused;
        continue;
      }
      ++escaped;
      ASSERT_TRUE(q->starts_with(spot.before) && q->ends_with(spot.after)) << what << ": " << *q;
      const std::string inner =
          q->substr(spot.before.size(), q->size() - spot.before.size() - spot.after.size());
      const char quote = spot.before.back();
      std::string decoded = unquote(inner, quote == '"' || quote == '\'' ? quote : '`');
      if (std::string(spot.name).starts_with("regex")) {
        decoded = unregex(decoded);
      }
      EXPECT_EQ(decoded, value) << what << ": " << *q;
      if (std::string(spot.name) == "comment") {
        EXPECT_EQ(inner.find('\n'), std::string::npos) << what;
      }
    }
  }
  // Bare words take none of these; a comment takes those without a line break; a raw string
  // those without a backtick or control character.
  EXPECT_EQ(refused, 12 + 2 + 3);
  EXPECT_EQ(escaped, 7 * 12 - refused);
}

TEST(Template, BareValuesAreWordsOnly) {
  EXPECT_EQ(renderQuery("x[{{interval}}]", kValues).value(), "x[30s]");
  TemplateValues values = kValues;
  values.interval = "30s] or vector(1) #";
  auto q = renderQuery("sum(rate(x[{{interval}}]))", values);
  ASSERT_FALSE(q.hasValue());
  EXPECT_EQ(q.error().kind, QueryErrorKind::BadTemplate);
  EXPECT_NE(q.error().message.find("outside a quoted string"), std::string::npos);
  // A name with '-' would be a subtraction outside quotes.
  values = kValues;
  EXPECT_FALSE(renderQuery("{{canary}}_requests_total", values).hasValue());
}

TEST(Template, RegexMatchersMatchTheValueOnly) {
  TemplateValues values = kValues;
  values.region = "eu.west|.*";
  auto q = renderQuery(R"(x{proxy=~".*:canary-{{region}}", r="{{region}}"})", values);
  ASSERT_TRUE(q.hasValue()) << q.error().message;
  EXPECT_EQ(*q, R"(x{proxy=~".*:canary-eu\\.west\\|\\.\\*", r="eu.west|.*"})");
}

// Quotes inside the template's own strings and comments do not confuse the lexer.
TEST(Template, FollowsTheTemplatesOwnStrings) {
  TemplateValues values = kValues;
  values.canary = "c\"";
  auto q =
      renderQuery(R"(x{a="q\"{{canary}}", b='"', c="{{canary}}"} # "it's" {{canary}})", values);
  ASSERT_TRUE(q.hasValue()) << q.error().message;
  EXPECT_EQ(*q, R"(x{a="q\"c\"", b='"', c="c\""} # "it's" c")");
}

std::string runPromtool(const std::string& args, const std::filesystem::path& dir) {
  const std::string command =
      std::string(SLUICE_PROMTOOL_BIN) + " " + args + " > " + (dir / "out.log").string() + " 2>&1";
  const int rc = std::system(command.c_str());
  std::ifstream log(dir / "out.log");
  std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  return WIFEXITED(rc) && WEXITSTATUS(rc) == 0 ? std::string() : output;
}

// The real PromQL parser and evaluator (promtool test rules): for every hostile value in a
// double-quoted, single-quoted and regex matcher, the escaped query selects the one series
// whose label is exactly the value (7), not a decoy (100), and adds nothing (vector(1)).
TEST(Template, RealPromqlEvaluatesTheEscapedQueries) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sluice-promql-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  nlohmann::json tests = nlohmann::json::array();
  int checked = 0;
  for (const auto& value : hostileValues()) {
    nlohmann::json exprs = nlohmann::json::array();
    for (const char* shape : {R"(sum(x{s="{{canary}}"}))", R"(sum(x{s='{{canary}}'}))",
                              R"(sum(x{s=~"{{canary}}"}))", R"(sum(x{s!~"{{canary}}"}))"}) {
      auto q = renderQuery(shape, Placeholders{{"canary", value}});
      ASSERT_TRUE(q.hasValue()) << shape << " " << q.error().message;
      const bool negated = std::string_view(shape).find("!~") != std::string_view::npos;
      exprs.push_back({{"expr", *q},
                       {"eval_time", "0m"},
                       {"exp_samples", {{{"labels", "{}"}, {"value", negated ? 100 : 7}}}}});
      ++checked;
    }
    tests.push_back({{"interval", "1m"},
                     {"input_series",
                      {{{"series", "x{s=\"" + escapeLabelValue(value) + "\"}"}, {"values", "7"}},
                       {{"series", R"(x{s="decoy"})"}, {"values", "100"}}}},
                     {"promql_expr_test", exprs}});
  }
  std::ofstream(dir / "tests.yaml") << nlohmann::json{{"tests", tests}}.dump(2);
  EXPECT_EQ(runPromtool("test rules " + (dir / "tests.yaml").string(), dir), "");
  EXPECT_EQ(checked, 4 * 12);
  std::filesystem::remove_all(dir);
}

TEST(Template, NoPlaceholders) {
  EXPECT_EQ(renderQuery("up", kValues).value(), "up");
  EXPECT_EQ(renderQuery("", kValues).value(), "");
  EXPECT_EQ(renderQuery("{x}", kValues).value(), "{x}");
}

TEST(Template, UnknownPlaceholderIsAnError) {
  auto q = renderQuery(R"(x{s="{{service}}"})", kValues);
  ASSERT_FALSE(q.hasValue());
  EXPECT_EQ(q.error().kind, QueryErrorKind::BadTemplate);
  EXPECT_NE(q.error().message.find("{{service}}"), std::string::npos);
}

TEST(Template, UnterminatedPlaceholderIsAnError) {
  auto q = renderQuery(R"(x{s="{{canary"})", kValues);
  ASSERT_FALSE(q.hasValue());
  EXPECT_EQ(q.error().kind, QueryErrorKind::BadTemplate);
}

TEST(Duration, PromqlUnits) {
  using namespace std::chrono_literals;
  EXPECT_EQ(formatDuration(30000ms), "30s");
  EXPECT_EQ(formatDuration(90s), "90s");
  EXPECT_EQ(formatDuration(2min), "2m");
  EXPECT_EQ(formatDuration(1h), "1h");
  EXPECT_EQ(formatDuration(1500ms), "1500ms");
  EXPECT_EQ(formatDuration(0ms), "0s");
}

TEST(QueryErrorText, NamesKindAndType) {
  QueryError e{QueryErrorKind::HttpStatus, 400, "bad_data", "HTTP 400: parse error"};
  EXPECT_EQ(e.describe(), "HttpStatus (bad_data): HTTP 400: parse error");
}

}  // namespace
}  // namespace sluice::prometheus
