// Clang thread-safety annotations (-Wthread-safety), as LevelDB's port/thread_annotations.h
// spells them. Under GCC they expand to nothing; CI builds with clang so that every access to a
// GUARDED_BY member outside its lock is a compile error there.
#pragma once

#include <mutex>

#if defined(__clang__)
#define FLOWSTAT_TSA(x) __attribute__((x))
#else
#define FLOWSTAT_TSA(x)
#endif

#define CAPABILITY(x) FLOWSTAT_TSA(capability(x))
#define SCOPED_CAPABILITY FLOWSTAT_TSA(scoped_lockable)
#define GUARDED_BY(x) FLOWSTAT_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) FLOWSTAT_TSA(pt_guarded_by(x))
#define REQUIRES(...) FLOWSTAT_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) FLOWSTAT_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) FLOWSTAT_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) FLOWSTAT_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) FLOWSTAT_TSA(try_acquire_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) FLOWSTAT_TSA(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS FLOWSTAT_TSA(no_thread_safety_analysis)

namespace flowstat::util {

// std::mutex with the annotations the analysis needs (libstdc++'s has none).
class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// std::lock_guard for Mutex.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() RELEASE() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace flowstat::util
