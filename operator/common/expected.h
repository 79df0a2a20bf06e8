#pragma once

// A small std::expected stand-in: g++ 12's libstdc++ has no <expected> and Debian bookworm
// packages no tl::expected, so this covers the subset Sluice uses at module boundaries.
// Replace with std::expected when the toolchain moves to C++23.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace sluice {

template <class E>
class Unexpected {
 public:
  explicit Unexpected(E error) : error_(std::move(error)) {}
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

template <class T, class E>
class Expected {
 public:
  Expected() requires std::is_default_constructible_v<T> : storage_(std::in_place_index<0>) {}
  Expected(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  template <class G>
  Expected(Unexpected<G> error)  // NOLINT
      : storage_(std::in_place_index<1>, E(std::move(error).error())) {}

  bool hasValue() const { return storage_.index() == 0; }
  explicit operator bool() const { return hasValue(); }

  T& value() & {
    assert(hasValue());
    return std::get<0>(storage_);
  }
  const T& value() const& {
    assert(hasValue());
    return std::get<0>(storage_);
  }
  T&& value() && {
    assert(hasValue());
    return std::get<0>(std::move(storage_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const& {
    assert(!hasValue());
    return std::get<1>(storage_);
  }
  E&& error() && {
    assert(!hasValue());
    return std::get<1>(std::move(storage_));
  }

  template <class U>
  T valueOr(U&& fallback) const& {
    return hasValue() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, E> storage_;
};

// Expected<void, E>: success carries nothing.
template <class E>
class Expected<void, E> {
 public:
  Expected() = default;
  template <class G>
  Expected(Unexpected<G> error) : error_(E(std::move(error).error())), failed_(true) {}  // NOLINT

  bool hasValue() const { return !failed_; }
  explicit operator bool() const { return hasValue(); }
  const E& error() const& {
    assert(failed_);
    return error_;
  }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace sluice
