// Delivery of one-time verification codes. Production would call an SMS
// gateway; the development sender writes codes where the operator reads them.
#pragma once

#include <mutex>
#include <string>

#include "common/status.h"

namespace tandem::social {

class CodeSender {
 public:
  virtual ~CodeSender() = default;
  // Delivers `code` to `e164`. Thread-safe.
  virtual absl::Status Send(const std::string& e164, const std::string& code) = 0;
};

// Logs each code (event social.verification_code) and appends
// "<e164> <code>\n" to `path`. For development and tests only.
class DevCodeSender final : public CodeSender {
 public:
  explicit DevCodeSender(std::string path) : path_(std::move(path)) {}
  absl::Status Send(const std::string& e164, const std::string& code) override;

 private:
  std::mutex mu_;
  std::string path_;
};

}  // namespace tandem::social
