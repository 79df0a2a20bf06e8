#include "operator/kube/rest_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <sstream>
#include <thread>

#include "operator/kube/informer.h"
#include "operator/kube/log.h"
#include "operator/kube/metrics.h"
#include "operator/kube/test/test_server.h"

namespace sluice::kube {
namespace {

// A custom resource like the operator's own (kube/ itself names none).
kube::Resource trafficPolicies() {
  return {"sluice.dev", "v1alpha1", "trafficpolicies", "TrafficPolicy", true};
}

using testing::HttpRequest;
using testing::HttpResponse;
using testing::statusBody;
using testing::TestHttpsServer;
using testing::TestPki;

const TestPki& pki() {
  static const TestPki p = TestPki::create();
  return p;
}

Object configMap(const std::string& name, const std::string& rv) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", "ns1"}, {"resourceVersion", rv}}},
          {"data", {{"k", "v"}}}};
}

class RestClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<RestClient> connect(const std::string& url, std::string ca = pki().ca.cert) {
    Config config;
    config.server = url;
    config.caPem = std::move(ca);
    config.token = TokenSource::fixed("secret-token");
    config.source = "/home/dev/.kube/config";
    config.contextName = "dev";
    RestClientOptions options;
    options.qps = 0;  // limiter off: these tests are about the wire
    options.maxRetries = 3;
    options.retryBaseDelay = std::chrono::milliseconds(1);
    options.retryMaxDelay = std::chrono::milliseconds(4);
    options.metrics = &metrics_;
    options.sleep = [this](std::chrono::nanoseconds d) {
      std::lock_guard lock(mu_);
      sleeps_.push_back(d);
    };
    auto client = RestClient::create(config, options);
    EXPECT_TRUE(client.hasValue()) << client.error().describe();
    return std::move(client).value();
  }
  std::vector<std::chrono::nanoseconds> sleeps() {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

  Metrics metrics_;
  std::mutex mu_;
  std::vector<std::chrono::nanoseconds> sleeps_;
};

TEST_F(RestClientTest, GetSendsBearerTokenAndDecodesObject) {
  TestHttpsServer server(pki().server, [](const HttpRequest&) {
    return testing::reply(200, configMap("a", "7").dump());
  });
  auto client = connect(server.url());
  auto got = client->get(resources::configMaps(), {"ns1", "a"});
  ASSERT_TRUE(got.hasValue()) << got.error().describe();
  EXPECT_EQ((*got)["metadata"]["resourceVersion"], "7");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/api/v1/namespaces/ns1/configmaps/a");
  EXPECT_EQ(reqs[0].headers["authorization"], "Bearer secret-token");
  EXPECT_EQ(metrics_.counterValue("rest_client_requests_total", {{"verb", "get"}, {"code", "200"}}),
            1);
}

TEST_F(RestClientTest, ListAllFollowsContinueTokens) {
  TestHttpsServer server(pki().server, [](const HttpRequest& req) {
    Object list = {{"kind", "ConfigMapList"}, {"apiVersion", "v1"}};
    auto cont = req.query.count("continue") ? req.query.at("continue") : "";
    if (cont.empty()) {
      list["items"] = {configMap("a", "1"), configMap("b", "2")};
      list["metadata"] = {{"resourceVersion", "50"}, {"continue", "page2"}};
    } else if (cont == "page2") {
      list["items"] = {configMap("c", "3")};
      list["metadata"] = {{"resourceVersion", "50"}};
    }
    return testing::reply(200, list.dump());
  });
  auto client = connect(server.url());
  ListOptions opts;
  opts.limit = 2;
  opts.labelSelector = "app=x,tier!=free";
  auto all = client->listAll(resources::configMaps(), "ns1", opts);
  ASSERT_TRUE(all.hasValue()) << all.error().describe();
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[2]["metadata"]["name"], "c");
  EXPECT_EQ(all->resourceVersion, "50");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].query["limit"], "2");
  EXPECT_EQ(reqs[0].query["labelSelector"], "app=x,tier!=free");
  EXPECT_EQ(reqs[1].query["continue"], "page2");
}

