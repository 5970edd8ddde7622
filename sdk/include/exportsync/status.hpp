// Status and Result<T>: how an expected failure travels as a value (STYLE.md §3).
//
// A Status is OK or an error code with a one-line message that says what, where and what to
// do. Result<T> is a T or a failed Status. Both are [[nodiscard]]: ignoring one is a bug.
//
// THREAD: values; no shared state.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "exportsync/plugin_abi.h"

namespace exportsync {

/// Error categories; values match ES_ERR_* in plugin_abi.h.
enum class Code : int32_t {
  Ok = ES_OK,
  Invalid = ES_ERR_INVALID,
  Config = ES_ERR_CONFIG,
  Io = ES_ERR_IO,
  Cancelled = ES_ERR_CANCELLED,
  Schema = ES_ERR_SCHEMA,
  Internal = ES_ERR_INTERNAL,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid(std::string m) { return {Code::Invalid, std::move(m)}; }
  static Status config(std::string m) { return {Code::Config, std::move(m)}; }
  static Status io(std::string m) { return {Code::Io, std::move(m)}; }
  static Status cancelled(std::string m) { return {Code::Cancelled, std::move(m)}; }
  static Status schema(std::string m) { return {Code::Schema, std::move(m)}; }
  static Status internal(std::string m) { return {Code::Internal, std::move(m)}; }

  bool isOk() const { return code_ == Code::Ok; }
  explicit operator bool() const { return isOk(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  /// Returns a copy whose message is prefixed with `context: `.
  Status withContext(const std::string& context) const {
    return isOk() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Code code_ = Code::Ok;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.isOk()) {
      status_ = Status::internal("Result built from an OK status without a value");
    }
  }

  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status& status() const { return status_; }
  /// Precondition: isOk().
  T& value() & {
    if (!value_) {
      std::abort();
    }
    return *value_;
  }
  const T& value() const& {
    if (!value_) {
      std::abort();
    }
    return *value_;
  }
  T&& value() && {
    if (!value_) {
      std::abort();
    }
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace exportsync
