#include "operator/kube/test/test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace sluice::kube::testing {
namespace {

std::string pemOf(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string pemOf(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

void addExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr)
    throw std::runtime_error("X509V3_EXT_conf_nid failed");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* makeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuerKey, bool isCa,
               long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : cert;
  if (isCa) {
    addExt(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    addExt(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    addExt(cert, signer, NID_subject_key_identifier, "hash");
  } else {
    addExt(cert, signer, NID_basic_constraints, "CA:FALSE");
    addExt(cert, signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    addExt(cert, signer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  X509_sign(cert, issuerKey != nullptr ? issuerKey : key, EVP_sha256());
  return cert;
}

std::string urlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string reasonPhrase(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

class SslWriter final : public ChunkWriter {
 public:
  explicit SslWriter(SSL* ssl) : ssl_(ssl) {}
  bool write(const std::string& data) override { return writeRaw(data); }
  bool writeRaw(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      int n = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
      if (n <= 0)
        return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  SSL* ssl_;
};

class ChunkedWriter final : public ChunkWriter {
 public:
  explicit ChunkedWriter(SslWriter& raw) : raw_(raw) {}
  bool write(const std::string& data) override {
    if (data.empty())
      return true;
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    return raw_.writeRaw(size + data + "\r\n");
  }

 private:
  SslWriter& raw_;
};

}  // namespace

TestPki TestPki::create(const std::string& caName) {
  TestPki pki;
  EVP_PKEY* caKey = EVP_EC_gen("P-256");
  X509* ca = makeCert(caKey, caName, nullptr, nullptr, true, 1);
  EVP_PKEY* serverKey = EVP_EC_gen("P-256");
  X509* server = makeCert(serverKey, "127.0.0.1", ca, caKey, false, 2);
  pki.ca = {pemOf(ca), pemOf(caKey)};
  pki.server = {pemOf(server), pemOf(serverKey)};
  X509_free(server);
  EVP_PKEY_free(serverKey);
  X509_free(ca);
  EVP_PKEY_free(caKey);
  return pki;
}

std::string statusBody(int code, const std::string& reason, const std::string& message) {
  return nlohmann::json{{"kind", "Status"},
                        {"apiVersion", "v1"},
                        {"status", "Failure"},
                        {"code", code},
                        {"reason", reason},
                        {"message", message},
                        {"metadata", nlohmann::json::object()}}
      .dump();
}

int unusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TestHttpsServer::TestHttpsServer(const Pem& serverCert, Handler handler)
    : handler_(std::move(handler)) {
  // A client hanging up mid-response must not kill the test process.
  ::signal(SIGPIPE, SIG_IGN);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  BIO* certBio = BIO_new_mem_buf(serverCert.cert.data(), static_cast<int>(serverCert.cert.size()));
  X509* cert = PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr);
  BIO* keyBio = BIO_new_mem_buf(serverCert.key.data(), static_cast<int>(serverCert.key.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr);
  if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    throw std::runtime_error("test server: bad certificate or key");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(certBio);
  BIO_free(keyBio);
  ctx_ = ctx;

  listenFd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listenFd_, 64) != 0) {
    throw std::runtime_error("test server: bind/listen failed");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptThread_ = std::thread([this] { acceptLoop(); });
}

TestHttpsServer::~TestHttpsServer() {
  stopping_ = true;
  ::shutdown(listenFd_, SHUT_RDWR);
  acceptThread_.join();
  ::close(listenFd_);
  {
    std::lock_guard lock(mu_);
    for (int fd : connections_)
      ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : threads_)
    t.join();
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

std::vector<HttpRequest> TestHttpsServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t TestHttpsServer::requestCount() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

void TestHttpsServer::acceptLoop() {
  while (!stopping_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    int fd = ::accept(listenFd_, nullptr, nullptr);
    if (fd < 0)
      continue;
    std::lock_guard lock(mu_);
    connections_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void TestHttpsServer::serve(int fd) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    std::string buffer;
    bool open = true;
    while (open && !stopping_) {
      size_t headerEnd;
      while ((headerEnd = buffer.find("\r\n\r\n")) == std::string::npos) {
        char chunk[4096];
        int n = SSL_read(ssl, chunk, sizeof(chunk));
        if (n <= 0) {
          open = false;
          break;
        }
        buffer.append(chunk, static_cast<size_t>(n));
      }
      if (!open)
        break;
      HttpRequest req;
      std::string head = buffer.substr(0, headerEnd);
      buffer.erase(0, headerEnd + 4);
      size_t lineEnd = head.find("\r\n");
      std::string requestLine = head.substr(0, lineEnd);
      auto sp1 = requestLine.find(' ');
      auto sp2 = requestLine.find(' ', sp1 + 1);
      req.method = requestLine.substr(0, sp1);
      req.target = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
      auto q = req.target.find('?');
      req.path = req.target.substr(0, q);
      if (q != std::string::npos) {
        std::string query = req.target.substr(q + 1);
        size_t pos = 0;
        while (pos <= query.size()) {
          auto amp = query.find('&', pos);
          std::string kv =
              query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
          auto eq = kv.find('=');
          if (!kv.empty()) {
            req.query[urlDecode(kv.substr(0, eq))] =
                eq == std::string::npos ? "" : urlDecode(kv.substr(eq + 1));
          }
          if (amp == std::string::npos)
            break;
          pos = amp + 1;
        }
      }
      size_t pos = lineEnd == std::string::npos ? head.size() : lineEnd + 2;
      while (pos < head.size()) {
        auto end = head.find("\r\n", pos);
        if (end == std::string::npos)
          end = head.size();
        std::string line = head.substr(pos, end - pos);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          req.headers[name] = value;
        }
        pos = end + 2;
      }
      size_t contentLength = 0;
      if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
        contentLength = std::stoul(it->second);
      }
      while (buffer.size() < contentLength) {
        char chunk[4096];
        int n = SSL_read(ssl, chunk, sizeof(chunk));
        if (n <= 0) {
          open = false;
          break;
        }
        buffer.append(chunk, static_cast<size_t>(n));
      }
      if (!open)
        break;
      req.body = buffer.substr(0, contentLength);
      buffer.erase(0, contentLength);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      HttpResponse resp = handler_(req);
      SslWriter raw(ssl);
      std::string out = "HTTP/1.1 " + std::to_string(resp.code) + " " + reasonPhrase(resp.code) +
                        "\r\nContent-Type: " + resp.contentType + "\r\n";
      for (const auto& [k, v] : resp.headers)
        out += k + ": " + v + "\r\n";
      if (resp.stream) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        if (!raw.writeRaw(out))
          break;
        ChunkedWriter chunked(raw);
        resp.stream(chunked);
        raw.writeRaw("0\r\n\r\n");
        open = false;
      } else {
        out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n" + resp.body;
        if (!raw.writeRaw(out))
          break;
      }
    }
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  {
    std::lock_guard lock(mu_);
    connections_.erase(std::remove(connections_.begin(), connections_.end(), fd),
                       connections_.end());
  }
  ::close(fd);
}

}  // namespace sluice::kube::testing