struct ErrorCase {
  int code;
  std::string reason;
  bool (ApiError::*predicate)() const;
};

TEST_F(RestClientTest, ApiErrorsAreTypedAndNotRetried) {
  const std::vector<ErrorCase> cases = {
      {401, "Unauthorized", &ApiError::isUnauthorized}, {404, "NotFound", &ApiError::isNotFound},
      {409, "Conflict", &ApiError::isConflict},         {410, "Expired", &ApiError::isGone},
      {422, "Invalid", &ApiError::isInvalid},
  };
  for (const auto& c : cases) {
    TestHttpsServer server(pki().server, [&c](const HttpRequest&) {
      return testing::reply(c.code, statusBody(c.code, c.reason, "boom " + c.reason));
    });
    auto client = connect(server.url());
    auto got = client->get(resources::configMaps(), {"ns1", "a"});
    ASSERT_FALSE(got.hasValue()) << c.code;
    const ApiError& e = got.error();
    EXPECT_TRUE(e.isApi());
    EXPECT_EQ(e.code, c.code);
    EXPECT_EQ(e.reason, c.reason);
    EXPECT_EQ(e.message, "boom " + c.reason);
    EXPECT_TRUE((e.*c.predicate)()) << c.code;
    EXPECT_FALSE(e.isNotFound() && c.code != 404);
    EXPECT_EQ(server.requestCount(), 1u) << c.code << " must not be retried";
  }
}

TEST_F(RestClientTest, TooManyRequestsHonoursRetryAfter) {
  std::atomic<int> calls{0};
  TestHttpsServer server(pki().server, [&](const HttpRequest&) {
    if (calls++ == 0) {
      HttpResponse r = testing::reply(429, statusBody(429, "TooManyRequests", "slow down"));
      r.headers.emplace_back("Retry-After", "7");
      return r;
    }
    return testing::reply(200, configMap("a", "1").dump());
  });
  auto client = connect(server.url());
  auto got = client->get(resources::configMaps(), {"ns1", "a"});
  ASSERT_TRUE(got.hasValue()) << got.error().describe();
  EXPECT_EQ(server.requestCount(), 2u);
  EXPECT_THAT(sleeps(), ::testing::Contains(std::chrono::nanoseconds(std::chrono::seconds(7))));
}

TEST_F(RestClientTest, ServerErrorRetriedThenSucceeds) {
  std::atomic<int> calls{0};
  TestHttpsServer server(pki().server, [&](const HttpRequest&) {
    if (calls++ < 2)
      return testing::reply(500, statusBody(500, "InternalError", "oops"));
    return testing::reply(200, configMap("a", "1").dump());
  });
  auto client = connect(server.url());
  auto got = client->get(resources::configMaps(), {"ns1", "a"});
  ASSERT_TRUE(got.hasValue()) << got.error().describe();
  EXPECT_EQ(server.requestCount(), 3u);
  auto s = sleeps();
  ASSERT_EQ(s.size(), 2u);
  for (auto d : s) {
    EXPECT_GE(d, std::chrono::microseconds(500));  // jittered within [base/2, cap]
    EXPECT_LE(d, std::chrono::milliseconds(4));
  }
}

TEST_F(RestClientTest, ServerErrorExhaustsRetries) {
  TestHttpsServer server(pki().server, [](const HttpRequest&) {
    return testing::reply(503, statusBody(503, "ServiceUnavailable", "down"));
  });
  auto client = connect(server.url());
  auto got = client->get(resources::configMaps(), {"ns1", "a"});
  ASSERT_FALSE(got.hasValue());
  EXPECT_TRUE(got.error().isServerError());
  EXPECT_EQ(got.error().code, 503);
  EXPECT_EQ(server.requestCount(), 4u);  // first attempt + maxRetries
}

