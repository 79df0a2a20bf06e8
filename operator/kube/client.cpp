#include "operator/kube/client.h"

#include <algorithm>

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

Result<ObjectList> Reader::listIndexed(const Resource& resource, const std::string& ns,
                                       const Index& index, const std::string& value) {
  auto listed = list(resource, ns, {});
  if (!listed) {
    return listed;
  }
  ObjectList out;
  out.resourceVersion = std::move(listed->resourceVersion);
  for (auto& object : listed->items) {
    const auto values = index.values(object);
    if (std::find(values.begin(), values.end(), value) != values.end()) {
      out.items.push_back(std::move(object));
    }
  }
  return out;
}

}  // namespace sluice::kube
