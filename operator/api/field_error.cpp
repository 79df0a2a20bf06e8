#include "operator/api/field_error.h"

namespace sluice::api {

std::string FieldError::toString() const {
  if (path.empty()) {
    return message;
  }
  return path + ": " + message;
}

bool ValidationErrors::hasErrorAt(const std::string& path) const {
  for (const auto& e : errors) {
    if (isPathWithin(e.path, path)) {
      return true;
    }
  }
  return false;
}

std::string ValidationErrors::toString() const {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) {
      out += "; ";
    }
    out += e.toString();
  }
  return out;
}

std::string childPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string indexPath(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

bool isPathWithin(const std::string& path, const std::string& ancestor) {
  if (ancestor.empty()) {
    return true;
  }
  if (path.size() < ancestor.size() || path.compare(0, ancestor.size(), ancestor) != 0) {
    return false;
  }
  return path.size() == ancestor.size() || path[ancestor.size()] == '.' ||
         path[ancestor.size()] == '[';
}

}  // namespace sluice::api
