// A code sender for tests: remembers the last code sent to each number,
// counts what it sent, and can be told to fail like a gateway that is down.
// Header-only; include it from tests of any component that sends codes.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "verification/code_sender.h"

namespace tandem::testing {

class CapturingSender final : public verification::CodeSender {
 public:
  absl::Status Send(const std::string& number, const std::string& code) override {
    std::lock_guard lock(mu_);
    codes_[number] = code;
    ++sent_;
    return fail_ ? absl::UnavailableError("gateway down") : absl::OkStatus();
  }
  // The last code sent to `number` ("" if none).
  std::string CodeFor(const std::string& number) {
    std::lock_guard lock(mu_);
    return codes_[number];
  }
  // How many codes were sent, failed ones included.
  int sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  // From now on, each Send fails with Unavailable "gateway down".
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> codes_ ABSL_GUARDED_BY(mu_);
  int sent_ ABSL_GUARDED_BY(mu_) = 0;
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tandem::testing
