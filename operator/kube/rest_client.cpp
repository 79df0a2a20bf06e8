#include "operator/kube/rest_client.h"

#include <cpprest/http_client.h>
#include <cpprest/uri_builder.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "operator/common/tls_verify.h"
#include "operator/kube/log.h"
#include "operator/kube/metrics.h"
#include "operator/kube/rate_limiter.h"
#include "operator/kube/watch_decode.h"

namespace sluice::kube {
namespace {

namespace http = web::http;
using Query = std::vector<std::pair<std::string, std::string>>;

ApiError makeError(ApiError::Kind kind, std::string message) {
  ApiError e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

const SystemClock& systemClock() {
  static const SystemClock clock;
  return clock;
}

// Validates PEM up front so a broken kubeconfig fails at start-up, not inside a TLS handshake.
bool pemHasCertificate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr)
    return false;
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  bool ok = cert != nullptr;
  X509_free(cert);
  BIO_free(bio);
  return ok;
}

bool pemHasKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr)
    return false;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  bool ok = key != nullptr;
  EVP_PKEY_free(key);
  BIO_free(bio);
  return ok;
}

std::string propagationName(PropagationPolicy p) {
  switch (p) {
    case PropagationPolicy::Foreground:
      return "Foreground";
    case PropagationPolicy::Background:
      return "Background";
    case PropagationPolicy::Orphan:
      return "Orphan";
    case PropagationPolicy::Default:
      break;
  }
  return "";
}

std::optional<std::chrono::seconds> parseRetryAfter(const http::http_headers& headers) {
  auto it = headers.find("Retry-After");
  if (it == headers.end())
    return std::nullopt;
  try {
    size_t used = 0;
    long v = std::stol(it->second, &used);
    if (used == it->second.size() && v >= 0)
      return std::chrono::seconds(v);
  } catch (const std::exception&) {
  }
  return std::nullopt;  // HTTP-date form: fall back to our own backoff
}

ApiError errorFromResponse(int code, const std::string& body, const http::http_headers& headers) {
  Object parsed = Object::parse(body, nullptr, false);
  ApiError e;
  if (!parsed.is_discarded() && parsed.is_object() && parsed.value("kind", "") == "Status") {
    e = apiErrorFromStatus(parsed, code);
    e.code = code;  // the HTTP status is authoritative for the response we got
  } else {
    e.kind = ApiError::Kind::Api;
    e.code = code;
    e.message = body.size() > 512 ? body.substr(0, 512) + "..." : body;
  }
  if (auto ra = parseRetryAfter(headers))
    e.retryAfter = ra;
  return e;
}

std::string keyNamespace(const Resource& resource, const std::string& ns) {
  return resource.namespaced ? ns : "";
}

}  // namespace

std::string resourcePath(const Resource& resource, const std::string& ns, const std::string& name,
                         const std::string& subresource) {
  std::string path = resource.group.empty() ? "/api/" + resource.version
                                            : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !ns.empty())
    path += "/namespaces/" + ns;
  path += "/" + resource.plural;
  if (!name.empty())
    path += "/" + name;
  if (!subresource.empty())
    path += "/" + subresource;
  return path;
}

struct RestClient::Impl {
  Config config;
  RestClientOptions options;
  const Clock* clock = nullptr;
  std::unique_ptr<TokenBucket> limiter;
  std::unique_ptr<http::client::http_client> client;
  // Outlives every SSL context the client makes (each holds it through the callback).
  std::shared_ptr<tls::VerifyRecorder> verifyRecorder = std::make_shared<tls::VerifyRecorder>();
  std::mutex rngMu;
  std::mt19937_64 rng{std::random_device{}()};
  std::atomic<bool> stopping{false};
  mutable std::mutex waitMu;
  mutable std::condition_variable waitCv;

  struct Request {
    http::method method;
    std::string verb;  // metrics label: get, list, create, update, patch, apply, delete, watch
    std::string path;
    Query query;
    std::optional<std::string> body;
    std::string contentType = "application/json";
    bool idempotent = true;
  };

