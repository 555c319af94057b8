#pragma once

// Result<T>: a value or an Error, shaped like C++23 std::expected (which g++ 12
// only offers under -std=c++23). The core never throws; adapters turn an Error
// into the right answer for their protocol (HTTP 400, a denial, the extender's
// Error field).

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace mpshare::core {

enum class ErrorCode {
  kInvalidArgument,  // the caller sent something malformed or out of range
  kNotFound,         // the thing named does not exist (node, pod, GPU)
  kConflict,         // a check-and-commit lost: the state changed underneath
  kUnavailable,      // not ready yet, try again
  kInternal,         // a broken invariant: a bug
};

// What went wrong, for a person: `field` names the input ("mpshare.io/memory-limit",
// "webhook.minMemoryLimit", "spec.containers[0]"), `message` says what was given
// and what is allowed.
struct Error {
  ErrorCode code = ErrorCode::kInvalidArgument;
  std::string field;
  std::string message;

  // "field: message", or just the message when no field applies.
  [[nodiscard]] std::string describe() const {
    return field.empty() ? message : field + ": " + message;
  }
};

inline Error invalidArgument(std::string field, std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(field), std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  [[nodiscard]] T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  [[nodiscard]] const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  [[nodiscard]] T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace mpshare::core
