#include "operator/prometheus/client.h"

#include <arpa/inet.h>
#include <cpprest/http_listener.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

namespace sluice::prometheus {
namespace {

namespace http = web::http;
using std::chrono::milliseconds;

// A port nothing listens on right now (bound to 127.0.0.1:0, then released).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string urlDecode(const std::string& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else if (in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// A stand-in Prometheus on 127.0.0.1: answers every request with the configured status and
// body, after an optional delay, and records what it received.
class FakePrometheus {
 public:
  FakePrometheus() : port_(freePort()), listener_(uri()) {
    listener_.support([this](http::http_request request) {
      std::string body = request.extract_utf8string(true).get();
      int status = 0;
      std::string reply;
      milliseconds delay{0};
      {
        std::lock_guard lock(mu_);
        lastPath_ = request.relative_uri().path();
        lastMethod_ = request.method();
        lastQuery_ = body.rfind("query=", 0) == 0 ? urlDecode(body.substr(6)) : body;
        status = status_;
        reply = reply_;
        delay = delay_;
      }
      if (delay.count() > 0) {
        std::this_thread::sleep_for(delay);
      }
      http::http_response response(static_cast<http::status_code>(status));
      response.set_body(reply, "application/json");
      request.reply(response).wait();
    });
    listener_.open().wait();
  }
  ~FakePrometheus() { listener_.close().wait(); }

  std::string uri() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void respond(int status, std::string body, milliseconds delay = milliseconds{0}) {
    std::lock_guard lock(mu_);
    status_ = status;
    reply_ = std::move(body);
    delay_ = delay;
  }
  std::string lastQuery() {
    std::lock_guard lock(mu_);
    return lastQuery_;
  }
  std::string lastPath() {
    std::lock_guard lock(mu_);
    return lastPath_;
  }
  std::string lastMethod() {
    std::lock_guard lock(mu_);
    return lastMethod_;
  }

 private:
  int port_;
  web::http::experimental::listener::http_listener listener_;
  std::mutex mu_;
  int status_ = 200;
  std::string reply_;
  milliseconds delay_{0};
  std::string lastQuery_;
  std::string lastPath_;
  std::string lastMethod_;
};

std::unique_ptr<QueryClient> clientFor(const std::string& address,
                                       milliseconds timeout = milliseconds{2000}) {
  auto client = makeHttpQueryClient({address, timeout, ""});
  EXPECT_TRUE(client.hasValue()) << (client ? "" : client.error().describe());
  return std::move(client).value();
}

const char* vectorOf(const char* value) {
  static thread_local std::string body;
  body = std::string(R"({"status":"success","data":{"resultType":"vector","result":[)"
                     R"({"metric":{"service":"pay"},"value":[1700000000.123,")") +
         value + R"("]}]}})";
  return body.c_str();
}

class ClientTest : public ::testing::Test {
 protected:
  FakePrometheus server;
};

TEST_F(ClientTest, VectorWithOneSample) {
  server.respond(200, vectorOf("0.0125"));
  auto value = clientFor(server.uri())->query("sum(rate(x[1m]))");
  ASSERT_TRUE(value.hasValue()) << value.error().describe();
  EXPECT_DOUBLE_EQ(*value, 0.0125);
  EXPECT_EQ(server.lastPath(), "/api/v1/query");
  EXPECT_EQ(server.lastMethod(), "POST");
}

TEST_F(ClientTest, SendsTheQueryVerbatim) {
  server.respond(200, vectorOf("1"));
  const std::string promql =
      R"(sum(rate(http_requests_total{service="a+b",code=~"5.."}[1m])) / 2 & x % y)";
  ASSERT_TRUE(clientFor(server.uri())->query(promql).hasValue());
  EXPECT_EQ(server.lastQuery(), promql);
}

TEST_F(ClientTest, KeepsAPathPrefix) {
  server.respond(200, vectorOf("1"));
  ASSERT_TRUE(clientFor(server.uri() + "/prom")->query("up").hasValue());
  EXPECT_EQ(server.lastPath(), "/prom/api/v1/query");
}

TEST_F(ClientTest, Scalar) {
  server.respond(200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"42"]}})");
  auto value = clientFor(server.uri())->query("42");
  ASSERT_TRUE(value.hasValue());
  EXPECT_DOUBLE_EQ(*value, 42.0);
}

struct ErrorCase {
  const char* name;
  int status;
  std::string body;
  QueryErrorKind kind;
  const char* errorType;
  const char* messagePart;
};

