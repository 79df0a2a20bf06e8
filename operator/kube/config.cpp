#include "operator/kube/config.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace sluice::kube {
namespace {

namespace fs = std::filesystem;

ConfigError error(std::string file, std::string field, std::string message) {
  return ConfigError{std::move(file), std::move(field), std::move(message)};
}

Expected<std::string, ConfigError> readFile(const fs::path& path, const std::string& referencedBy,
                                            const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Unexpected(error(referencedBy.empty() ? path.string() : referencedBy, field,
                            "cannot read file " + path.string()));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string s) {
  auto notSpace = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), notSpace));
  s.erase(std::find_if(s.rbegin(), s.rend(), notSpace).base(), s.end());
  return s;
}

struct Loaded {
  std::string file;
  YAML::Node node;  // the entry's inner map (cluster/user/context)
};

// One merged kubeconfig: named entries remember the file they came from, because relative
// paths resolve against that file's directory and errors must name it.
struct Merged {
  std::map<std::string, Loaded> clusters;
  std::map<std::string, Loaded> users;
  std::map<std::string, Loaded> contexts;
  std::string currentContext;
  std::vector<std::string> files;
};

Expected<void, ConfigError> mergeSection(const YAML::Node& root, const std::string& file,
                                         const char* section, const char* inner,
                                         std::map<std::string, Loaded>& into) {
  YAML::Node list = root[section];
  if (!list || list.IsNull())
    return {};
  if (!list.IsSequence())
    return Unexpected(error(file, section, "must be a list"));
  size_t index = 0;
  for (const auto& entry : list) {
    std::string where = std::string(section) + "[" + std::to_string(index++) + "]";
    if (!entry.IsMap())
      return Unexpected(error(file, where, "must be a map"));
    if (!entry["name"] || !entry["name"].IsScalar() || entry["name"].as<std::string>().empty()) {
      return Unexpected(error(file, where + ".name", "missing"));
    }
    auto name = entry["name"].as<std::string>();
    YAML::Node body = entry[inner];
    if (!body || !body.IsMap()) {
      return Unexpected(
          error(file, std::string(section) + "[" + name + "]." + inner, "missing or not a map"));
    }
    // First definition wins across files, as in kubectl's merge.
    into.try_emplace(name, Loaded{file, body});
  }
  return {};
}

Expected<void, ConfigError> mergeFile(const std::string& file, Merged& merged) {
  auto text = readFile(file, "", "");
  if (!text)
    return Unexpected(text.error());
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return Unexpected(error(
        file, "", "malformed YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg));
  }
  if (root.IsNull())
    return {};  // an empty file contributes nothing, like kubectl
  if (!root.IsMap())
    return Unexpected(error(file, "", "top level must be a map"));
  try {
    if (auto r = mergeSection(root, file, "clusters", "cluster", merged.clusters); !r)
      return r;
    if (auto r = mergeSection(root, file, "users", "user", merged.users); !r)
      return r;
    if (auto r = mergeSection(root, file, "contexts", "context", merged.contexts); !r)
      return r;
    if (merged.currentContext.empty() && root["current-context"] &&
        root["current-context"].IsScalar()) {
      merged.currentContext = root["current-context"].as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    return Unexpected(error(file, "", e.msg));
  }
  merged.files.push_back(file);
  return {};
}

std::optional<std::string> scalar(const YAML::Node& node, const char* key) {
  YAML::Node v = node[key];
  if (!v || !v.IsScalar())
    return std::nullopt;
  auto s = v.as<std::string>();
  if (s.empty())
    return std::nullopt;
  return s;
}

fs::path resolve(const std::string& file, const std::string& path) {
  fs::path p(path);
  if (p.is_absolute())
    return p;
  return fs::path(file).parent_path() / p;
}

// Reads "<key>-data" (base64) or "<key>" (a path relative to the file); data wins, as in
// client-go.
Expected<std::string, ConfigError> pemField(const Loaded& entry, const std::string& where,
                                            const std::string& key) {
  if (auto data = scalar(entry.node, (key + "-data").c_str())) {
    auto decoded = decodeBase64(*data);
    if (!decoded)
      return Unexpected(error(entry.file, where + "." + key + "-data", "invalid base64"));
    return *decoded;
  }
  if (auto path = scalar(entry.node, key.c_str())) {
    return readFile(resolve(entry.file, *path), entry.file, where + "." + key);
  }
  return std::string();
}

}  // namespace

std::string ConfigError::describe() const {
  std::string out = "kubernetes config";
  if (!file.empty())
    out += " " + file;
  if (!field.empty())
    out += ": field " + field;
  return out + ": " + message;
}

std::optional<std::string> processEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr)
    return std::nullopt;
  return std::string(v);
}

