#pragma once

// A client for HAProxy's runtime API (the stats socket, "level admin"): one command per
// connection, as the non-interactive mode expects.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "operator/common/expected.h"

namespace sluice::render::haproxy {

struct RuntimeError {
  std::string message;
  // No answer within the timeout (a hung HAProxy), whether the connect or the answer timed out:
  // one message for both.
  bool timedOut = false;
};

class RuntimeClient {
 public:
  // address: "ipv4@127.0.0.1:9999", "127.0.0.1:9999", "unix@/path" or "/path".
  explicit RuntimeClient(std::string address,
                         std::chrono::milliseconds timeout = std::chrono::seconds{2});

  // Sends one command and returns HAProxy's full answer.
  Expected<std::string, RuntimeError> command(const std::string& line) const;

  // `set map <file> <key> <value>`, falling back to `add map` when the key is missing.
  Expected<void, RuntimeError> setMapValue(const std::string& mapFile, const std::string& key,
                                           const std::string& value) const;
  // `get map <file> <key>`: the value HAProxy runs for one key, nullopt when it has none.
  Expected<std::optional<std::string>, RuntimeError> getMapValue(const std::string& mapFile,
                                                                 const std::string& key) const;
  // `show map <file>` as key -> value.
  Expected<std::map<std::string, std::string>, RuntimeError> showMap(
      const std::string& mapFile) const;

 private:
  std::string address_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sluice::render::haproxy
