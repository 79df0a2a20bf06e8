#pragma once

// Where the API server is and how to authenticate: in-cluster service account or kubeconfig
// (merged like kubectl). Every failure names the file and the field.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "operator/common/expected.h"

namespace sluice::kube {

struct ConfigError {
  std::string file;   // the file at fault, empty if none
  std::string field;  // e.g. "clusters[dev].cluster.server"; empty if the file as a whole
  std::string message;
  std::string describe() const;
};

// Re-reads a token file when the file it resolves to changes (device, inode, modification time
// or size), because projected service-account tokens rotate underneath a running process: the
// kubelet writes each token into a new directory and swaps the `..data` symlink, so the path
// names a new inode while the size (same claims, same length) and, on a coarse clock, the
// modification time can stay the same. Thread-safe.
class TokenSource {
 public:
  TokenSource() = default;
  static TokenSource fixed(std::string token);
  static TokenSource fromFile(std::filesystem::path path);
  TokenSource(const TokenSource& other);
  TokenSource& operator=(const TokenSource& other);

  bool empty() const { return token_.empty() && file_.empty(); }
  // The current token; on a read failure keeps the last good one (and says so in the result).
  Expected<std::string, ConfigError> token() const;

 private:
  std::filesystem::path file_;
  mutable std::mutex mu_;
  mutable std::string token_;
  struct Identity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t mtimeNanoseconds = 0;
    std::int64_t size = 0;
    friend bool operator==(const Identity&, const Identity&) = default;
  };
  mutable Identity seen_;
};

struct Config {
  std::string server;  // https://host:port, no trailing slash
  std::string caPem;   // trusted CA bundle; empty = system roots
  bool insecureSkipTlsVerify = false;
  std::string clientCertPem;
  std::string clientKeyPem;
  TokenSource token;
  std::string ns = "default";  // the context's or the pod's namespace
  std::string source;          // "in-cluster" or the kubeconfig files, for logs
  std::string contextName;
};

struct InClusterPaths {
  std::filesystem::path tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::filesystem::path caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::filesystem::path namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> processEnv(const std::string& name);

Expected<Config, ConfigError> loadInClusterConfig(const InClusterPaths& paths = {},
                                                  const EnvLookup& env = processEnv);

struct KubeconfigOptions {
  std::string explicitPath;  // --kubeconfig; wins over KUBECONFIG
  std::string context;       // --context; empty = current-context
};

// Files from --kubeconfig, else KUBECONFIG (':'-separated, merged: the first file to define a
// name or current-context wins, as kubectl does), else ~/.kube/config.
Expected<Config, ConfigError> loadKubeconfig(const KubeconfigOptions& options,
                                             const EnvLookup& env = processEnv);

// kubeconfig if --kubeconfig or KUBECONFIG is set, else in-cluster when
// KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
Expected<Config, ConfigError> loadConfig(const KubeconfigOptions& options,
                                         const EnvLookup& env = processEnv,
                                         const InClusterPaths& paths = {});

// Standard base64 (RFC 4648) as used by *-data fields; nullopt on invalid input.
std::optional<std::string> decodeBase64(std::string_view text);

}  // namespace sluice::kube
