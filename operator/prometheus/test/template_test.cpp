#include <gtest/gtest.h>

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
