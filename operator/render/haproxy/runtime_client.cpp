#include "operator/render/haproxy/runtime_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>
#include <utility>

namespace sluice::render::haproxy {
namespace {

using Clock = std::chrono::steady_clock;
using Error = Unexpected<RuntimeError>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// A HAProxy that is hung (stopped, overloaded) times out at whichever stage the kernel leaves
// it: the answer while its socket's backlog has room, the connect once the backlog is full. One
// message for all of them, so a status that reports the error does not change (and is not
// rewritten) when the backlog fills up; "refused" stays distinct: that HAProxy is gone.
std::string noAnswer(const std::string& address, std::chrono::milliseconds timeout) {
  return address + ": no answer within " + std::to_string(timeout.count()) + "ms";
}

int remainingMillis(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Connects without blocking past the deadline.
Expected<void, RuntimeError> connectWithin(int fd, const sockaddr* addr, socklen_t len,
                                           Clock::time_point deadline) {
  if (::connect(fd, addr, len) == 0) {
    return {};
  }
  // A unix socket whose listen backlog is full (a hung HAProxy) refuses a non-blocking connect
  // with EAGAIN at once instead of leaving it in progress: try again until the deadline, so a
  // hung HAProxy is the same timeout over a unix socket as over TCP.
  while (errno == EAGAIN && addr->sa_family == AF_UNIX) {
    if (remainingMillis(deadline) == 0) {
      return Error(RuntimeError{"connect: timed out", true});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20, remainingMillis(deadline))));
    if (::connect(fd, addr, len) == 0) {
      return {};
    }
  }
  if (errno != EINPROGRESS) {
    return Error(RuntimeError{errnoText("connect")});
  }
  pollfd p{fd, POLLOUT, 0};
  const int ready = ::poll(&p, 1, remainingMillis(deadline));
  if (ready <= 0) {
    return Error(RuntimeError{"connect: timed out", true});
  }
  int err = 0;
  socklen_t errLen = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errLen);
  if (err != 0) {
    return Error(RuntimeError{std::string("connect: ") + std::strerror(err)});
  }
  return {};
}

// A non-blocking stream socket of `family` connected to `addr` (an owned fd), or an error
// naming `address`.
Expected<int, RuntimeError> openAndConnect(int family, const sockaddr* addr, socklen_t len,
                                           const std::string& address, Clock::time_point deadline) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error(RuntimeError{errnoText("socket")});
  }
  Fd guard(fd);
  auto ok = connectWithin(fd, addr, len, deadline);
  if (!ok) {
    return Error(RuntimeError{address + ": " + ok.error().message, ok.error().timedOut});
  }
  return guard.release();
}

Expected<int, RuntimeError> openSocket(const std::string& address, Clock::time_point deadline) {
  std::string rest = address;
  bool unixSocket = false;
  if (rest.rfind("unix@", 0) == 0) {
    rest = rest.substr(5);
    unixSocket = true;
  } else if (rest.rfind("ipv4@", 0) == 0) {
    rest = rest.substr(5);
  } else if (!rest.empty() && rest.front() == '/') {
    unixSocket = true;
  }
  if (unixSocket) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (rest.size() >= sizeof addr.sun_path) {
      return Error(RuntimeError{"unix socket path too long: " + rest});
    }
    std::memcpy(addr.sun_path, rest.c_str(), rest.size() + 1);
    return openAndConnect(AF_UNIX, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, address,
                          deadline);
  }
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    return Error(RuntimeError{"runtime address \"" + address + "\" has no port"});
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  int port = 0;
  try {
    port = std::stoi(rest.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (port <= 0 || port > 65535 ||
      ::inet_pton(AF_INET, rest.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return Error(RuntimeError{"runtime address \"" + address + "\" is not ipv4@a.b.c.d:port"});
  }
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return openAndConnect(AF_INET, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, address,
                        deadline);
}

bool isBlank(const std::string& s) {
  return s.find_first_not_of(" \r\n\t") == std::string::npos;
}

}  // namespace

RuntimeClient::RuntimeClient(std::string address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

Expected<std::string, RuntimeError> RuntimeClient::command(const std::string& line) const {
  if (line.find('\n') != std::string::npos) {
    return Error(RuntimeError{"runtime command must be one line"});
  }
  const auto deadline = Clock::now() + timeout_;
  auto opened = openSocket(address_, deadline);
  if (!opened) {
    if (opened.error().timedOut) {
      return Error(RuntimeError{noAnswer(address_, timeout_), true});
    }
    return Error(opened.error());
  }
  Fd fd(*opened);
  // Non-interactive mode: HAProxy answers one command, then closes the connection.
  const std::string request = line + "\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, remainingMillis(deadline)) <= 0) {
      return Error(RuntimeError{noAnswer(address_, timeout_), true});
    }
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      return Error(RuntimeError{errnoText(address_ + ": send")});
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[4096];
  while (true) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, remainingMillis(deadline)) <= 0) {
      return Error(RuntimeError{noAnswer(address_, timeout_), true});
    }
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) {
      return answer;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      return Error(RuntimeError{errnoText(address_ + ": recv")});
    }
    answer.append(buf, static_cast<std::size_t>(n));
  }
}