// Names the case in test output and CTest names (the default prints raw bytes).
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class ClientErrors : public ClientTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(ClientErrors, AreTyped) {
  const auto& c = GetParam();
  server.respond(c.status, c.body);
  auto value = clientFor(server.uri())->query("q");
  ASSERT_FALSE(value.hasValue()) << c.name;
  EXPECT_EQ(value.error().kind, c.kind) << c.name << ": " << value.error().describe();
  EXPECT_EQ(value.error().errorType, c.errorType) << c.name;
  EXPECT_NE(value.error().message.find(c.messagePart), std::string::npos)
      << c.name << ": " << value.error().message;
  if (c.kind == QueryErrorKind::HttpStatus) {
    EXPECT_EQ(value.error().httpStatus, c.status);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClientErrors,
    ::testing::Values(
        ErrorCase{"empty vector", 200,
                  R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                  QueryErrorKind::NoData, "", "empty vector"},
        ErrorCase{"two series", 200,
                  R"({"status":"success","data":{"resultType":"vector","result":[)"
                  R"({"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}})",
                  QueryErrorKind::NotScalar, "", "2 series"},
        ErrorCase{"matrix", 200,
                  R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
                  QueryErrorKind::NotScalar, "", "matrix"},
        ErrorCase{"string", 200,
                  R"({"status":"success","data":{"resultType":"string","result":[1,"x"]}})",
                  QueryErrorKind::NotScalar, "", "string"},
        ErrorCase{"NaN", 200, vectorOf("NaN"), QueryErrorKind::NotANumber, "", "NaN"},
        ErrorCase{"plus Inf", 200, vectorOf("+Inf"), QueryErrorKind::NotANumber, "", "+Inf"},
        ErrorCase{"minus Inf", 200, vectorOf("-Inf"), QueryErrorKind::NotANumber, "", "-Inf"},
        ErrorCase{"garbage value", 200, vectorOf("12abc"), QueryErrorKind::BadResponse, "",
                  "12abc"},
        ErrorCase{"status error in 200", 200,
                  R"({"status":"error","errorType":"execution","error":"boom"})",
                  QueryErrorKind::PrometheusError, "execution", "boom"},
        ErrorCase{"400 bad_data", 400,
                  R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})",
                  QueryErrorKind::HttpStatus, "bad_data", "HTTP 400: parse error at char 5"},
        ErrorCase{"422 execution", 422,
                  R"({"status":"error","errorType":"execution","error":"many-to-many"})",
                  QueryErrorKind::HttpStatus, "execution", "many-to-many"},
        ErrorCase{"503 not JSON", 503, "service unavailable", QueryErrorKind::HttpStatus, "",
                  "HTTP 503: service unavailable"},
        ErrorCase{"200 not JSON", 200, "<html>", QueryErrorKind::BadResponse, "", "not JSON"},
        ErrorCase{"no data field", 200, R"({"status":"success"})", QueryErrorKind::BadResponse, "",
                  "data"}),
    [](const auto& testInfo) {
      std::string name = testInfo.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) {
          ch = '_';
        }
      }
      return name;
    });

TEST_F(ClientTest, TimesOut) {
  server.respond(200, vectorOf("1"), milliseconds{1500});
  const auto start = std::chrono::steady_clock::now();
  auto value = clientFor(server.uri(), milliseconds{200})->query("q");
  ASSERT_FALSE(value.hasValue());
  EXPECT_EQ(value.error().kind, QueryErrorKind::Timeout) << value.error().describe();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds{1400});
}

TEST(ClientUnreachable, ConnectionRefused) {
  auto value = clientFor("http://127.0.0.1:" + std::to_string(freePort()))->query("q");
  ASSERT_FALSE(value.hasValue());
  EXPECT_EQ(value.error().kind, QueryErrorKind::Unreachable) << value.error().describe();
}

TEST(ClientAddress, RejectsNonHttpAddresses) {
  for (const char* bad : {"", "not a url", "ftp://127.0.0.1:9090", "127.0.0.1:9090"}) {
    auto client = makeHttpQueryClient({bad, milliseconds{100}, ""});
    ASSERT_FALSE(client.hasValue()) << bad;
    EXPECT_EQ(client.error().kind, QueryErrorKind::InvalidAddress) << bad;
  }
}

}  // namespace
}  // namespace sluice::prometheus

namespace sluice::prometheus {
namespace {

// Found by operator/fuzz/prometheus_response: members of the wrong type threw out of the
// parser (and out of the reconcile). Whatever answers, the result is a value or an error.
TEST(ParseQueryResponse, LyingTypesAreErrorsNotExceptions) {
  auto a = parseQueryResponse(200, R"({"status":"error","error":5,"errorType":[1]})");
  ASSERT_FALSE(a.hasValue());
  EXPECT_EQ(a.error().kind, QueryErrorKind::PrometheusError);
  EXPECT_NE(a.error().message.find("no message"), std::string::npos) << a.error().message;
  auto b = parseQueryResponse(500, R"({"errorType":7,"error":{"x":1}})");
  ASSERT_FALSE(b.hasValue());
  EXPECT_EQ(b.error().kind, QueryErrorKind::HttpStatus);
  EXPECT_EQ(b.error().httpStatus, 500);
  auto c = parseQueryResponse(200, R"({"status":"success","data":{"resultType":"vector",)"
                                   R"("result":[{"value":[1,"0.25"]}]}})");
  ASSERT_TRUE(c.hasValue());
  EXPECT_EQ(*c, 0.25);
  EXPECT_FALSE(parseQueryResponse(200, "<html>").hasValue());
}

}  // namespace
}  // namespace sluice::prometheus