  http::client::http_client_config clientConfig(std::chrono::seconds timeout) const {
    http::client::http_client_config cfg;
    cfg.set_timeout(timeout);
    cfg.set_validate_certificates(!config.insecureSkipTlsVerify);
    auto ca = config.caPem;
    auto cert = config.clientCertPem;
    auto key = config.clientKeyPem;
    bool insecure = config.insecureSkipTlsVerify;
    cfg.set_ssl_context_callback(
        [ca, cert, key, insecure, recorder = verifyRecorder](boost::asio::ssl::context& ctx) {
          if (!insecure) {
            recorder->attach(ctx.native_handle());
          }
          if (!ca.empty() && !insecure) {
            // Trust exactly the configured CA, like client-go, not the system roots as well.
            SSL_CTX_set_cert_store(ctx.native_handle(), X509_STORE_new());
            ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()));
          }
          if (!cert.empty()) {
            ctx.use_certificate_chain(boost::asio::buffer(cert.data(), cert.size()));
            ctx.use_private_key(boost::asio::buffer(key.data(), key.size()),
                                boost::asio::ssl::context::pem);
          }
        });
    return cfg;
  }

  http::http_request buildRequest(const Request& r) const {
    http::http_request msg(r.method);
    web::uri_builder builder(r.path);
    for (const auto& [k, v] : r.query)
      builder.append_query(k, v);
    msg.set_request_uri(builder.to_uri());
    msg.headers().add("Accept", "application/json");
    msg.headers().add("User-Agent", options.userAgent);
    if (r.body)
      msg.set_body(*r.body, r.contentType);
    return msg;
  }

  // Adds the bearer token; returns it (empty when there is none) so an answer that echoes it
  // can be scrubbed.
  Result<std::string> authorize(http::http_request& msg) const {
    if (config.token.empty())
      return std::string();
    auto token = config.token.token();
    if (!token)
      return Unexpected(makeError(ApiError::Kind::Config, token.error().describe()));
    if (!token->empty())
      msg.headers().add("Authorization", "Bearer " + *token);
    return *token;
  }

  // An error from whatever answered (a proxy may echo request headers in its body) never
  // carries the token on into logs, status or Events.
  static ApiError withoutToken(ApiError e, const std::string& token) {
    if (token.empty())
      return e;
    for (auto pos = e.message.find(token); pos != std::string::npos;
         pos = e.message.find(token, pos)) {
      e.message.replace(pos, token.size(), "REDACTED");
    }
    return e;
  }

  void sleepFor(std::chrono::nanoseconds d) const {
    if (d <= std::chrono::nanoseconds::zero())
      return;
    if (stopping.load())
      return;
    if (options.sleep) {
      options.sleep(d);
    } else {
      std::unique_lock lock(waitMu);
      waitCv.wait_for(lock, d, [this] { return stopping.load(); });
    }
  }

  std::chrono::nanoseconds backoff(int attempt) {
    auto base = std::chrono::duration_cast<std::chrono::nanoseconds>(options.retryBaseDelay);
    auto cap = std::chrono::duration_cast<std::chrono::nanoseconds>(options.retryMaxDelay);
    auto d = base * (int64_t{1} << std::min(attempt, 20));
    if (d > cap)
      d = cap;
    // Jitter within [d/2, d] spreads retries of many clients hitting the same overloaded server.
    std::lock_guard lock(rngMu);
    std::uniform_int_distribution<int64_t> dist(d.count() / 2, d.count());
    return std::chrono::nanoseconds(dist(rng));
  }

  void record(const std::string& verb, const std::string& code) const {
    if (options.metrics == nullptr)
      return;
    options.metrics->counterAdd("rest_client_requests_total",
                                "Kubernetes API requests by verb and HTTP code",
                                {{"verb", verb}, {"code", code}});
  }

  // A refused handshake says which trust was applied, so a wrong CA reads as that and not as
  // a network fault.
  std::string tlsFailure(const std::string& refused, const std::string& what) const {
    std::string trust;
    if (config.caPem.empty()) {
      trust = "the system's trusted CAs";
    } else if (config.source == "in-cluster") {
      trust = "the service account's ca.crt";
    } else {
      trust =
          "the certificate-authority of context \"" + config.contextName + "\" in " + config.source;
    }
    return "TLS handshake with " + config.server + " failed: certificate verify failed (" +
           refused + "); its certificate is checked against " + trust + " (" + what + ")";
  }

  // One attempt: the body text on 2xx, an ApiError otherwise.
  Result<std::string> attempt(const Request& r) {
    sleepFor(limiter->reserve());
    auto msg = buildRequest(r);
    auto token = authorize(msg);
    if (!token)
      return Unexpected(token.error());
    try {
      http::http_response response = client->request(msg).get();
      int code = response.status_code();
      std::string body = response.extract_utf8string(true).get();
      record(r.verb, std::to_string(code));
      if (code >= 200 && code < 300)
        return body;
      return Unexpected(withoutToken(errorFromResponse(code, body, response.headers()), *token));
    } catch (const std::exception& e) {
      record(r.verb, "<error>");
      if (auto refused = verifyRecorder->lastRefusal(); !refused.empty()) {
        return Unexpected(makeError(ApiError::Kind::Transport, tlsFailure(refused, e.what())));
      }
      return Unexpected(makeError(ApiError::Kind::Transport, e.what()));
    }
  }

  bool shouldRetry(const Request& r, const ApiError& e) const {
    if (e.isTooManyRequests())
      return true;  // the server did not process the request
    if (!r.idempotent)
      return false;
    if (e.isTransport())
      return true;
    return e.isServerError() && e.code != 501;
  }

  Result<std::string> send(const Request& r) {
    for (int attemptNo = 0;; ++attemptNo) {
      auto result = attempt(r);
      if (result)
        return result;
      const ApiError& e = result.error();
      if (attemptNo >= options.maxRetries || !shouldRetry(r, e) || stopping.load())
        return result;
      auto delay = backoff(attemptNo);
      if (e.retryAfter) {
        delay = std::min<std::chrono::nanoseconds>(*e.retryAfter, options.maxRetryAfter);
      }
      logger()->debug("retrying {} {} after {}: attempt {} of {}", r.verb, r.path, e.describe(),
                      attemptNo + 1, options.maxRetries);
      sleepFor(delay);
      if (stopping.load())
        return result;
    }
  }

  Result<Object> sendObject(const Request& r) {
    auto body = send(r);
    if (!body)
      return Unexpected(body.error());
    Object parsed = Object::parse(*body, nullptr, false);
    if (parsed.is_discarded()) {
      return Unexpected(makeError(ApiError::Kind::Decode,
                                  "response to " + r.verb + " " + r.path + " is not JSON"));
    }
    return parsed;
  }

  // Namespace and name of an object sent to the server, checked so mistakes fail here with the
  // field named rather than as an opaque 404.
  Result<ObjectKey> objectKey(const Resource& resource, const Object& object, bool needName) const {
    if (!object.is_object()) {
      return Unexpected(makeError(ApiError::Kind::Config, "object must be a JSON object"));
    }
    ObjectKey key = ObjectKey::of(object);
    if (needName && key.name.empty()) {
      return Unexpected(makeError(ApiError::Kind::Config, "metadata.name is required"));
    }
    if (resource.namespaced && key.ns.empty()) {
      return Unexpected(makeError(ApiError::Kind::Config,
                                  "metadata.namespace is required for " + resource.plural));
    }
    key.ns = keyNamespace(resource, key.ns);
    return key;
  }

  Result<Object> applyTo(const Resource& resource, const Object& object, const ApplyOptions& opts,
                         const std::string& subresource) {
    if (opts.fieldManager.empty()) {
      return Unexpected(makeError(ApiError::Kind::Config,
                                  "ApplyOptions.fieldManager is required for server-side apply"));
    }
    auto key = objectKey(resource, object, true);
    if (!key)
      return Unexpected(key.error());
    Object body = object;
    if (!body.contains("apiVersion"))
      body["apiVersion"] = resource.apiVersion();
    if (!body.contains("kind"))
      body["kind"] = resource.kind;
    Request r{http::methods::PATCH,
              subresource.empty() ? "apply" : "apply_status",
              resourcePath(resource, key->ns, key->name, subresource),
              {{"fieldManager", opts.fieldManager}},
              body.dump(),
              "application/apply-patch+yaml",
              true};
    if (opts.force)
      r.query.emplace_back("force", "true");
    return sendObject(r);
  }

  Result<Object> updateTo(const Resource& resource, const Object& object, const UpdateOptions& opts,
                          const std::string& subresource) {
    auto key = objectKey(resource, object, true);
    if (!key)
      return Unexpected(key.error());
    Request r{http::methods::PUT,
              subresource.empty() ? "update" : "update_status",
              resourcePath(resource, key->ns, key->name, subresource),
              {},
              object.dump(),
              "application/json",
              true};
    if (!opts.fieldManager.empty())
      r.query.emplace_back("fieldManager", opts.fieldManager);
    return sendObject(r);
  }

  Result<Object> patchTo(const Resource& resource, const ObjectKey& key, const Object& patch,
                         const PatchOptions& opts, const std::string& subresource) {
    if (key.name.empty()) {
      return Unexpected(makeError(ApiError::Kind::Config, "ObjectKey.name is required"));
    }
    Request r{http::methods::PATCH,
              subresource.empty() ? "patch" : "patch_status",
              resourcePath(resource, keyNamespace(resource, key.ns), key.name, subresource),
              {},
              patch.dump(),
              "application/merge-patch+json",
              true};
    if (!opts.fieldManager.empty())
      r.query.emplace_back("fieldManager", opts.fieldManager);
    return sendObject(r);
  }

  Result<Object> getFrom(const Resource& resource, const ObjectKey& key,
                         const std::string& subresource) {
    if (key.name.empty()) {
      return Unexpected(makeError(ApiError::Kind::Config, "ObjectKey.name is required"));
    }
    return sendObject(
        {http::methods::GET,
         "get",
         resourcePath(resource, keyNamespace(resource, key.ns), key.name, subresource),
         {},
         std::nullopt,
         "",
         true});
  }
};