// A stopping operator (SIGTERM during an API outage) does not sit out the retry backoff: the
// wait in progress ends at once and the request is not tried again.
TEST_F(RestClientTest, StopRetryingEndsTheBackoffInProgress) {
  TestHttpsServer server(pki().server, [](const HttpRequest&) {
    return testing::reply(503, statusBody(503, "ServiceUnavailable", "down"));
  });
  Config config;
  config.server = server.url();
  config.caPem = pki().ca.cert;
  RestClientOptions options;
  options.qps = 0;
  options.maxRetries = 5;
  options.retryBaseDelay = std::chrono::seconds(2);  // 2 s, 4 s, 8 s... left alone
  options.retryMaxDelay = std::chrono::seconds(10);
  auto client = RestClient::create(config, options);
  ASSERT_TRUE(client.hasValue());
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    while (server.requestCount() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (*client)->stopRetrying();
  });
  auto got = (*client)->get(resources::configMaps(), {"ns1", "a"});
  stopper.join();
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(got.hasValue());
  EXPECT_EQ(got.error().code, 503);
  EXPECT_EQ(server.requestCount(), 1u);
  EXPECT_LT(took, std::chrono::milliseconds(900)) << "the 1-2 s backoff was sat out";
  // And later requests are tried once, without waiting.
  auto again = (*client)->get(resources::configMaps(), {"ns1", "a"});
  EXPECT_FALSE(again.hasValue());
  EXPECT_EQ(server.requestCount(), 2u);
}

TEST_F(RestClientTest, CreateIsNotRetriedOnServerError) {
  TestHttpsServer server(pki().server, [](const HttpRequest&) {
    return testing::reply(500, statusBody(500, "InternalError", "maybe created"));
  });
  auto client = connect(server.url());
  auto got = client->create(resources::configMaps(), configMap("a", ""));
  ASSERT_FALSE(got.hasValue());
  EXPECT_EQ(server.requestCount(), 1u);
}

TEST_F(RestClientTest, ConnectionRefusedIsTransportError) {
  auto client = connect("https://127.0.0.1:" + std::to_string(testing::unusedPort()));
  auto got = client->get(resources::configMaps(), {"ns1", "a"});
  ASSERT_FALSE(got.hasValue());
  EXPECT_TRUE(got.error().isTransport());
  EXPECT_EQ(got.error().code, 0);
  EXPECT_EQ(sleeps().size(), 3u);  // transport errors on reads are retried
}

TEST_F(RestClientTest, WrongCaFailsTlsVerification) {
  TestHttpsServer server(pki().server, [](const HttpRequest&) {
    return testing::reply(200, configMap("a", "1").dump());
  });
  static const TestPki other = TestPki::create("another-ca");
  auto client = connect(server.url(), other.ca.cert);
  auto got = client->get(resources::configMaps(), {"ns1", "a"});
  ASSERT_FALSE(got.hasValue());
  EXPECT_TRUE(got.error().isTransport()) << got.error().describe();
  EXPECT_EQ(server.requestCount(), 0u);
  // The error says what was refused and against which trust, not only "handshake failed".
  EXPECT_THAT(got.error().describe(), ::testing::HasSubstr("TLS handshake with " + server.url()));
  EXPECT_THAT(got.error().describe(), ::testing::HasSubstr("certificate verify failed"));
  EXPECT_THAT(got.error().describe(),
              ::testing::HasSubstr("the certificate-authority of context \"dev\" in "
                                   "/home/dev/.kube/config"));
}

