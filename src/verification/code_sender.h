// Delivery of one-time verification codes, for the messenger's registration
// ("relay") and the social network's login ("social") alike. A service calls
// Send() once per code it issues; MakeCodeSender() builds the one that the
// config key <service>.code_sender chooses:
//   "dev"  (default) DevCodeSender: logs the code (event
//          <service>.dev_verification_code) and appends
//          "<UTC time> <number> <code>" lines to a file the service names,
//          where an operator (or a test) reads it.
//   "http" HttpCodeSender: POSTs {"to","code","message"} as JSON to
//          <service>.sms_gateway_url (an SMS gateway), waiting at most
//          <service>.sms_gateway_timeout_ms (10000); any 2xx is success.
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

namespace tandem::verification {

class CodeSender {
 public:
  virtual ~CodeSender() = default;
  // Sends `code` to the E.164 `number`. Unavailable if delivery failed.
  virtual absl::Status Send(const std::string& number, const std::string& code) = 0;
};

class DevCodeSender final : public CodeSender {
 public:
  // `service` prefixes the log event ("relay" -> relay.dev_verification_code).
  DevCodeSender(std::filesystem::path file, const Clock& clock, std::string service = "relay");
  absl::Status Send(const std::string& number, const std::string& code) override;

 private:
  std::filesystem::path file_;
  std::string event_;
  const Clock& clock_;
  std::mutex mu_;
};

class HttpCodeSender final : public CodeSender {
 public:
  // `url` is "http://host:port/path" (TLS terminates at a local proxy).
  static absl::StatusOr<std::unique_ptr<HttpCodeSender>> Create(const std::string& url,
                                                                absl::Duration timeout = absl::Seconds(10),
                                                                std::string service = "relay");
  absl::Status Send(const std::string& number, const std::string& code) override;

 private:
  HttpCodeSender(std::string base, std::string target, absl::Duration timeout, std::string service)
      : base_(std::move(base)), target_(std::move(target)), timeout_(timeout), service_(std::move(service)) {}
  std::string base_;    // host:port
  std::string target_;  // /path
  absl::Duration timeout_;
  std::string service_;  // log events
};

// Builds the sender that `config` selects for `service` (see above);
// `dev_file` is where the development sender writes.
absl::StatusOr<std::unique_ptr<CodeSender>> MakeCodeSender(const Config& config, const std::string& service,
                                                           const std::filesystem::path& dev_file,
                                                           const Clock& clock);

}  // namespace tandem::verification
