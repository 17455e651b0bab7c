// WriterSlot: the right to write to a store, held by one writer at a time.
//
// Unlike a mutex it may be released by another thread than the one that took it (a bulk loader
// is created on one thread and may be destroyed on another), and it knows which thread took it,
// so that a writer calling back into the store from its own thread gets a clear refusal instead
// of waiting for itself forever.
//
// Methods that need the slot take a `const WriterLease&`: holding a lease is the proof.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace flowstat::util {

class WriterSlot;

// Holds a WriterSlot from construction until destruction (or until moved from).
class WriterLease {
 public:
  WriterLease(WriterLease&& other) noexcept : slot_(std::exchange(other.slot_, nullptr)) {}
  WriterLease& operator=(WriterLease&&) = delete;
  WriterLease(const WriterLease&) = delete;
  ~WriterLease();

 private:
  friend class WriterSlot;
  explicit WriterLease(WriterSlot* slot) : slot_(slot) {}
  WriterSlot* slot_;
};

class WriterSlot {
 public:
  // Waits until no one holds the slot and takes it. Returns false at once, without waiting,
  // when the calling thread already holds it (waiting would never end).
  bool Enter(std::optional<WriterLease>* lease) {
    std::unique_lock lock(mu_);
    if (held_ && owner_ == std::this_thread::get_id()) return false;
    released_.wait(lock, [&] { return !held_; });
    held_ = true;
    owner_ = std::this_thread::get_id();
    lease->emplace(WriterLease(this));
    return true;
  }

 private:
  friend class WriterLease;
  void Leave() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
      owner_ = std::thread::id();
    }
    released_.notify_one();
  }

  std::mutex mu_;
  std::condition_variable released_;
  bool held_ = false;      // guarded by mu_
  std::thread::id owner_;  // guarded by mu_: the thread that took the slot
};

inline WriterLease::~WriterLease() {
  if (slot_) slot_->Leave();
}

}  // namespace flowstat::util