// A proxy that echoes the request's headers in its error body (some do) must not carry the
// bearer token into an error, and so into status, Events or the log, even at trace level.
TEST_F(RestClientTest, AnEchoedTokenNeverReachesErrorsOrTheTraceLog) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto log = logger();
  const auto level = log->level();
  log->sinks().push_back(sink);
  log->set_level(spdlog::level::trace);
  TestHttpsServer server(pki().server, [](const HttpRequest& req) {
    return testing::reply(
        500, "upstream failed; request had authorization: " + req.headers.at("authorization"));
  });
  auto client = connect(server.url());
  auto got = client->get(resources::configMaps(), {"ns1", "a"});
  auto watched = client->watch(resources::configMaps(), "ns1", {});
  log->sinks().pop_back();
  log->set_level(level);
  ASSERT_FALSE(got.hasValue());
  ASSERT_FALSE(watched.hasValue());
  for (const auto& text : {got.error().describe(), watched.error().describe(), captured.str()}) {
    EXPECT_EQ(text.find("secret-token"), std::string::npos) << text;
  }
  EXPECT_THAT(got.error().describe(), ::testing::HasSubstr("authorization: Bearer REDACTED"));
  EXPECT_THAT(captured.str(), ::testing::HasSubstr("retrying get"));  // the log was written
  EXPECT_EQ(server.requestCount(), 5u);  // 4 gets (3 retries) and the watch
}

TEST_F(RestClientTest, ApplySendsApplyPatchWithFieldManagerAndForce) {
  TestHttpsServer server(pki().server,
                         [](const HttpRequest& req) { return testing::reply(200, req.body); });
  auto client = connect(server.url());
  Object intent = {{"metadata", {{"name", "a"}, {"namespace", "ns1"}}}, {"data", {{"k", "v"}}}};
  auto got = client->apply(resources::configMaps(), intent, {"sluice-operator", true});
  ASSERT_TRUE(got.hasValue()) << got.error().describe();
  auto req = server.requests().at(0);
  EXPECT_EQ(req.method, "PATCH");
  EXPECT_EQ(req.path, "/api/v1/namespaces/ns1/configmaps/a");
  EXPECT_EQ(req.headers["content-type"], "application/apply-patch+yaml");
  EXPECT_EQ(req.query["fieldManager"], "sluice-operator");
  EXPECT_EQ(req.query["force"], "true");
  auto sent = Object::parse(req.body);
  EXPECT_EQ(sent["apiVersion"], "v1");
  EXPECT_EQ(sent["kind"], "ConfigMap");

  auto missing = client->apply(resources::configMaps(), intent, {"", false});
  ASSERT_FALSE(missing.hasValue());
  EXPECT_EQ(missing.error().kind, ApiError::Kind::Config);
  EXPECT_THAT(missing.error().message, ::testing::HasSubstr("fieldManager"));
}

TEST_F(RestClientTest, StatusSubresourceAndMergePatchAndDelete) {
  TestHttpsServer server(pki().server, [](const HttpRequest& req) {
    if (req.method == "DELETE")
      return testing::reply(200, statusBody(200, "", ""));
    return testing::reply(200, configMap("a", "9").dump());
  });
  auto client = connect(server.url());
  Resource tp = trafficPolicies();
  ASSERT_TRUE(client->patchStatus(tp, {"ns1", "a"}, {{"status", {{"ready", true}}}}).hasValue());
  DeleteOptions del;
  del.propagationPolicy = PropagationPolicy::Foreground;
  ASSERT_TRUE(client->remove(tp, {"ns1", "a"}, del).hasValue());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/apis/sluice.dev/v1alpha1/namespaces/ns1/trafficpolicies/a/status");
  EXPECT_EQ(reqs[0].headers["content-type"], "application/merge-patch+json");
  EXPECT_EQ(reqs[1].method, "DELETE");
  EXPECT_EQ(Object::parse(reqs[1].body)["propagationPolicy"], "Foreground");
}

