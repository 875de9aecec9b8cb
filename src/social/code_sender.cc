// The development code sender.
#include "social/code_sender.h"

#include <fstream>

#include "common/log.h"

namespace tandem::social {

absl::Status DevCodeSender::Send(const std::string& e164, const std::string& code) {
  log::Info("social.verification_code", {{"phone", e164}, {"code", code}});
  std::lock_guard lock(mu_);
  std::ofstream out(path_, std::ios::app);
  out << e164 << " " << code << "\n";
  out.flush();
  if (!out) return absl::UnavailableError("cannot write verification code log " + path_);
  return absl::OkStatus();
}

}  // namespace tandem::social
