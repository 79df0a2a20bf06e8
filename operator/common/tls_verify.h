#pragma once

// Why a TLS server certificate was refused, for error messages. cpprestsdk reports a failed
// handshake as "Error in SSL handshake" and drops OpenSSL's reason, so the clients record the
// outcome of the chain verification themselves (an SSL_CTX cert-verify callback that runs
// OpenSSL's own X509_verify_cert and keeps its error). Header-only: its users link OpenSSL.

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <atomic>
#include <memory>
#include <string>

namespace sluice::tls {

class VerifyRecorder {
 public:
  // Installs the recording callback on `ctx`; the recorder must outlive the context (hold it
  // by shared_ptr in the callback that configures the context).
  void attach(SSL_CTX* ctx) {
    SSL_CTX_set_cert_verify_callback(ctx, &VerifyRecorder::verify, this);
  }

  // The last verification's refusal ("unable to get local issuer certificate", ...), or empty
  // when the last one passed (or none ran).
  std::string lastRefusal() const {
    const int state = state_.load();
    if (state == kPassed || state == kNone) {
      return {};
    }
    if (state == kRefusedNoError) {
      return "certificate does not match the host name";
    }
    return X509_verify_cert_error_string(state);
  }

 private:
  static constexpr int kNone = -1;
  static constexpr int kPassed = -2;
  static constexpr int kRefusedNoError = -3;

  static int verify(X509_STORE_CTX* store, void* arg) {
    auto* self = static_cast<VerifyRecorder*>(arg);
    const int ok = X509_verify_cert(store);
    if (ok == 1) {
      self->state_ = kPassed;
    } else {
      const int error = X509_STORE_CTX_get_error(store);
      self->state_ = error == X509_V_OK ? kRefusedNoError : error;
    }
    return ok;
  }

  std::atomic<int> state_{kNone};
};

}  // namespace sluice::tls