TEST_F(RestClientTest, WatchStreamsEventsAsTheyArriveAndEndsOnClose) {
  std::atomic<bool> release{false};
  std::atomic<bool> restSent{false};
  TestHttpsServer server(pki().server, [&](const HttpRequest&) {
    HttpResponse r;
    r.stream = [&](testing::ChunkWriter& w) {
      w.write(Object{{"type", "ADDED"}, {"object", configMap("a", "11")}}.dump() + "\n");
      // The rest only follows once the client has seen the first event (or after 10 s, so a
      // client that buffers the body still gets it and the test can say so, below).
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!release && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      restSent = true;
      std::string bookmark =
          Object{{"type", "BOOKMARK"},
                 {"object", {{"kind", "ConfigMap"}, {"metadata", {{"resourceVersion", "15"}}}}}}
              .dump();
      // Split across chunks to exercise line reassembly.
      w.write(bookmark.substr(0, 10));
      w.write(bookmark.substr(10) + "\n");
    };
    return r;
  });
  auto client = connect(server.url());
  WatchOptions opts;
  opts.resourceVersion = "10";
  auto stream = client->watch(resources::configMaps(), "ns1", opts);
  ASSERT_TRUE(stream.hasValue()) << stream.error().describe();
  auto first = (*stream)->next();
  // Streaming, not buffering: the first event reached the caller while the server was still
  // holding the rest of the body back. An ordering, not a timing threshold.
  const bool firstArrivedAfterTheRest = restSent.load();
  ASSERT_TRUE(first.hasValue()) << first.error().describe();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->type, WatchEvent::Type::Added);
  EXPECT_FALSE(firstArrivedAfterTheRest)
      << "the first watch event reached the caller only after the server had sent the rest of "
         "the stream: the client buffers the body instead of streaming it";
  release = true;
  auto second = (*stream)->next();
  ASSERT_TRUE(second.hasValue()) << second.error().describe();
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->type, WatchEvent::Type::Bookmark);
  EXPECT_EQ((*second)->object["metadata"]["resourceVersion"], "15");
  auto end = (*stream)->next();
  ASSERT_TRUE(end.hasValue()) << end.error().describe();
  EXPECT_FALSE(end->has_value());
  auto req = server.requests().at(0);
  EXPECT_EQ(req.query["watch"], "true");
  EXPECT_EQ(req.query["resourceVersion"], "10");
  EXPECT_EQ(req.query["allowWatchBookmarks"], "true");
}

TEST_F(RestClientTest, WatchGoneIsTypedError) {
  TestHttpsServer server(pki().server, [](const HttpRequest&) {
    return testing::reply(410, statusBody(410, "Expired", "too old resource version"));
  });
  auto client = connect(server.url());
  auto stream = client->watch(resources::configMaps(), "ns1", {});
  ASSERT_FALSE(stream.hasValue());
  EXPECT_TRUE(stream.error().isGone());
}

