#include "operator/kube/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace sluice::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-kube-config-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  EnvLookup env() {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end())
        return std::nullopt;
      return it->second;
    };
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
};

const char* kBase = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster:
    server: https://dev.example:6443/
    certificate-authority-data: Q0EtUEVN
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority: certs/prod-ca.pem
users:
- name: dev-user
  user:
    token: dev-token
- name: prod-user
  user:
    client-certificate: certs/client.pem
    client-key-data: S0VZ
contexts:
- name: dev
  context: {cluster: dev, user: dev-user, namespace: team-a}
- name: prod
  context: {cluster: prod, user: prod-user}
)";

TEST_F(ConfigTest, CurrentContextWithDataFields) {
  auto path = write("config", kBase);
  auto config = loadKubeconfig({path, ""}, env());
  ASSERT_TRUE(config.hasValue()) << config.error().describe();
  EXPECT_EQ(config->server, "https://dev.example:6443");
  EXPECT_EQ(config->caPem, "CA-PEM");
  EXPECT_EQ(config->token.token().value(), "dev-token");
  EXPECT_EQ(config->ns, "team-a");
  EXPECT_EQ(config->contextName, "dev");
}

TEST_F(ConfigTest, ContextSelectionWithFilesRelativeToKubeconfig) {
  write("certs/prod-ca.pem", "PROD-CA");
  write("certs/client.pem", "CLIENT-CERT");
  auto path = write("config", kBase);
  auto config = loadKubeconfig({path, "prod"}, env());
  ASSERT_TRUE(config.hasValue()) << config.error().describe();
  EXPECT_EQ(config->server, "https://prod.example:6443");
  EXPECT_EQ(config->caPem, "PROD-CA");
  EXPECT_EQ(config->clientCertPem, "CLIENT-CERT");
  EXPECT_EQ(config->clientKeyPem, "KEY");
  EXPECT_EQ(config->ns, "default");
}

