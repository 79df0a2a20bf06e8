#pragma once

// Validation problems reported the way kube-apiserver reports field errors, so a user reading
// a condition message or an operator log sees the same shape as a rejected `kubectl apply`.

#include <string>
#include <utility>
#include <vector>

namespace sluice::api {

struct FieldError {
  std::string path;  // e.g. "spec.steps[2]"
  std::string message;

  // "spec.steps[2]: must be greater than 25"
  std::string toString() const;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

struct ValidationErrors {
  std::vector<FieldError> errors;

  bool empty() const { return errors.empty(); }
  std::size_t size() const { return errors.size(); }
  void add(std::string path, std::string message) {
    errors.push_back(FieldError{std::move(path), std::move(message)});
  }
  void append(const ValidationErrors& other) {
    errors.insert(errors.end(), other.errors.begin(), other.errors.end());
  }
  // True when some error's path is `path` or lies beneath it ("spec.steps" matches
  // "spec.steps[2]" and "spec.steps", not "spec.stepsX").
  bool hasErrorAt(const std::string& path) const;
  // Every error, joined by "; " (one line, suitable for a condition message).
  std::string toString() const;
};

// Path helpers: child("spec", "steps") == "spec.steps", index("spec.steps", 2) == "spec.steps[2]".
std::string childPath(const std::string& parent, const std::string& key);
std::string indexPath(const std::string& parent, std::size_t index);
// True when `path` is `ancestor` or lies beneath it: "spec.steps[2]" is within "spec.steps"
// and within "spec", but "spec.stepsX" is not within "spec.steps".
bool isPathWithin(const std::string& path, const std::string& ancestor);

}  // namespace sluice::api
