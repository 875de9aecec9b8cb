// Provisioning addresses and link tokens, in memory.
#include "relay/device_links.h"

#include <openssl/crypto.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"

namespace tandem::relay {
namespace {

constexpr char kUnknownAddress[] = "the link code is unknown or expired";
constexpr char kUnknownToken[] = "the link token is unknown, used or expired";

std::string Hex(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

absl::Status CheckAddress(const std::string& address) {
  // Checked before the lookup so that a malformed one costs no map search
  // and gets a precise error.
  bool hex = address.size() == 32;
  for (char c : address) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!hex) return absl::InvalidArgumentError("a provisioning address is 32 lowercase hex digits");
  return absl::OkStatus();
}

}  // namespace

DeviceLinks::DeviceLinks(AccountService& accounts, const Clock& clock, Random& random,
                         DeviceLinkOptions options)
    : accounts_(accounts),
      clock_(clock),
      random_(random),
      options_(options),
      links_(clock, options.links_per_address, "link requests from this address"),
      polls_(clock, options.polls_per_address, "provisioning polls from this address") {}

std::string DeviceLinks::RandomHex(size_t bytes) {
  std::vector<uint8_t> raw(bytes);
  random_.Fill(raw);
  return Hex(raw);
}

void DeviceLinks::PruneLocked(absl::Time now) {
  while (!address_expiry_.empty() && address_expiry_.front().first <= now) {
    auto it = addresses_.find(address_expiry_.front().second);
    if (it != addresses_.end() && it->second.expires <= now) addresses_.erase(it);
    address_expiry_.pop_front();
  }
  while (!token_expiry_.empty() && token_expiry_.front().first <= now) {
    auto it = tokens_.find(token_expiry_.front().second);
    if (it != tokens_.end() && it->second.expires <= now) {
      auto of = token_of_.find(it->second.account_id);
      if (of != token_of_.end() && of->second == it->first) token_of_.erase(of);
      tokens_.erase(it);
    }
    token_expiry_.pop_front();
  }
}

absl::StatusOr<DeviceLinks::Issued> DeviceLinks::CreateAddress(const std::string& client_address) {
  RETURN_IF_ERROR(links_.Take(absl::StrCat("link:", AddressWithoutPort(client_address))));
  const absl::Time now = clock_.Now();
  std::string address = RandomHex(16);
  std::lock_guard lock(mu_);
  PruneLocked(now);
  // The expiry list holds every address of the last ttl, taken ones too: it
  // bounds the memory, not only the map.
  if (address_expiry_.size() >= options_.max_pending_addresses) {
    return absl::ResourceExhaustedError(
        "too many devices are being linked right now; try again in a few minutes");
  }
  addresses_[address] = Pending{now + options_.ttl, std::nullopt};
  address_expiry_.emplace_back(now + options_.ttl, address);
  return Issued{address, options_.ttl};
}

absl::Status DeviceLinks::PutMessage(const Credentials& who, const std::string& address,
                                     std::string message) {
  if (who.device_id != kPrimaryDeviceId) {
    return absl::PermissionDeniedError("only the primary device links new devices");
  }
  RETURN_IF_ERROR(CheckAddress(address));
  if (message.empty()) return absl::InvalidArgumentError("\"message\" must not be empty");
  if (message.size() > options_.max_message_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("\"message\" must be at most ", options_.max_message_bytes,
                                                   " bytes; got ", message.size()));
  }
  std::lock_guard lock(mu_);
  PruneLocked(clock_.Now());
  auto it = addresses_.find(address);
  if (it == addresses_.end()) return absl::NotFoundError(kUnknownAddress);
  if (it->second.message) {
    return absl::FailedPreconditionError("a provisioning message was stored for this link code already");
  }
  it->second.message = std::move(message);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> DeviceLinks::TakeMessage(const std::string& address,
                                                                    const std::string& client_address) {
  RETURN_IF_ERROR(polls_.Take(absl::StrCat("poll:", AddressWithoutPort(client_address))));
  RETURN_IF_ERROR(CheckAddress(address));
  std::lock_guard lock(mu_);
  PruneLocked(clock_.Now());
  auto it = addresses_.find(address);
  if (it == addresses_.end()) return absl::NotFoundError(kUnknownAddress);
  if (!it->second.message) return std::optional<std::string>();
  std::optional<std::string> out = std::move(it->second.message);
  addresses_.erase(it);
  return out;
}

absl::StatusOr<DeviceLinks::Issued> DeviceLinks::IssueToken(const Credentials& who) {
  if (who.device_id != kPrimaryDeviceId) {
    return absl::PermissionDeniedError("only the primary device links new devices");
  }
  const absl::Time now = clock_.Now();
  std::string token = RandomHex(32);
  std::string hash = Sha256(token);
  std::lock_guard lock(mu_);
  PruneLocked(now);
  if (token_expiry_.size() >= options_.max_pending_tokens) {
    return absl::ResourceExhaustedError(
        "too many devices are being linked right now; try again in a few minutes");
  }
  if (auto of = token_of_.find(who.account_id); of != token_of_.end()) tokens_.erase(of->second);
  tokens_[hash] = Token{now + options_.ttl, who.account_id};
  token_of_[who.account_id] = hash;
  token_expiry_.emplace_back(now + options_.ttl, hash);
  return Issued{token, options_.ttl};
}

absl::StatusOr<DeviceLinks::Linked> DeviceLinks::Link(const LinkRequest& request) {
  RETURN_IF_ERROR(links_.Take(absl::StrCat("link:", AddressWithoutPort(request.client_address))));
  if (request.token.size() != 64) return absl::PermissionDeniedError(kUnknownToken);
  const std::string hash = Sha256(request.token);
  // Taken out while the device is added, so that two requests with one
  // token cannot both link; put back if the link fails.
  Token token;
  {
    std::lock_guard lock(mu_);
    PruneLocked(clock_.Now());
    auto it = tokens_.find(hash);
    if (it == tokens_.end()) return absl::PermissionDeniedError(kUnknownToken);
    token = it->second;
    tokens_.erase(it);
  }
  auto restore = [&] {
    std::lock_guard lock(mu_);
    if (token.expires <= clock_.Now()) return;
    // Unless the primary asked for a new token meanwhile.
    auto of = token_of_.find(token.account_id);
    if (of != token_of_.end() && of->second == hash) tokens_[hash] = token;
  };
  Credentials account;
  account.account_id = token.account_id;
  absl::StatusOr<AccountService::AccountInfo> info = accounts_.GetAccountInfo(account);
  if (!info.ok()) {
    restore();
    return info.status().code() == absl::StatusCode::kNotFound ? absl::PermissionDeniedError(kUnknownToken)
                                                               : info.status();
  }
  if (request.identity_key.size() != info->identity_key.size() ||
      CRYPTO_memcmp(request.identity_key.data(), info->identity_key.data(), info->identity_key.size()) != 0) {
    restore();
    return absl::FailedPreconditionError(
        "identity_key is not the account's: the new device must use the identity the primary device sent");
  }
  absl::StatusOr<Credentials> added = accounts_.AddLinkedDevice(token.account_id, request.registration_id);
  if (!added.ok()) {
    restore();
    return added.status();
  }
  {
    std::lock_guard lock(mu_);
    auto of = token_of_.find(token.account_id);
    if (of != token_of_.end() && of->second == hash) token_of_.erase(of);
  }
  return Linked{*std::move(added), info->number};
}

size_t DeviceLinks::pending_addresses() const {
  std::lock_guard lock(mu_);
  return addresses_.size();
}

}  // namespace tandem::relay
