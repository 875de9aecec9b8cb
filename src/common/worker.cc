// Worker's loop.
#include "common/worker.h"

#include <pthread.h>

namespace tandem {

Worker::Worker(std::string name, const Clock& clock, Step step)
    : name_(std::move(name)), clock_(clock), step_(std::move(step)) {}

Worker::~Worker() { Stop(); }

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), name_.substr(0, 15).c_str());
}

void Worker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Worker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Worker::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool Worker::Sleep(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !clock_.WaitFor(lock, cv_, d, [this] { return stopping_; });
}

void Worker::Run() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    const absl::Duration wait = step_();
    std::unique_lock<std::mutex> lock(mu_);
    const absl::Duration deadline =
        wait == absl::InfiniteDuration() ? absl::InfiniteDuration() : clock_.Monotonic() + wait;
    clock_.WaitUntil(lock, cv_, deadline, [this] { return woken_ || stopping_; });
  }
}

}  // namespace tandem