std::optional<std::string> decodeBase64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+')
      return 62;
    if (c == '/')
      return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == ' ')
      continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0)
      return std::nullopt;  // data after padding
    int v = value(c);
    if (v < 0)
      return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (padding > 2 || bits >= 6)
    return std::nullopt;
  return out;
}

TokenSource TokenSource::fixed(std::string token) {
  TokenSource s;
  s.token_ = std::move(token);
  return s;
}

TokenSource TokenSource::fromFile(std::filesystem::path path) {
  TokenSource s;
  s.file_ = std::move(path);
  return s;
}

TokenSource::TokenSource(const TokenSource& other) {
  *this = other;
}

TokenSource& TokenSource::operator=(const TokenSource& other) {
  if (this == &other)
    return *this;
  std::scoped_lock lock(mu_, other.mu_);
  file_ = other.file_;
  token_ = other.token_;
  seen_ = other.seen_;
  return *this;
}

Expected<std::string, ConfigError> TokenSource::token() const {
  std::lock_guard lock(mu_);
  if (file_.empty())
    return token_;
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) {  // follows the ..data symlink, as a read would
    if (!token_.empty())
      return token_;  // rotation in progress: keep the last good token
    return Unexpected(error(file_.string(), "",
                            "cannot stat token file: " + std::generic_category().message(errno)));
  }
  const Identity now{
      static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
      static_cast<std::int64_t>(st.st_size)};
  if (token_.empty() || now != seen_) {
    auto text = readFile(file_, "", "");
    if (!text) {
      if (!token_.empty())
        return token_;
      return Unexpected(text.error());
    }
    token_ = trim(*text);
    seen_ = now;
  }
  return token_;
}

Expected<Config, ConfigError> loadInClusterConfig(const InClusterPaths& paths,
                                                  const EnvLookup& env) {
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty()) {
    return Unexpected(error("", "KUBERNETES_SERVICE_HOST", "environment variable not set"));
  }
  if (!port || port->empty()) {
    return Unexpected(error("", "KUBERNETES_SERVICE_PORT", "environment variable not set"));
  }
  Config config;
  // IPv6 service addresses need brackets in a URL.
  std::string hostPart = host->find(':') != std::string::npos ? "[" + *host + "]" : *host;
  config.server = "https://" + hostPart + ":" + *port;
  config.token = TokenSource::fromFile(paths.tokenFile);
  if (auto t = config.token.token(); !t)
    return Unexpected(t.error());
  auto ca = readFile(paths.caFile, "", "");
  if (!ca)
    return Unexpected(ca.error());
  config.caPem = std::move(*ca);
  if (auto nsText = readFile(paths.namespaceFile, "", ""); nsText && !trim(*nsText).empty()) {
    config.ns = trim(*nsText);
  }
  config.source = "in-cluster";
  return config;
}

