// A reader-writer lock that prefers writers. std::shared_mutex (glibc's default rwlock) lets a
// stream of overlapping readers starve a writer forever — queries arriving back to back would
// block an import. Here a waiting writer holds off new readers, so it waits at most for the
// readers already inside. Meets SharedLockable: use with std::unique_lock / std::shared_lock.
#pragma once

#include <pthread.h>

namespace flowstat::util {

class RwLock {
 public:
  RwLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~RwLock() { pthread_rwlock_destroy(&lock_); }
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace flowstat::util
