// The server's threads: one per open connection, up to a bound.
//
// cpp-httplib serves a connection on one thread from accept to close, and a connection that
// sends nothing still holds its thread until the keep-alive timeout. With a fixed pool, a few
// hundred idle or slow clients would leave nothing for the others. This pool starts a new thread
// whenever no thread is idle, up to `max_threads`, so an idle client ties up only its own thread;
// beyond the bound, connections wait in the queue for the first thread to come free.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace flowstat::server {

class ConnectionPool final : public httplib::TaskQueue {
 public:
  ConnectionPool(size_t min_threads, size_t max_threads) : max_threads_(max_threads) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < min_threads; ++i) StartThread();
  }
  ~ConnectionPool() override { shutdown(); }

  void enqueue(std::function<void()> task) override {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
    if (idle_ < tasks_.size() && threads_.size() < max_threads_) StartThread();
    work_.notify_one();
  }

  // Runs the tasks already queued, then joins every thread.
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    work_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  size_t threads() {
    std::lock_guard lock(mu_);
    return threads_.size();
  }

 private:
  void StartThread() {  // REQUIRES: mu_ held
    threads_.emplace_back([this] { Work(); });
  }

  void Work() {
    std::unique_lock lock(mu_);
    while (true) {
      ++idle_;
      work_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      --idle_;
      if (tasks_.empty()) return;  // stopping, nothing left
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  const size_t max_threads_;
  std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  std::vector<std::thread> threads_;         // guarded by mu_ (joined after stopping_)
  size_t idle_ = 0;                          // guarded by mu_: threads waiting for a task
  bool stopping_ = false;                    // guarded by mu_
};

}  // namespace flowstat::server
