// flowstat/status.h — the error model of the library.
//
// Every fallible call returns a Status (or a Result<T>, a Status plus a value). No exception ever
// crosses the library boundary: internal failures, including allocation failures, are converted
// into a Status before a public call returns.
//
// Thread safety: Status and Result are plain values; distinct objects may be used from distinct
// threads without synchronization.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace flowstat {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's input is malformed (bad event, bad query parameter)
    kNotFound,         // no store at the given directory
    kCorruption,       // stored bytes fail a check: refused, never misread
    kIOError,          // the file system or RocksDB failed
    kIncompatible,     // the directory is not a flowstat store, or of another format version
    kBusy,             // another process holds the store open for writing
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Incompatible(std::string msg) { return Status(Code::kIncompatible, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // A one-line human readable reason; empty when ok().
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
// REQUIRES: value() only when ok().
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  T& operator*() { return *value_; }
  const T* operator->() const { return &*value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace flowstat
