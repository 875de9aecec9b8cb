// In-memory account directory.
#include "relay/directory.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace tandem::relay {

PasswordHash HashPassword(std::string_view password) {
  PasswordHash out;
  SHA256(reinterpret_cast<const unsigned char*>(password.data()), password.size(), out.data());
  return out;
}

void Directory::PutDevice(uint64_t account_id, const std::string& number, uint32_t device_id,
                          const PasswordHash& hash, uint32_t registration_id) {
  std::lock_guard lock(mu_);
  Account& a = accounts_[account_id];
  if (a.number != number) {
    if (!a.number.empty()) by_number_.erase(a.number);
    a.number = number;
    by_number_[number] = account_id;
  }
  Device& d = a.devices[device_id];
  d.password_hash = hash;
  d.registration_id = registration_id;
}

void Directory::ClearDevices(uint64_t account_id) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it != accounts_.end()) it->second.devices.clear();
}

void Directory::RemoveAccount(uint64_t account_id) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return;
  by_number_.erase(it->second.number);
  accounts_.erase(it);
}

std::optional<uint64_t> Directory::AccountForNumber(const std::string& e164) const {
  std::lock_guard lock(mu_);
  auto it = by_number_.find(e164);
  if (it == by_number_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Directory::NumberOf(uint64_t account_id) const {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return std::nullopt;
  return it->second.number;
}

bool Directory::HasDevice(uint64_t account_id, uint32_t device_id) const {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  return it != accounts_.end() && it->second.devices.count(device_id) > 0;
}

std::optional<uint32_t> Directory::RegistrationIdOf(uint64_t account_id, uint32_t device_id) const {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return std::nullopt;
  auto d = it->second.devices.find(device_id);
  if (d == it->second.devices.end()) return std::nullopt;
  return d->second.registration_id;
}

size_t Directory::account_count() const {
  std::lock_guard lock(mu_);
  return accounts_.size();
}

absl::Status Directory::Authenticate(const Credentials& credentials) const {
  PasswordHash given = HashPassword(credentials.password);
  PasswordHash stored{};
  bool found = false;
  {
    std::lock_guard lock(mu_);
    auto it = accounts_.find(credentials.account_id);
    if (it != accounts_.end()) {
      auto d = it->second.devices.find(credentials.device_id);
      if (d != it->second.devices.end()) {
        stored = d->second.password_hash;
        found = true;
      }
    }
  }
  // Compare even when the device is unknown so both failures take as long.
  bool equal = CRYPTO_memcmp(given.data(), stored.data(), given.size()) == 0;
  if (!found || !equal) return absl::UnauthenticatedError("invalid credentials");
  return absl::OkStatus();
}

bool Directory::ReserveQueueSlot(uint64_t account_id, uint32_t device_id, int64_t limit) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return false;
  auto d = it->second.devices.find(device_id);
  if (d == it->second.devices.end() || d->second.queue_depth >= limit) return false;
  ++d->second.queue_depth;
  return true;
}

void Directory::ReleaseQueueSlots(uint64_t account_id, uint32_t device_id, int64_t n) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return;
  auto d = it->second.devices.find(device_id);
  if (d == it->second.devices.end()) return;
  // Concurrent re-registration may have reset the counter; never go below 0.
  d->second.queue_depth = std::max<int64_t>(0, d->second.queue_depth - n);
}

void Directory::SetQueueDepth(uint64_t account_id, uint32_t device_id, int64_t depth) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return;
  auto d = it->second.devices.find(device_id);
  if (d != it->second.devices.end()) d->second.queue_depth = depth;
}

int64_t Directory::QueueDepth(uint64_t account_id, uint32_t device_id) const {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return 0;
  auto d = it->second.devices.find(device_id);
  return d == it->second.devices.end() ? 0 : d->second.queue_depth;
}

}  // namespace tandem::relay
