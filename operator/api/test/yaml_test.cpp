#include "operator/api/yaml.h"

#include <gtest/gtest.h>

namespace sluice::api {
namespace {

using nlohmann::json;

TEST(YamlToJson, ResolvesPlainScalarsAndKeepsQuotedStrings) {
  const auto docs = yamlToJson(R"(
quoted: "0.05"
single: '5'
plain: 5
negative: -3
float: 2.5
hex: 0x1F
yes: yes
on: true
off: False
nothing: ~
empty:
text: checkout.example.com
version: 1.2.3
big: 18446744073709551615
steps: [5, 10, 25]
nested: {a: {b: "c"}}
literal: |
  line one
  line two
)");
  ASSERT_TRUE(docs) << docs.error();
  ASSERT_EQ(docs->size(), 1u);
  const json& d = docs->front();
  EXPECT_EQ(d["quoted"], json("0.05"));
  EXPECT_EQ(d["single"], json("5"));
  EXPECT_EQ(d["plain"], json(5));
  EXPECT_TRUE(d["plain"].is_number_integer());
  EXPECT_EQ(d["negative"], json(-3));
  EXPECT_EQ(d["float"], json(2.5));
  EXPECT_EQ(d["hex"], json(31));
  EXPECT_EQ(d["yes"], json("yes"));  // YAML 1.2: not a boolean
  EXPECT_EQ(d["on"], json(true));
  EXPECT_EQ(d["off"], json(false));
  EXPECT_TRUE(d["nothing"].is_null());
  EXPECT_TRUE(d["empty"].is_null());
  EXPECT_EQ(d["text"], json("checkout.example.com"));
  EXPECT_EQ(d["version"], json("1.2.3"));
  EXPECT_TRUE(d["big"].is_number_unsigned());
  EXPECT_EQ(d["steps"], json({5, 10, 25}));
  EXPECT_EQ(d["nested"]["a"]["b"], json("c"));
  EXPECT_EQ(d["literal"], json("line one\nline two\n"));
}

TEST(YamlToJson, ReadsEveryDocumentAndSkipsEmptyOnes) {
  const auto docs = yamlToJson(R"(# leading comment
---
kind: A
---
# only a comment
---
kind: B
...
---
kind: C
)");
  ASSERT_TRUE(docs) << docs.error();
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ((*docs)[0]["kind"], "A");
  EXPECT_EQ((*docs)[1]["kind"], "B");
  EXPECT_EQ((*docs)[2]["kind"], "C");
}

TEST(YamlToJson, ExplicitStringTagWins) {
  const auto docs = yamlToJson("a: !!str 5\nb: !!str true\n");
  ASSERT_TRUE(docs) << docs.error();
  EXPECT_EQ(docs->front()["a"], json("5"));
  EXPECT_EQ(docs->front()["b"], json("true"));
}

TEST(YamlToJson, ReportsSyntaxErrors) {
  const auto docs = yamlToJson("a: [1, 2\nb: c\n");
  ASSERT_FALSE(docs);
  EXPECT_NE(docs.error().find("invalid YAML"), std::string::npos) << docs.error();
  const auto missing = readYamlFile("/nonexistent/sluice.yaml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot read /nonexistent/sluice.yaml"), std::string::npos);
}

// Found by operator/fuzz/cr_parse: anchors and aliases expanded without bound ran the process
// out of memory (`kubectl sluice render -f` of a hostile file).
TEST(YamlToJson, AliasExpansionIsBounded) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'i'; ++c, ++prev) {
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + "]\n";
  }
  auto docs = yamlToJson(bomb);  // 10^9 nodes if expanded
  ASSERT_FALSE(docs.hasValue());
  EXPECT_NE(docs.error().find("too large"), std::string::npos) << docs.error();
  // Fewer nodes, each a long string: 10^5 copies of 4 KiB would be 400 MiB.
  std::string wide =
      "s: &s " + std::string(4096, 'x') + "\na: &a [*s, *s, *s, *s, *s, *s, *s, *s, *s, *s]\n";
  prev = 'a';
  for (char c = 'b'; c <= 'e'; ++c, ++prev) {
    wide += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + "]\n";
  }
  auto longStrings = yamlToJson(wide);
  ASSERT_FALSE(longStrings.hasValue());
  EXPECT_NE(longStrings.error().find("MiB of text"), std::string::npos) << longStrings.error();
  auto deep = yamlToJson(std::string(300, '[') + std::string(300, ']'));
  ASSERT_FALSE(deep.hasValue());
  // Ordinary anchors still work.
  auto fine = yamlToJson("base: &b {port: 80}\nstable: *b\n");
  ASSERT_TRUE(fine.hasValue()) << fine.error();
  EXPECT_EQ((*fine)[0]["stable"]["port"], 80);
}

// Found by operator/fuzz/cr_parse (corpus/cr_parse/flow-indicator-at-block-level.yaml): yaml-cpp
// 0.7's LoadAll handed out empty documents forever for a flow indicator at block level and
// allocated until memory ran out.
TEST(YamlToJson, AParserThatStopsConsumingInputIsRefused) {
  for (const std::string text : {",- a\n", "  ,- {name: free}\n"}) {
    auto docs = yamlToJson(text);
    ASSERT_FALSE(docs.hasValue()) << text;
    EXPECT_NE(docs.error().find("stopped consuming input"), std::string::npos) << docs.error();
  }
  // Many small documents are fine.
  std::string many;
  for (int i = 0; i < 500; ++i) {
    many += "---\na: " + std::to_string(i) + "\n";
  }
  auto docs = yamlToJson(many);
  ASSERT_TRUE(docs.hasValue()) << docs.error();
  EXPECT_EQ(docs->size(), 500U);
}

// Found by operator/fuzz/cr_parse (operator/fuzz/corpus/cr_parse/nul-bytes.yaml): a NUL byte
// inside a document kept yaml-cpp's LoadAll looping forever; `kubectl sluice render -f` hung.
TEST(YamlToJson, ControlCharactersAreRefusedWithTheirPosition) {
  const std::string nul = std::string("kind: CanaryRollout\nspec:\n  ho") + '\0' + "stnames: [a]\n";
  auto docs = yamlToJson(nul);
  ASSERT_FALSE(docs.hasValue());
  EXPECT_EQ(docs.error(),
            "invalid YAML: control character 0x00 at line 3, column 5 (YAML allows only "
            "printable characters)");
  EXPECT_FALSE(yamlToJson("a: b\x07\n").hasValue());
  EXPECT_FALSE(yamlToJson("a: \x7f\n").hasValue());
  // Tabs in scalars, CRLF line ends and UTF-8 are fine.
  auto fine = yamlToJson("a: \"x\ty\"\r\nb: caf\xc3\xa9\r\n");
  ASSERT_TRUE(fine.hasValue()) << fine.error();
  EXPECT_EQ((*fine)[0]["a"], "x\ty");
  EXPECT_EQ((*fine)[0]["b"], "caf\xc3\xa9");
}

}  // namespace
}  // namespace sluice::api
