#include "operator/kube/client.h"

namespace sluice::kube {

std::string ApiError::describe() const {
  switch (kind) {
    case Kind::Api:
      return std::to_string(code) + (reason.empty() ? "" : " " + reason) + ": " + message;
    case Kind::Transport:
      return "transport error: " + message;
    case Kind::Decode:
      return "decode error: " + message;
    case Kind::Config:
      return "invalid request: " + message;
    case Kind::Cancelled:
      return "cancelled: " + message;
  }
  return message;
}

}  // namespace sluice::kube
