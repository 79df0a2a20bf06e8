// A kubeconfig file as users write them (or break them): loaded as `kubectl sluice` and the
// operator load it, from a scratch file. Values or a ConfigError naming the field.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "operator/kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = [] {
    char name[] = "/tmp/sluice-fuzz-kubeconfig-XXXXXX";
    const int fd = mkstemp(name);
    if (fd >= 0) {
      close(fd);
    }
    return std::string(name);
  }();
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  const auto noEnv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto config = sluice::kube::loadKubeconfig({path, ""}, noEnv);
  if (config) {
    (void)config->server;
  } else {
    (void)config.error().message;
  }
  return 0;
}
