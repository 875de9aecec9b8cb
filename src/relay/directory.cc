// In-memory account directory.
#include "relay/directory.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/encoding.h"
#include "common/error_codes.h"

namespace tandem::relay {

PasswordHash HashPassword(std::string_view password) {
  const std::string digest = Sha256(password);
  PasswordHash out;
  std::copy(digest.begin(), digest.end(), out.begin());
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

Directory::Device* Directory::FindDevice(uint64_t account_id, uint32_t device_id) {
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return nullptr;
  auto d = it->second.devices.find(device_id);
  return d == it->second.devices.end() ? nullptr : &d->second;
}

const Directory::Device* Directory::FindDevice(uint64_t account_id, uint32_t device_id) const {
  return const_cast<Directory*>(this)->FindDevice(account_id, device_id);
}

std::vector<uint64_t> Directory::QueuedOf(const Account& account) {
  std::vector<uint64_t> ids;
  for (const auto& [id, device] : account.devices)
    ids.insert(ids.end(), device.queued.begin(), device.queued.end());
  return ids;
}

std::vector<uint64_t> Directory::ClearDevices(uint64_t account_id, int64_t at_ms) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return {};
  std::vector<uint64_t> ids = QueuedOf(it->second);
  for (const auto& [device_id, device] : it->second.devices) {
    RetireLocked(it->second, device_id, device.password_hash, at_ms, false);
  }
  it->second.devices.clear();
  return ids;
}

void Directory::RetireDevice(uint64_t account_id, uint32_t device_id, const PasswordHash& hash, int64_t at_ms,
                             bool removed) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it != accounts_.end()) RetireLocked(it->second, device_id, hash, at_ms, removed);
}

std::optional<std::vector<uint64_t>> Directory::RemoveDevice(uint64_t account_id, uint32_t device_id,
                                                             int64_t at_ms) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return std::nullopt;
  auto d = it->second.devices.find(device_id);
  if (d == it->second.devices.end()) return std::nullopt;
  std::vector<uint64_t> ids(d->second.queued.begin(), d->second.queued.end());
  RetireLocked(it->second, device_id, d->second.password_hash, at_ms, true);
  it->second.devices.erase(d);
  return ids;
}

void Directory::RetireLocked(Account& account, uint32_t device_id, const PasswordHash& hash, int64_t at_ms,
                             bool removed) {
  auto& list = account.retired[device_id];
  list.push_back(Retired{hash, at_ms, removed});
  std::sort(list.begin(), list.end(), [](const Retired& a, const Retired& b) { return a.at_ms < b.at_ms; });
  if (list.size() > kRetiredPerDevice) list.erase(list.begin(), list.end() - kRetiredPerDevice);
}

std::vector<uint64_t> Directory::RemoveAccount(uint64_t account_id) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return {};
  std::vector<uint64_t> ids = QueuedOf(it->second);
  by_number_.erase(it->second.number);
  accounts_.erase(it);
  return ids;
}

std::optional<uint64_t> Directory::AccountForNumber(const std::string& e164) const {
  return Batch(const_cast<Directory&>(*this)).AccountForNumber(e164);
}

std::optional<uint64_t> Directory::Batch::AccountForNumber(const std::string& e164) const {
  auto it = d_.by_number_.find(e164);
  if (it == d_.by_number_.end()) return std::nullopt;
  return it->second;
}

bool Directory::Batch::HasAccount(uint64_t account_id) const { return d_.accounts_.contains(account_id); }

std::optional<std::string> Directory::NumberOf(uint64_t account_id) const {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) return std::nullopt;
  return it->second.number;
}

bool Directory::HasDevice(uint64_t account_id, uint32_t device_id) const {
  return Batch(const_cast<Directory&>(*this)).HasDevice(account_id, device_id);
}

bool Directory::Batch::HasDevice(uint64_t account_id, uint32_t device_id) const {
  return d_.FindDevice(account_id, device_id) != nullptr;
}

std::optional<uint32_t> Directory::RegistrationIdOf(uint64_t account_id, uint32_t device_id) const {
  std::lock_guard lock(mu_);
  const Device* d = FindDevice(account_id, device_id);
  if (d == nullptr) return std::nullopt;
  return d->registration_id;
}

std::vector<Directory::DeviceInfo> Directory::DevicesOf(uint64_t account_id) const {
  std::vector<DeviceInfo> out;
  Batch(const_cast<Directory&>(*this)).DevicesOf(account_id, out);
  return out;
}

