// Worker: one background thread that runs a step, waits, and runs it again,
// the shape of every loop in tandem (the ads matching worker, the relay's
// usage summarizer and checkpointer, the feed consumer). Time comes from a
// Clock, so a test drives the waits with a FakeClock.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tandem {

class Worker {
 public:
  // One pass of the loop. Returns how long to wait before the next pass
  // (absl::InfiniteDuration(): until Wake()); Wake() and Stop() end a wait
  // early. Runs on the worker's thread only.
  using Step = std::function<absl::Duration()>;

  // `name` names the thread (at most 15 characters are kept).
  Worker(std::string name, const Clock& clock, Step step);
  ~Worker();  // Stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; the first pass runs at once. Call once.
  void Start();
  // Makes the next pass start now, or right after the one running. Wakes
  // that arrive during one wait are coalesced. Thread-safe.
  void Wake();
  // Lets the pass in progress finish, then ends the thread and joins it.
  // Idempotent; thread-safe, but not from within a step.
  void Stop();
  // True once Stop() was called: a long pass checks it between pieces.
  bool stopping() const;
  // From within a step: waits `d` (a backoff) unless Stop() comes first.
  // Returns false if stopping.
  bool Sleep(absl::Duration d);

  const std::string& name() const { return name_; }

 private:
  void Run();

  const std::string name_;
  const Clock& clock_;
  const Step step_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tandem
