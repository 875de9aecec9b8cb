// Delivery of verification codes. The relay calls Send() once per code
// request; implementations are chosen by the config key relay.code_sender:
//   "dev"  (default) DevCodeSender: logs the code and appends
//          "<time> <number> <code>" to <data_dir>/verification-codes.log,
//          where an operator (or a test) reads it.
//   "http" HttpCodeSender: POSTs {"to","code","message"} as JSON to
//          relay.sms_gateway_url (an SMS gateway); any 2xx is success.
// Thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"

namespace tandem::relay {

class CodeSender {
 public:
  virtual ~CodeSender() = default;
  // Sends `code` to the E.164 `number`. Unavailable if delivery failed.
  virtual absl::Status Send(const std::string& number, const std::string& code) = 0;
};

class DevCodeSender final : public CodeSender {
 public:
  DevCodeSender(std::filesystem::path file, const Clock& clock);
  absl::Status Send(const std::string& number, const std::string& code) override;

 private:
  std::filesystem::path file_;
  const Clock& clock_;
  std::mutex mu_;
};

class HttpCodeSender final : public CodeSender {
 public:
  // `url` is "http://host:port/path" (TLS terminates at a local proxy).
  static absl::StatusOr<std::unique_ptr<HttpCodeSender>> Create(const std::string& url,
                                                               absl::Duration timeout = absl::Seconds(10));
  absl::Status Send(const std::string& number, const std::string& code) override;

 private:
  HttpCodeSender(std::string base, std::string target, absl::Duration timeout)
      : base_(std::move(base)), target_(std::move(target)), timeout_(timeout) {}
  std::string base_;    // host:port
  std::string target_;  // /path
  absl::Duration timeout_;
};

// Builds the sender that `config` selects (see above).
absl::StatusOr<std::unique_ptr<CodeSender>> MakeCodeSender(const Config& config,
                                                           const std::filesystem::path& data_dir,
                                                           const Clock& clock);

}  // namespace tandem::relay
