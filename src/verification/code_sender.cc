// The development and SMS-gateway code senders.
#include "verification/code_sender.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/log.h"
#include "net/client.h"

namespace tandem::verification {

DevCodeSender::DevCodeSender(std::filesystem::path file, const Clock& clock, std::string service)
    : file_(std::move(file)), event_(service + ".dev_verification_code"), clock_(clock) {}

absl::Status DevCodeSender::Send(const std::string& number, const std::string& code) {
  // The development sender exists so that an operator can read codes; it is
  // the one place a code is written out.
  log::Info(event_, {{"number", number}, {"code", code}});
  std::lock_guard lock(mu_);
  std::ofstream out(file_, std::ios::app);
  out << UtcTimestamp(clock_.Now()) << " " << number << " " << code << "\n";
  out.flush();
  if (!out) return absl::UnavailableError("cannot append to " + file_.string());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HttpCodeSender>> HttpCodeSender::Create(const std::string& url,
                                                                       absl::Duration timeout,
                                                                       std::string service) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    return absl::InvalidArgumentError(service + ".sms_gateway_url must start with http:// (got '" + url +
                                      "')");
  }
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string base = rest.substr(0, slash);
  std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (base.find(':') == std::string::npos) base += ":80";
  return std::unique_ptr<HttpCodeSender>(new HttpCodeSender(base, target, timeout, std::move(service)));
}

absl::Status HttpCodeSender::Send(const std::string& number, const std::string& code) {
  nlohmann::json body = {
      {"to", number}, {"code", code}, {"message", "Your tandem verification code is " + code}};
  net::HttpClient client(base_, timeout_);
  auto res = client.Post(target_, body.dump(), {{"Content-Type", "application/json"}});
  if (!res.ok()) {
    log::Warn(service_ + ".sms_gateway_unreachable", {{"error", std::string(res.status().message())}});
    return absl::UnavailableError("the SMS gateway cannot be reached; try again later");
  }
  if (res->status < 200 || res->status >= 300) {
    log::Warn(service_ + ".sms_gateway_error", {{"status", res->status}});
    return absl::UnavailableError(
        absl::StrCat("the SMS gateway refused the message (HTTP ", res->status, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CodeSender>> MakeCodeSender(const Config& config, const std::string& service,
                                                           const std::filesystem::path& dev_file,
                                                           const Clock& clock) {
  std::string kind = config.GetString(service + ".code_sender");
  if (kind == "dev") return std::make_unique<DevCodeSender>(dev_file, clock, service);
  if (kind == "http") {
    std::string url = config.GetString(service + ".sms_gateway_url");
    if (url.empty()) {
      return absl::InvalidArgumentError(service + ".code_sender = \"http\" needs " + service +
                                        ".sms_gateway_url");
    }
    int64_t timeout_ms = config.GetInt(service + ".sms_gateway_timeout_ms");
    ASSIGN_OR_RETURN(auto sender, HttpCodeSender::Create(url, absl::Milliseconds(timeout_ms), service));
    return std::unique_ptr<CodeSender>(std::move(sender));
  }
  return absl::InvalidArgumentError(service + ".code_sender must be \"dev\" or \"http\", got \"" + kind +
                                    "\"");
}

}  // namespace tandem::verification