namespace {

class RestWatchStream final : public WatchStream {
 public:
  RestWatchStream(std::unique_ptr<http::client::http_client> client,
                  pplx::cancellation_token_source cancel, http::http_response response)
      : client_(std::move(client)),
        cancel_(std::move(cancel)),
        response_(std::move(response)),
        body_(response_.body()) {}

  ~RestWatchStream() override {
    cancel();
    // Drop the stream before the client so cpprest's connection is torn down in order.
    body_ = concurrency::streams::istream();
  }

  Result<std::optional<WatchEvent>> next() override {
    while (true) {
      if (cancelled_.load())
        return std::optional<WatchEvent>();
      try {
        concurrency::streams::container_buffer<std::string> line;
        size_t n = body_.read_line(line).get();
        if (n == 0 && line.collection().empty()) {
          if (body_.is_eof())
            return std::optional<WatchEvent>();  // server closed the watch
          continue;                              // blank keep-alive line
        }
        auto event = decodeWatchEvent(line.collection());
        if (!event)
          return Unexpected(event.error());
        return std::optional<WatchEvent>(std::move(*event));
      } catch (const std::exception& e) {
        if (cancelled_.load()) {
          return Unexpected(makeError(ApiError::Kind::Cancelled, "watch cancelled"));
        }
        return Unexpected(makeError(ApiError::Kind::Transport, e.what()));
      }
    }
  }