void Directory::Batch::DevicesOf(uint64_t account_id, std::vector<DeviceInfo>& out) const {
  out.clear();
  auto it = d_.accounts_.find(account_id);
  if (it == d_.accounts_.end()) return;
  for (const auto& [id, device] : it->second.devices) out.push_back({id, device.registration_id});
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
    if (const Device* d = FindDevice(credentials.account_id, credentials.device_id)) {
      stored = d->password_hash;
      found = true;
    }
  }
  // Compare even when the device is unknown so both failures take as long.
  bool equal = CRYPTO_memcmp(given.data(), stored.data(), given.size()) == 0;
  if (found && equal) return absl::OkStatus();
  // Only a failure looks at replaced installations.
  std::vector<Retired> retired;
  {
    std::lock_guard lock(mu_);
    if (auto a = accounts_.find(credentials.account_id); a != accounts_.end()) {
      if (auto r = a->second.retired.find(credentials.device_id); r != a->second.retired.end())
        retired = r->second;
    }
  }
  for (auto it = retired.rbegin(); it != retired.rend(); ++it) {
    if (CRYPTO_memcmp(given.data(), it->password_hash.data(), given.size()) != 0) continue;
    if (it->removed) {
      return WithReason(absl::UnauthenticatedError(absl::StrCat(
                            "this device was removed from the account at ",
                            UtcTimestamp(absl::FromUnixMillis(it->at_ms)), "; link it again to use it")),
                        "device_removed");
    }
    return WithReason(
        absl::UnauthenticatedError(absl::StrCat(
            "this installation is no longer registered: its number was registered again on another device "
            "at ",
            UtcTimestamp(absl::FromUnixMillis(it->at_ms)))),
        "registration_replaced");
  }
  return absl::UnauthenticatedError("invalid credentials");
}

bool Directory::ReserveQueueSlot(uint64_t account_id, uint32_t device_id, int64_t limit) {
  return Batch(*this).ReserveQueueSlot(account_id, device_id, limit);
}

bool Directory::Batch::ReserveQueueSlot(uint64_t account_id, uint32_t device_id, int64_t limit) {
  Device* d = d_.FindDevice(account_id, device_id);
  if (d == nullptr || static_cast<int64_t>(d->queued.size()) + d->reserved >= limit) return false;
  ++d->reserved;
  return true;
}

void Directory::ReleaseQueueSlot(uint64_t account_id, uint32_t device_id) {
  Batch(*this).ReleaseQueueSlot(account_id, device_id);
}

void Directory::Batch::ReleaseQueueSlot(uint64_t account_id, uint32_t device_id) {
  Device* d = d_.FindDevice(account_id, device_id);
  // A re-registration in between leaves a new device with nothing reserved.
  if (d != nullptr && d->reserved > 0) --d->reserved;
}

bool Directory::CommitQueued(uint64_t account_id, uint32_t device_id, uint64_t server_id) {
  return Batch(*this).CommitQueued(account_id, device_id, server_id);
}

bool Directory::Batch::CommitQueued(uint64_t account_id, uint32_t device_id, uint64_t server_id) {
  Device* d = d_.FindDevice(account_id, device_id);
  if (d == nullptr) return false;
  if (d->reserved > 0) --d->reserved;
  d->queued.insert(server_id);
  return true;
}

std::vector<uint64_t> Directory::TakeQueued(uint64_t account_id, uint32_t device_id,
                                            std::span<const uint64_t> server_ids) {
  std::vector<uint64_t> taken;
  std::lock_guard lock(mu_);
  Device* d = FindDevice(account_id, device_id);
  if (d == nullptr) return taken;
  for (uint64_t id : server_ids) {
    if (d->queued.erase(id) > 0) taken.push_back(id);
  }
  return taken;
}

std::vector<uint64_t> Directory::QueuedAfter(uint64_t account_id, uint32_t device_id, uint64_t after,
                                             size_t limit) const {
  std::vector<uint64_t> ids;
  std::lock_guard lock(mu_);
  const Device* d = FindDevice(account_id, device_id);
  if (d == nullptr) return ids;
  for (auto it = d->queued.upper_bound(after); it != d->queued.end() && ids.size() < limit; ++it)
    ids.push_back(*it);
  return ids;
}

int64_t Directory::QueueDepth(uint64_t account_id, uint32_t device_id) const {
  std::lock_guard lock(mu_);
  const Device* d = FindDevice(account_id, device_id);
  return d == nullptr ? 0 : static_cast<int64_t>(d->queued.size()) + d->reserved;
}

}  // namespace tandem::relay
