// Errors as values: Status (an errno, 0 = ok) and Result<T> (a T or an errno).
// Used across module boundaries; no exceptions on the I/O path.
#pragma once
#include <cassert>
#include <cerrno>
#include <utility>
#include <variant>

namespace pnfsgw {

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(int err) { return Status(err); }
  bool is_ok() const { return err_ == 0; }
  explicit operator bool() const { return is_ok(); }
  int err() const { return err_; }

 private:
  explicit Status(int err) : err_(err) {}
  int err_ = 0;
};

// Carries a T on success or a positive errno on failure.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status st) : v_(st.err()) { assert(!st.is_ok()); }
  static Result error(int err) { return Result(Status::error(err)); }

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  int err() const { return is_ok() ? 0 : std::get<1>(v_); }
  Status status() const { return is_ok() ? Status() : Status::error(err()); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, int> v_;
};

}  // namespace pnfsgw
