// Errors as values: Status says whether an operation succeeded and, if not, why;
// Result<T> carries either a value or a failed Status. Exceptions stay in main().
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ledger {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk, kInvalidInput, kNotFound, kTooLarge, kCorruption, kIoError, kUnavailable, kRefused, kFatal };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string msg) { return {Code::kInvalidInput, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  // A well-formed question whose answer is beyond a bound (rows scanned, time): narrow it.
  static Status TooLarge(std::string msg) { return {Code::kTooLarge, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  // A broker refused the client: its credentials (authentication) or an ACL (authorization).
  static Status Refused(std::string msg) { return {Code::kRefused, std::move(msg)}; }
  static Status Fatal(std::string msg) { return {Code::kFatal, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}            // NOLINT: implicit by design
  // A Result holds a value or an error. Made from an OK status it would hold neither, so
  // it holds a kFatal error that says so instead (as Abseil's StatusOr does): a caller
  // that forgot the value fails loudly rather than reading one that is not there.
  Result(Status status)  // NOLINT: implicit by design
      : status_(status.ok() ? Status::Fatal("internal error: a Result was made from an OK status, without a value")
                            : std::move(status)) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace ledger