Expected<void, RuntimeError> RuntimeClient::setMapValue(const std::string& mapFile,
                                                        const std::string& key,
                                                        const std::string& value) const {
  for (const auto* part : {&mapFile, &key, &value}) {
    if (part->empty() || part->find_first_of(" \t\r\n;") != std::string::npos) {
      return Error(RuntimeError{"map file, key and value must be non-empty words"});
    }
  }
  auto set = command("set map " + mapFile + " " + key + " " + value);
  if (!set) {
    return Error(set.error());
  }
  if (isBlank(*set)) {
    return {};
  }
  if (set->find("not found") == std::string::npos) {
    return Error(RuntimeError{"set map: " + *set});
  }
  // HAProxy answers "entry not found" for a key the map does not hold yet.
  auto add = command("add map " + mapFile + " " + key + " " + value);
  if (!add) {
    return Error(add.error());
  }
  if (!isBlank(*add)) {
    return Error(RuntimeError{"add map: " + *add});
  }
  return {};
}

Expected<std::optional<std::string>, RuntimeError> RuntimeClient::getMapValue(
    const std::string& mapFile, const std::string& key) const {
  auto answer = command("get map " + mapFile + " " + key);
  if (!answer) {
    return Error(answer.error());
  }
  // "type=str, case=sensitive, found=yes, idx=tree, key="k", value="v", type="str"" or
  // "type=str, case=sensitive, found=no"
  const std::string& text = *answer;
  if (text.find("found=no") != std::string::npos) {
    return std::optional<std::string>();
  }
  const auto at = text.find("value=\"");
  if (text.find("found=yes") == std::string::npos || at == std::string::npos) {
    return Error(RuntimeError{"get map " + mapFile + " " + key + ": " + text});
  }
  const auto begin = at + 7;
  const auto end = text.find('"', begin);
  if (end == std::string::npos) {
    return Error(RuntimeError{"get map " + mapFile + " " + key + ": " + text});
  }
  return std::optional<std::string>(text.substr(begin, end - begin));
}

Expected<std::map<std::string, std::string>, RuntimeError> RuntimeClient::showMap(
    const std::string& mapFile) const {
  auto shown = command("show map " + mapFile);
  if (!shown) {
    return Error(shown.error());
  }
  std::map<std::string, std::string> entries;
  std::istringstream lines(*shown);
  std::string lineText;
  while (std::getline(lines, lineText)) {
    if (isBlank(lineText)) {
      continue;
    }
    // "<entry id> <key> <value>"
    std::istringstream fields(lineText);
    std::string id;
    std::string key;
    std::string value;
    if (!(fields >> id >> key >> value) || id.rfind("0x", 0) != 0) {
      return Error(RuntimeError{"show map " + mapFile + ": " + lineText});
    }
    entries[key] = value;
  }
  return entries;
}

}  // namespace sluice::render::haproxy