TEST_F(ConfigTest, KubeconfigEnvMergesFilesFirstDefinitionWins) {
  auto first = write("a.yaml", R"(
current-context: other
clusters:
- name: shared
  cluster: {server: https://first.example}
contexts:
- name: other
  context: {cluster: shared, user: u}
)");
  auto second = write("b.yaml", R"(
current-context: ignored
clusters:
- name: shared
  cluster: {server: https://second.example}
users:
- name: u
  user: {tokenFile: token.txt}
)");
  write("token.txt", "file-token\n");
  env_["KUBECONFIG"] = first + ":" + (dir_ / "missing.yaml").string() + ":" + second;
  auto config = loadKubeconfig({}, env());
  ASSERT_TRUE(config.hasValue()) << config.error().describe();
  EXPECT_EQ(config->server, "https://first.example");
  EXPECT_EQ(config->token.token().value(), "file-token");
  EXPECT_THAT(config->source, HasSubstr("a.yaml"));
  EXPECT_THAT(config->source, HasSubstr("b.yaml"));
}

TEST_F(ConfigTest, TokenFileIsReReadWhenItChanges) {
  auto path = write("token", "one");
  auto source = TokenSource::fromFile(path);
  EXPECT_EQ(source.token().value(), "one");
  write("token", "second-token");  // different size, so detected even within one mtime tick
  EXPECT_EQ(source.token().value(), "second-token");
}

// What the kubelet does for a projected token: each version in a directory of its own, `..data`
// a symlink to the current one, `token` a symlink through `..data`; rotation writes the new
// directory and renames a new `..data` over the old one. The two tokens here have the same size
// and the same modification time (a coarse clock, or a copy that kept it), so only the inode
// behind the path says the token changed.
TEST_F(ConfigTest, TokenFileFollowsTheKubeletsAtomicDataSymlinkSwap) {
  auto first = write("sa/..2026_11_26_15_00_00.1/token", "token-AAAA");
  fs::create_directory_symlink("..2026_11_26_15_00_00.1", dir_ / "sa" / "..data");
  fs::create_symlink("..data/token", dir_ / "sa" / "token");
  auto source = TokenSource::fromFile(dir_ / "sa" / "token");
  EXPECT_EQ(source.token().value(), "token-AAAA");

  auto second = write("sa/..2026_11_26_15_10_00.2/token", "token-BBBB");
  fs::last_write_time(second, fs::last_write_time(first));
  fs::create_directory_symlink("..2026_11_26_15_10_00.2", dir_ / "sa" / "..data_tmp");
  fs::rename(dir_ / "sa" / "..data_tmp", dir_ / "sa" / "..data");  // atomic, as the kubelet does
  fs::remove_all(dir_ / "sa" / "..2026_11_26_15_00_00.1");
  EXPECT_EQ(source.token().value(), "token-BBBB");

  // While the link points nowhere (a swap caught half-way), the last good token is kept.
  fs::remove(dir_ / "sa" / "..data");
  EXPECT_EQ(source.token().value(), "token-BBBB");
}

// As in client-go: a CA that would not be checked is refused, not silently ignored.
TEST_F(ConfigTest, InsecureSkipTlsVerifyWithACaIsRefused) {
  auto path = write("config", R"(
current-context: c
clusters:
- name: k
  cluster: {server: "https://k.example", certificate-authority-data: Q0EtUEVN,
            insecure-skip-tls-verify: true}
contexts:
- name: c
  context: {cluster: k}
)");
  auto config = loadKubeconfig({path, ""}, env());
  ASSERT_FALSE(config.hasValue());
  EXPECT_EQ(config.error().field, "clusters[k].cluster.insecure-skip-tls-verify");
  EXPECT_THAT(config.error().message, HasSubstr("certificate-authority"));
}

TEST_F(ConfigTest, ErrorsNameFileAndField) {
  struct Case {
    std::string yaml;
    std::string context;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"clusters:\n- name: c\n  cluster: {}\ncontexts:\n- name: x\n  context: {cluster: c}\n"
       "current-context: x\n",
       "", "clusters[c].cluster.server"},
      {"contexts:\n- name: x\n  context: {cluster: nope}\ncurrent-context: x\n", "",
       "contexts[x].context.cluster"},
      {"clusters: []\n", "", "current-context"},
      {"current-context: x\ncontexts: []\n", "", "current-context"},
      {"clusters: []\ncontexts: []\n", "missing", "--context"},
      {"clusters:\n- cluster: {server: https://a}\n", "", "clusters[0].name"},
      {"clusters:\n- name: c\n  cluster: {server: https://a, certificate-authority-data: '!!'}\n"
       "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
       "", "clusters[c].cluster.certificate-authority-data"},
      {"clusters:\n- name: c\n  cluster: {server: https://a, certificate-authority: nope.pem}\n"
       "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n",
       "", "clusters[c].cluster.certificate-authority"},
      {"clusters:\n- name: c\n  cluster: {server: https://a}\nusers:\n- name: u\n"
       "  user: {client-certificate-data: Q0VSVA==}\n"
       "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
       "", "users[u].user.client-key"},
  };
  int i = 0;
  for (const auto& c : cases) {
    auto path = write("bad" + std::to_string(i++) + ".yaml", c.yaml);
    auto config = loadKubeconfig({path, c.context}, env());
    ASSERT_FALSE(config.hasValue()) << c.yaml;
    EXPECT_EQ(config.error().field, c.field) << config.error().describe();
    EXPECT_THAT(config.error().describe(), HasSubstr(path));
  }
}

TEST_F(ConfigTest, MalformedYamlNamesFileAndLine) {
  auto path = write("broken.yaml", "clusters:\n  - name: [unclosed\n");
  auto config = loadKubeconfig({path, ""}, env());
  ASSERT_FALSE(config.hasValue());
  EXPECT_EQ(config.error().file, path);
  EXPECT_THAT(config.error().message, HasSubstr("line"));
}

TEST_F(ConfigTest, MissingExplicitFileIsAnError) {
  auto config = loadKubeconfig({(dir_ / "nope").string(), ""}, env());
  ASSERT_FALSE(config.hasValue());
  EXPECT_THAT(config.error().describe(), HasSubstr("nope"));
}

TEST_F(ConfigTest, InClusterReadsServiceAccountFiles) {
  InClusterPaths paths{write("sa/token", "sa-token\n"), write("sa/ca.crt", "CA"),
                       write("sa/namespace", "sluice-system")};
  env_["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  env_["KUBERNETES_SERVICE_PORT"] = "443";
  auto config = loadConfig({}, env(), paths);
  ASSERT_TRUE(config.hasValue()) << config.error().describe();
  EXPECT_EQ(config->server, "https://10.0.0.1:443");
  EXPECT_EQ(config->token.token().value(), "sa-token");
  EXPECT_EQ(config->caPem, "CA");
  EXPECT_EQ(config->ns, "sluice-system");
  EXPECT_EQ(config->source, "in-cluster");
}

TEST_F(ConfigTest, InClusterMissingTokenNamesFile) {
  InClusterPaths paths{dir_ / "sa/none", write("sa/ca.crt", "CA"), dir_ / "sa/ns"};
  env_["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  env_["KUBERNETES_SERVICE_PORT"] = "443";
  auto config = loadInClusterConfig(paths, env());
  ASSERT_FALSE(config.hasValue());
  EXPECT_THAT(config.error().describe(), HasSubstr("sa/none"));
}

TEST(Base64, DecodesStandardAlphabet) {
  EXPECT_EQ(decodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(decodeBase64("aGVsbG8hIQ=="), "hello!!");
  EXPECT_EQ(decodeBase64("aGVs\nbG8="), "hello");
  EXPECT_EQ(decodeBase64("a$=="), std::nullopt);
}

}  // namespace
}  // namespace sluice::kube