Expected<Config, ConfigError> loadKubeconfig(const KubeconfigOptions& options,
                                             const EnvLookup& env) {
  std::vector<std::string> files;
  if (!options.explicitPath.empty()) {
    files.push_back(options.explicitPath);
  } else if (auto list = env("KUBECONFIG"); list && !list->empty()) {
    std::stringstream ss(*list);
    std::string item;
    while (std::getline(ss, item, ':')) {
      // Missing files in KUBECONFIG are skipped by kubectl; an explicit path must exist.
      if (!item.empty() && fs::exists(item))
        files.push_back(item);
    }
    if (files.empty()) {
      return Unexpected(error(*list, "KUBECONFIG", "none of the listed files exists"));
    }
  } else if (auto home = env("HOME"); home && !home->empty()) {
    files.push_back(*home + "/.kube/config");
  } else {
    return Unexpected(error("", "KUBECONFIG", "no kubeconfig given and HOME is not set"));
  }

  Merged merged;
  for (const auto& file : files) {
    if (auto r = mergeFile(file, merged); !r)
      return Unexpected(r.error());
  }
  const std::string firstFile = files.front();
  std::string contextName = options.context.empty() ? merged.currentContext : options.context;
  if (contextName.empty()) {
    return Unexpected(error(firstFile, "current-context", "not set and no --context given"));
  }
  auto ctxIt = merged.contexts.find(contextName);
  if (ctxIt == merged.contexts.end()) {
    return Unexpected(error(firstFile, options.context.empty() ? "current-context" : "--context",
                            "context \"" + contextName + "\" not found"));
  }
  const Loaded& ctx = ctxIt->second;
  std::string ctxWhere = "contexts[" + contextName + "].context";
  auto clusterName = scalar(ctx.node, "cluster");
  if (!clusterName)
    return Unexpected(error(ctx.file, ctxWhere + ".cluster", "missing"));
  auto clusterIt = merged.clusters.find(*clusterName);
  if (clusterIt == merged.clusters.end()) {
    return Unexpected(
        error(ctx.file, ctxWhere + ".cluster", "cluster \"" + *clusterName + "\" not found"));
  }
  const Loaded& cluster = clusterIt->second;
  std::string clusterWhere = "clusters[" + *clusterName + "].cluster";

  Config config;
  config.contextName = contextName;
  try {
    auto server = scalar(cluster.node, "server");
    if (!server)
      return Unexpected(error(cluster.file, clusterWhere + ".server", "missing"));
    if (server->rfind("https://", 0) != 0 && server->rfind("http://", 0) != 0) {
      return Unexpected(error(cluster.file, clusterWhere + ".server",
                              "must start with https:// or http://, got \"" + *server + "\""));
    }
    while (!server->empty() && server->back() == '/')
      server->pop_back();
    config.server = *server;
    if (auto insecure = scalar(cluster.node, "insecure-skip-tls-verify")) {
      if (*insecure != "true" && *insecure != "false") {
        return Unexpected(error(cluster.file, clusterWhere + ".insecure-skip-tls-verify",
                                "must be true or false"));
      }
      config.insecureSkipTlsVerify = *insecure == "true";
    }
    auto ca = pemField(cluster, clusterWhere, "certificate-authority");
    if (!ca)
      return Unexpected(ca.error());
    config.caPem = std::move(*ca);
    if (config.insecureSkipTlsVerify && !config.caPem.empty()) {
      // client-go refuses this too: a CA that is then not checked reads as trust it is not.
      return Unexpected(error(cluster.file, clusterWhere + ".insecure-skip-tls-verify",
                              "cannot be true together with a certificate-authority: the CA "
                              "would not be checked"));
    }

    if (auto userName = scalar(ctx.node, "user")) {
      auto userIt = merged.users.find(*userName);
      if (userIt == merged.users.end()) {
        return Unexpected(
            error(ctx.file, ctxWhere + ".user", "user \"" + *userName + "\" not found"));
      }
      const Loaded& user = userIt->second;
      std::string userWhere = "users[" + *userName + "].user";
      auto cert = pemField(user, userWhere, "client-certificate");
      if (!cert)
        return Unexpected(cert.error());
      auto key = pemField(user, userWhere, "client-key");
      if (!key)
        return Unexpected(key.error());
      if (cert->empty() != key->empty()) {
        return Unexpected(error(user.file,
                                userWhere + (cert->empty() ? ".client-certificate" : ".client-key"),
                                "missing: client-certificate and client-key come together"));
      }
      config.clientCertPem = std::move(*cert);
      config.clientKeyPem = std::move(*key);
      if (auto token = scalar(user.node, "token")) {
        config.token = TokenSource::fixed(*token);
      } else if (auto tokenFile = scalar(user.node, "tokenFile")) {
        config.token = TokenSource::fromFile(resolve(user.file, *tokenFile));
        if (auto t = config.token.token(); !t) {
          return Unexpected(error(user.file, userWhere + ".tokenFile", t.error().message));
        }
      }
      if (user.node["exec"] || user.node["auth-provider"]) {
        if (config.token.empty() && config.clientCertPem.empty()) {
          return Unexpected(error(user.file, userWhere + ".exec",
                                  "exec and auth-provider credentials are not supported"));
        }
      }
    }
    if (auto ns = scalar(ctx.node, "namespace"))
      config.ns = *ns;
  } catch (const YAML::Exception& e) {
    return Unexpected(error(cluster.file, clusterWhere, e.msg));
  }
  if (config.insecureSkipTlsVerify) {
    spdlog::warn(
        "kubeconfig context {} sets insecure-skip-tls-verify: the API server's "
        "certificate is NOT verified",
        contextName);
  }
  std::string source;
  for (const auto& f : merged.files)
    source += (source.empty() ? "" : ":") + f;
  config.source = source;
  return config;
}

Expected<Config, ConfigError> loadConfig(const KubeconfigOptions& options, const EnvLookup& env,
                                         const InClusterPaths& paths) {
  auto kubeconfigEnv = env("KUBECONFIG");
  if (options.explicitPath.empty() && (!kubeconfigEnv || kubeconfigEnv->empty())) {
    if (auto host = env("KUBERNETES_SERVICE_HOST"); host && !host->empty()) {
      return loadInClusterConfig(paths, env);
    }
  }
  return loadKubeconfig(options, env);
}

}  // namespace sluice::kube