// The informer over the real wire: a watch resumes from the bookmark's resourceVersion, and an
// ERROR event with a 410 Status makes it relist; each change is delivered exactly once.
TEST_F(RestClientTest, InformerUsesBookmarksAndRelistsOnGone) {
  std::atomic<int> lists{0};
  std::atomic<int> watches{0};
  std::atomic<bool> stop{false};
  TestHttpsServer server(pki().server, [&](const HttpRequest& req) {
    if (req.query.count("watch") == 0) {
      int n = lists++;
      Object list = {{"kind", "ConfigMapList"}, {"apiVersion", "v1"}};
      // Second list (after 410): "a" changed, "b" deleted, "c" added.
      list["items"] = n == 0 ? Object::array({configMap("a", "5"), configMap("b", "6")})
                             : Object::array({configMap("a", "30"), configMap("c", "31")});
      list["metadata"] = {{"resourceVersion", n == 0 ? "10" : "40"}};
      return testing::reply(200, list.dump());
    }
    int n = watches++;
    HttpResponse r;
    r.stream = [&, n](testing::ChunkWriter& w) {
      if (n == 0) {
        w.write(Object{{"type", "MODIFIED"}, {"object", configMap("a", "11")}}.dump() + "\n");
        w.write(
            Object{{"type", "BOOKMARK"},
                   {"object", {{"kind", "ConfigMap"}, {"metadata", {{"resourceVersion", "20"}}}}}}
                .dump() +
            "\n");
        return;  // server closes the watch (timeout)
      }
      if (n == 1) {
        w.write(Object{{"type", "ERROR"},
                       {"object", Object::parse(statusBody(410, "Expired", "too old"))}}
                    .dump() +
                "\n");
        return;
      }
      while (!stop && !server.stopping())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    };
    return r;
  });
  auto client = connect(server.url());
  InformerOptions opts;
  opts.ns = "ns1";
  opts.minBackoff = std::chrono::milliseconds(5);
  Informer informer(*client, resources::configMaps(), opts);
  std::mutex mu;
  std::vector<std::string> log;
  auto push = [&](std::string s) {
    std::lock_guard lock(mu);
    log.push_back(std::move(s));
  };
  informer.addHandlers({[&](const Object& o) { push("add:" + ObjectKey::of(o).name); },
                        [&](const Object&, const Object& o) {
                          push("update:" + ObjectKey::of(o).name + "@" +
                               o["metadata"]["resourceVersion"].get<std::string>());
                        },
                        [&](const Object& o) { push("delete:" + ObjectKey::of(o).name); }});
  informer.start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (watches.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  informer.stop();
  ASSERT_GE(watches.load(), 3);
  std::vector<HttpRequest> watchRequests;
  for (const auto& req : server.requests()) {
    if (req.query.count("watch"))
      watchRequests.push_back(req);
  }
  ASSERT_GE(watchRequests.size(), 3u);
  EXPECT_EQ(watchRequests[0].query["resourceVersion"], "10") << "starts at the list RV";
  EXPECT_EQ(watchRequests[1].query["resourceVersion"], "20") << "resumes from the bookmark";
  EXPECT_EQ(watchRequests[2].query["resourceVersion"], "40") << "after relisting";
  EXPECT_EQ(lists.load(), 2);
  std::lock_guard lock(mu);
  EXPECT_THAT(log, ::testing::ElementsAre("add:a", "add:b", "update:a@11", "update:a@30", "add:c",
                                          "delete:b"));
}

TEST_F(RestClientTest, ClientSideRateLimiterPacesRequests) {
  TestHttpsServer server(pki().server, [](const HttpRequest&) {
    return testing::reply(200, configMap("a", "1").dump());
  });
  FakeClock clock;
  Config config;
  config.server = server.url();
  config.caPem = pki().ca.cert;
  RestClientOptions options;
  options.qps = 10;
  options.burst = 2;
  options.clock = &clock;
  options.sleep = [this](std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    sleeps_.push_back(d);
  };
  auto client = RestClient::create(config, options);
  ASSERT_TRUE(client.hasValue());
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE((*client)->get(resources::configMaps(), {"ns1", "a"}).hasValue());
  // Burst of two goes at once; the next two wait one and two token intervals (100 ms at 10 qps).
  EXPECT_EQ(sleeps(), (std::vector<std::chrono::nanoseconds>{std::chrono::milliseconds(100),
                                                             std::chrono::milliseconds(200)}));
}

TEST_F(RestClientTest, CancelUnblocksAWatchWaitingForEvents) {
  std::atomic<bool> release{false};
  TestHttpsServer server(pki().server, [&](const HttpRequest&) {
    HttpResponse r;
    r.stream = [&](testing::ChunkWriter&) {
      // Sends nothing until the test ends: only cancel() can end the client's wait.
      while (!release && !server.stopping())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    };
    return r;
  });
  auto client = connect(server.url());
  auto stream = client->watch(resources::configMaps(), "ns1", {});
  ASSERT_TRUE(stream.hasValue()) << stream.error().describe();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (*stream)->cancel();
  });
  auto begin = std::chrono::steady_clock::now();
  auto next = (*stream)->next();
  auto waited = std::chrono::steady_clock::now() - begin;
  canceller.join();
  release = true;
  EXPECT_TRUE(!next.hasValue() ? next.error().isCancelled() : !next->has_value());
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(RestClientConfig, RejectsUnparsableCa) {
  Config config;
  config.server = "https://127.0.0.1:1";
  config.caPem = "not a certificate";
  auto client = RestClient::create(config);
  ASSERT_FALSE(client.hasValue());
  EXPECT_EQ(client.error().kind, ApiError::Kind::Config);
  EXPECT_THAT(client.error().message, ::testing::HasSubstr("certificate-authority"));
}

}  // namespace
}  // namespace sluice::kube
