// The Prometheus client over HTTPS against a real TLS server (OpenSSL, a CA made per test run):
// which CA is trusted, what a wrong one looks like, and that a credential in the address is
// used for basic authentication but never shown.

#include <gtest/gtest.h>

#include <string>

#include "operator/kube/test/test_server.h"
#include "operator/prometheus/client.h"

namespace sluice::prometheus {
namespace {

using kube::testing::HttpRequest;
using kube::testing::TestHttpsServer;
using kube::testing::TestPki;

const TestPki& pki() {
  static const TestPki p = TestPki::create("prometheus-test-ca");
  return p;
}

const TestPki& otherPki() {
  static const TestPki p = TestPki::create("some-other-ca");
  return p;
}

constexpr const char* kAnswer =
    R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.25"]}]}})";

TestHttpsServer::Handler answer() {
  return [](const HttpRequest&) { return kube::testing::reply(200, kAnswer); };
}

std::unique_ptr<QueryClient> client(const std::string& address, const std::string& caPem) {
  auto made = makeHttpQueryClient({address, std::chrono::seconds{5}, caPem});
  EXPECT_TRUE(made.hasValue()) << (made ? "" : made.error().describe());
  return std::move(made).value();
}

TEST(PrometheusTls, TheGivenCaIsTrusted) {
  TestHttpsServer server(pki().server, answer());
  auto got = client(server.url(), pki().ca.cert)->query("up");
  ASSERT_TRUE(got.hasValue()) << got.error().describe();
  EXPECT_DOUBLE_EQ(*got, 0.25);
  EXPECT_EQ(server.requestCount(), 1u);
}

TEST(PrometheusTls, AnotherCaIsRefusedBeforeAnyRequestAndSaysWhichTrustApplied) {
  TestHttpsServer server(pki().server, answer());
  auto got = client(server.url(), otherPki().ca.cert)->query("up");
  ASSERT_FALSE(got.hasValue());
  EXPECT_EQ(got.error().kind, QueryErrorKind::Unreachable);
  const auto text = got.error().describe();
  EXPECT_NE(text.find("TLS handshake with " + server.url()), std::string::npos) << text;
  EXPECT_NE(text.find("certificate verify failed"), std::string::npos) << text;
  EXPECT_NE(text.find("--prometheus-ca-file"), std::string::npos) << text;
  EXPECT_EQ(server.requestCount(), 0u);
}

TEST(PrometheusTls, WithoutACaFileOnlyTheSystemRootsAreTrusted) {
  TestHttpsServer server(pki().server, answer());
  auto got = client(server.url(), "")->query("up");
  ASSERT_FALSE(got.hasValue());
  EXPECT_NE(got.error().describe().find("the system's trusted CAs"), std::string::npos)
      << got.error().describe();
  EXPECT_EQ(server.requestCount(), 0u);
}

TEST(PrometheusTls, TheCaFileReplacesTheSystemRootsAndABundleMayHoldSeveral) {
  TestHttpsServer server(pki().server, answer());
  auto got = client(server.url(), otherPki().ca.cert + pki().ca.cert)->query("up");
  ASSERT_TRUE(got.hasValue()) << got.error().describe();
}

TEST(PrometheusTls, AnUnusableCaBundleIsRefusedUpFront) {
  EXPECT_TRUE(checkCaBundle("not a certificate").has_value());
  EXPECT_FALSE(checkCaBundle(pki().ca.cert).has_value());
  auto made = makeHttpQueryClient({"https://127.0.0.1:1", std::chrono::seconds{1}, "garbage"});
  ASSERT_FALSE(made.hasValue());
  EXPECT_EQ(made.error().kind, QueryErrorKind::InvalidAddress);
  EXPECT_NE(made.error().message.find("CA bundle"), std::string::npos);
}

TEST(PrometheusCredentials, UserInfoIsSentAsBasicAuthAndNeverShown) {
  TestHttpsServer server(pki().server, [](const HttpRequest&) {
    return kube::testing::reply(503, R"({"status":"error","errorType":"unavailable",)"
                                     R"("error":"try again"})");
  });
  const std::string address =
      "https://alice:s3cr%40t@127.0.0.1:" + std::to_string(server.port()) + "/prom";
  auto got = client(address, pki().ca.cert)->query("up");
  ASSERT_FALSE(got.hasValue());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  // base64("alice:s3cr@t")
  EXPECT_EQ(requests[0].headers["authorization"], "Basic YWxpY2U6czNjckB0");
  EXPECT_EQ(requests[0].path, "/prom/api/v1/query");
  EXPECT_EQ(requests[0].target.find("s3cr"), std::string::npos);
  EXPECT_EQ(got.error().describe().find("s3cr"), std::string::npos) << got.error().describe();

  // And through a failed handshake, an invalid address and the redaction helper.
  auto refused = client(address, otherPki().ca.cert)->query("up");
  ASSERT_FALSE(refused.hasValue());
  EXPECT_EQ(refused.error().describe().find("s3cr"), std::string::npos);
  EXPECT_NE(refused.error().describe().find("https://REDACTED@127.0.0.1:"), std::string::npos)
      << refused.error().describe();
  for (const char* bad : {"https://alice:s3cr%40t@", "ftp://alice:s3cr@t@example.com/",
                          "https://alice:s3cr@t@exa mple.com/"}) {
    auto made = makeHttpQueryClient({bad, std::chrono::seconds{1}, ""});
    ASSERT_FALSE(made.hasValue()) << bad;
    EXPECT_EQ(made.error().describe().find("s3cr"), std::string::npos) << made.error().describe();
  }
}

TEST(PrometheusCredentials, RedactAddress) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const auto& c : {
           Case{"http://prometheus:9090", "http://prometheus:9090"},
           Case{"https://u:p@prometheus:9090/x", "https://REDACTED@prometheus:9090/x"},
           Case{"https://token@prometheus", "https://REDACTED@prometheus"},
           Case{"https://u:p@w@prometheus/a@b", "https://REDACTED@prometheus/a@b"},
           Case{"http://prometheus/q?who=a@b", "http://prometheus/q?who=a@b"},
           Case{"u:p@prometheus:9090", "REDACTED@prometheus:9090"},
       }) {
    EXPECT_EQ(redactAddress(c.in), c.out) << c.in;
  }
}

}  // namespace
}  // namespace sluice::prometheus
