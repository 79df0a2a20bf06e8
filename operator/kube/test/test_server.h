#pragma once

// Test-only HTTPS server on 127.0.0.1 with a CA made in-process, so client tests exercise real
// TLS verification, chunked watch streams and connection handling.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::kube::testing {

struct Pem {
  std::string cert;
  std::string key;
};

// A self-signed CA and a server certificate for 127.0.0.1 / localhost signed by it.
struct TestPki {
  Pem ca;
  Pem server;
  static TestPki create(const std::string& caName = "sluice-test-ca");
};

struct HttpRequest {
  std::string method;
  std::string target;  // path?query, as sent
  std::string path;
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  // False once the peer is gone.
  virtual bool write(const std::string& data) = 0;
};

struct HttpResponse {
  int code = 200;
  std::string body;
  std::string contentType = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // If set, the body is sent chunked by this function; the connection closes when it returns.
  std::function<void(ChunkWriter&)> stream;
};

inline HttpResponse reply(int code, std::string body) {
  HttpResponse r;
  r.code = code;
  r.body = std::move(body);
  return r;
}

class TestHttpsServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  TestHttpsServer(const Pem& serverCert, Handler handler);
  ~TestHttpsServer();
  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::vector<HttpRequest> requests() const;
  size_t requestCount() const;
  bool stopping() const { return stopping_.load(); }

 private:
  void acceptLoop();
  void serve(int fd);

  Handler handler_;
  void* ctx_ = nullptr;  // SSL_CTX*
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
  std::vector<int> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptThread_;
};

// A port with nothing listening (bound then released).
int unusedPort();

std::string statusBody(int code, const std::string& reason, const std::string& message);

}  // namespace sluice::kube::testing
