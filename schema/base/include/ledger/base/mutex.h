// A mutex the compiler can check. In clang builds (the fuzz build; -Wthread-safety) the
// thread-safety analysis proves that a member marked LEDGER_GUARDED_BY(mu) is touched
// only with `mu` held, and that a function marked LEDGER_REQUIRES(mu) is called so.
// Other compilers read the annotations as comments.
#pragma once

#include <mutex>

#if defined(__clang__)
#define LEDGER_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LEDGER_THREAD_ANNOTATION(x)
#endif

#define LEDGER_CAPABILITY(x) LEDGER_THREAD_ANNOTATION(capability(x))
#define LEDGER_SCOPED_CAPABILITY LEDGER_THREAD_ANNOTATION(scoped_lockable)
#define LEDGER_GUARDED_BY(x) LEDGER_THREAD_ANNOTATION(guarded_by(x))
#define LEDGER_REQUIRES(...) LEDGER_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define LEDGER_ACQUIRE(...) LEDGER_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define LEDGER_RELEASE(...) LEDGER_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define LEDGER_EXCLUDES(...) LEDGER_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

namespace ledger {

class LEDGER_CAPABILITY("mutex") Mutex {
 public:
  void Lock() LEDGER_ACQUIRE() { mu_.lock(); }
  void Unlock() LEDGER_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class LEDGER_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) LEDGER_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() LEDGER_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace ledger
