#pragma once

// Client over cpprestsdk + OpenSSL. Server certificates are verified against the config's CA
// unless the kubeconfig explicitly says insecure-skip-tls-verify.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "operator/common/clock.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"

namespace sluice::kube {

class Metrics;

struct RestClientOptions {
  double qps = 20;  // client-go's defaults are 5/10; an operator with three kinds needs more
  int burst = 30;
  // Retries after the first attempt for idempotent requests (429, 5xx, transport errors);
  // a create is retried only on 429 because the server did not process it.
  int maxRetries = 5;
  std::chrono::milliseconds retryBaseDelay{200};
  std::chrono::milliseconds retryMaxDelay{10'000};
  std::chrono::milliseconds maxRetryAfter{30'000};  // cap on a server's Retry-After
  std::chrono::seconds requestTimeout{30};
  std::string userAgent = "sluice-operator";
  const Clock* clock = nullptr;  // default: a process-wide SystemClock
  Metrics* metrics = nullptr;    // rest_client_requests_total{verb,code}
  // How the client waits (rate limiter and retry backoff); tests record instead of sleeping.
  std::function<void(std::chrono::nanoseconds)> sleep;
};

class RestClient final : public Client {
 public:
  // Fails (Kind::Config) on an unusable config: bad server URL, unparsable CA or client cert.
  static Result<std::unique_ptr<RestClient>> create(const Config& config,
                                                    RestClientOptions options = {});
  ~RestClient() override;

  Result<Object> get(const Resource& resource, const ObjectKey& key) override;
  Result<ObjectList> list(const Resource& resource, const std::string& ns,
                          const ListOptions& options) override;
  Result<Object> create(const Resource& resource, const Object& object,
                        const CreateOptions& options = {}) override;
  Result<Object> update(const Resource& resource, const Object& object,
                        const UpdateOptions& options = {}) override;
  Result<Object> patch(const Resource& resource, const ObjectKey& key, const Object& mergePatch,
                       const PatchOptions& options = {}) override;
  Result<Object> apply(const Resource& resource, const Object& object,
                       const ApplyOptions& options) override;
  Status remove(const Resource& resource, const ObjectKey& key,
                const DeleteOptions& options = {}) override;
  Result<Object> getStatus(const Resource& resource, const ObjectKey& key) override;
  Result<Object> updateStatus(const Resource& resource, const Object& object,
                              const UpdateOptions& options = {}) override;
  Result<Object> patchStatus(const Resource& resource, const ObjectKey& key,
                             const Object& mergePatch, const PatchOptions& options = {}) override;
  Result<Object> applyStatus(const Resource& resource, const Object& object,
                             const ApplyOptions& options) override;
  Result<std::unique_ptr<WatchStream>> watch(const Resource& resource, const std::string& ns,
                                             const WatchOptions& options) override;

  // Every page of a list, following continue tokens.
  Result<ObjectList> listAll(const Resource& resource, const std::string& ns, ListOptions options);

  // For a stopping process: from now on a request is tried once, and the waits before retries
  // and for the rate limiter end at once (those in progress too). A SIGTERM during an API
  // outage must not sit out every worker's retry backoff. Thread-safe; no undo.
  void stopRetrying();

  struct Impl;

 private:
  explicit RestClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "/apis/apps/v1/namespaces/ns/deployments/name/status"; empty ns/name/subresource are left out.
std::string resourcePath(const Resource& resource, const std::string& ns,
                         const std::string& name = "", const std::string& subresource = "");

}  // namespace sluice::kube