  void cancel() override {
    if (!cancelled_.exchange(true))
      cancel_.cancel();
  }

 private:
  std::unique_ptr<http::client::http_client> client_;
  pplx::cancellation_token_source cancel_;
  http::http_response response_;
  concurrency::streams::istream body_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

RestClient::RestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestClient::~RestClient() = default;

Result<std::unique_ptr<RestClient>> RestClient::create(const Config& config,
                                                       RestClientOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = std::move(options);
  impl->clock = impl->options.clock != nullptr ? impl->options.clock : &systemClock();
  if (!config.caPem.empty() && !pemHasCertificate(config.caPem)) {
    return Unexpected(
        makeError(ApiError::Kind::Config, "certificate-authority: no PEM certificate found"));
  }
  if (!config.clientCertPem.empty() && !pemHasCertificate(config.clientCertPem)) {
    return Unexpected(
        makeError(ApiError::Kind::Config, "client-certificate: no PEM certificate found"));
  }
  if (!config.clientKeyPem.empty() && !pemHasKey(config.clientKeyPem)) {
    return Unexpected(makeError(ApiError::Kind::Config, "client-key: no PEM private key found"));
  }
  impl->limiter =
      std::make_unique<TokenBucket>(*impl->clock, impl->options.qps, impl->options.burst);
  try {
    web::uri base(config.server);
    if (base.scheme() != "https" && base.scheme() != "http") {
      return Unexpected(
          makeError(ApiError::Kind::Config, "server: unsupported scheme in " + config.server));
    }
    impl->client = std::make_unique<http::client::http_client>(
        base, impl->clientConfig(impl->options.requestTimeout));
  } catch (const std::exception& e) {
    return Unexpected(makeError(ApiError::Kind::Config,
                                "server: invalid URL " + config.server + ": " + e.what()));
  }
  return std::unique_ptr<RestClient>(new RestClient(std::move(impl)));
}

Result<Object> RestClient::get(const Resource& resource, const ObjectKey& key) {
  return impl_->getFrom(resource, key, "");
}

Result<Object> RestClient::getStatus(const Resource& resource, const ObjectKey& key) {
  return impl_->getFrom(resource, key, "status");
}

Result<ObjectList> RestClient::list(const Resource& resource, const std::string& ns,
                                    const ListOptions& options) {
  Impl::Request r{http::methods::GET,
                  "list",
                  resourcePath(resource, keyNamespace(resource, ns)),
                  {},
                  std::nullopt,
                  "",
                  true};
  if (!options.labelSelector.empty())
    r.query.emplace_back("labelSelector", options.labelSelector);
  if (!options.fieldSelector.empty())
    r.query.emplace_back("fieldSelector", options.fieldSelector);
  if (options.limit > 0)
    r.query.emplace_back("limit", std::to_string(options.limit));
  if (!options.continueToken.empty())
    r.query.emplace_back("continue", options.continueToken);
  if (!options.resourceVersion.empty()) {
    r.query.emplace_back("resourceVersion", options.resourceVersion);
  }
  auto parsed = impl_->sendObject(r);
  if (!parsed)
    return Unexpected(parsed.error());
  auto items = parsed->find("items");
  if (!parsed->is_object() || (items != parsed->end() && !items->is_array() && !items->is_null())) {
    return Unexpected(makeError(ApiError::Kind::Decode, "list response has no items array"));
  }
  ObjectList out;
  if (items != parsed->end() && items->is_array()) {
    out.items.reserve(items->size());
    for (auto& item : *items) {
      // Items of a list carry no apiVersion/kind on the wire; restore them so consumers can
      // treat listed and watched objects alike.
      if (!item.contains("apiVersion"))
        item["apiVersion"] = resource.apiVersion();
      if (!item.contains("kind"))
        item["kind"] = resource.kind;
      out.items.push_back(std::move(item));
    }
  }
  if (auto meta = parsed->find("metadata"); meta != parsed->end() && meta->is_object()) {
    out.resourceVersion = meta->value("resourceVersion", "");
    out.continueToken = meta->value("continue", "");
  }
  return out;
}

Result<ObjectList> RestClient::listAll(const Resource& resource, const std::string& ns,
                                       ListOptions options) {
  ObjectList all;
  while (true) {
    auto page = list(resource, ns, options);
    if (!page)
      return page;
    for (auto& item : page->items)
      all.items.push_back(std::move(item));
    all.resourceVersion = page->resourceVersion;
    if (page->continueToken.empty())
      return all;
    options.continueToken = page->continueToken;
  }
}

Result<Object> RestClient::create(const Resource& resource, const Object& object,
                                  const CreateOptions& options) {
  auto key = impl_->objectKey(resource, object, false);
  if (!key)
    return Unexpected(key.error());
  Impl::Request r{http::methods::POST, "create", resourcePath(resource, key->ns), {}, object.dump(),
                  "application/json",  false};
  if (!options.fieldManager.empty())
    r.query.emplace_back("fieldManager", options.fieldManager);
  return impl_->sendObject(r);
}

Result<Object> RestClient::update(const Resource& resource, const Object& object,
                                  const UpdateOptions& options) {
  return impl_->updateTo(resource, object, options, "");
}

Result<Object> RestClient::updateStatus(const Resource& resource, const Object& object,
                                        const UpdateOptions& options) {
  return impl_->updateTo(resource, object, options, "status");
}

Result<Object> RestClient::patch(const Resource& resource, const ObjectKey& key,
                                 const Object& mergePatch, const PatchOptions& options) {
  return impl_->patchTo(resource, key, mergePatch, options, "");
}

Result<Object> RestClient::patchStatus(const Resource& resource, const ObjectKey& key,
                                       const Object& mergePatch, const PatchOptions& options) {
  return impl_->patchTo(resource, key, mergePatch, options, "status");
}

Result<Object> RestClient::apply(const Resource& resource, const Object& object,
                                 const ApplyOptions& options) {
  return impl_->applyTo(resource, object, options, "");
}

Result<Object> RestClient::applyStatus(const Resource& resource, const Object& object,
                                       const ApplyOptions& options) {
  return impl_->applyTo(resource, object, options, "status");
}

Status RestClient::remove(const Resource& resource, const ObjectKey& key,
                          const DeleteOptions& options) {
  if (key.name.empty()) {
    return Unexpected(makeError(ApiError::Kind::Config, "ObjectKey.name is required"));
  }
  Object body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (auto p = propagationName(options.propagationPolicy); !p.empty()) {
    body["propagationPolicy"] = p;
  }
  if (options.gracePeriodSeconds)
    body["gracePeriodSeconds"] = *options.gracePeriodSeconds;
  if (!options.preconditionResourceVersion.empty()) {
    body["preconditions"]["resourceVersion"] = options.preconditionResourceVersion;
  }
  if (!options.preconditionUid.empty())
    body["preconditions"]["uid"] = options.preconditionUid;
  auto result = impl_->send({http::methods::DEL,
                             "delete",
                             resourcePath(resource, keyNamespace(resource, key.ns), key.name),
                             {},
                             body.dump(),
                             "application/json",
                             true});
  if (!result)
    return Unexpected(result.error());
  return {};
}

Result<std::unique_ptr<WatchStream>> RestClient::watch(const Resource& resource,
                                                       const std::string& ns,
                                                       const WatchOptions& options) {
  Impl::Request r{http::methods::GET,
                  "watch",
                  resourcePath(resource, keyNamespace(resource, ns)),
                  {{"watch", "true"}},
                  std::nullopt,
                  "",
                  true};
  if (!options.resourceVersion.empty()) {
    r.query.emplace_back("resourceVersion", options.resourceVersion);
  }
  if (options.allowBookmarks)
    r.query.emplace_back("allowWatchBookmarks", "true");
  if (options.timeout.count() > 0) {
    r.query.emplace_back("timeoutSeconds", std::to_string(options.timeout.count()));
  }
  if (!options.labelSelector.empty())
    r.query.emplace_back("labelSelector", options.labelSelector);
  if (!options.fieldSelector.empty())
    r.query.emplace_back("fieldSelector", options.fieldSelector);

  impl_->sleepFor(impl_->limiter->reserve());
  auto msg = impl_->buildRequest(r);
  auto token = impl_->authorize(msg);
  if (!token)
    return Unexpected(token.error());
  try {
    // A connection of its own whose idle timeout outlasts the server-side watch timeout.
    auto client = std::make_unique<http::client::http_client>(
        web::uri(impl_->config.server),
        impl_->clientConfig(options.timeout + std::chrono::seconds(30)));
    pplx::cancellation_token_source cancel;
    http::http_response response = client->request(msg, cancel.get_token()).get();
    int code = response.status_code();
    impl_->record("watch", std::to_string(code));
    if (code != 200) {
      std::string body = response.extract_utf8string(true).get();
      return Unexpected(
          Impl::withoutToken(errorFromResponse(code, body, response.headers()), *token));
    }
    return std::unique_ptr<WatchStream>(
        new RestWatchStream(std::move(client), std::move(cancel), std::move(response)));
  } catch (const std::exception& e) {
    impl_->record("watch", "<error>");
    return Unexpected(makeError(ApiError::Kind::Transport, e.what()));
  }
}

void RestClient::stopRetrying() {
  {
    std::lock_guard lock(impl_->waitMu);
    impl_->stopping = true;
  }
  impl_->waitCv.notify_all();
}

}  // namespace sluice::kube
