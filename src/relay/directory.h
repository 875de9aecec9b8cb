// The relay's in-memory mirror of accounts and devices: number -> account,
// password hashes for authentication, and each device's queue depth. It is
// loaded from the database at start and updated by the code that changes
// the database, so the message path never waits on storage to validate a
// recipient or a credential (about 100 bytes per device).
//
// Thread-safe (one mutex; every operation is a few map lookups).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "relay/protocol.h"

namespace tandem::relay {

using PasswordHash = std::array<uint8_t, 32>;

// SHA-256 of the password as sent. Passwords are 32 random bytes (64 hex
// digits), so a fast hash suffices: there is nothing to brute-force.
PasswordHash HashPassword(std::string_view password);

class Directory {
 public:
  void PutDevice(uint64_t account_id, const std::string& number, uint32_t device_id, const PasswordHash& hash,
                 uint32_t registration_id);
  // Forgets the account's devices (and their queues) but keeps the number.
  void ClearDevices(uint64_t account_id);
  void RemoveAccount(uint64_t account_id);

  std::optional<uint64_t> AccountForNumber(const std::string& e164) const;
  std::optional<std::string> NumberOf(uint64_t account_id) const;
  bool HasDevice(uint64_t account_id, uint32_t device_id) const;
  // The device's registration id (it changes when the number re-registers);
  // nullopt if there is no such device.
  std::optional<uint32_t> RegistrationIdOf(uint64_t account_id, uint32_t device_id) const;
  size_t account_count() const;

  // Unauthenticated ("invalid credentials") unless the device exists and the
  // password matches; compares in constant time.
  absl::Status Authenticate(const Credentials& credentials) const;

  // Counts one more envelope queued for the device unless `limit` are
  // already queued (then false). NotFound-like false also if the device is
  // gone; callers check HasDevice first for a precise error.
  bool ReserveQueueSlot(uint64_t account_id, uint32_t device_id, int64_t limit);
  void ReleaseQueueSlots(uint64_t account_id, uint32_t device_id, int64_t n);
  void SetQueueDepth(uint64_t account_id, uint32_t device_id, int64_t depth);
  int64_t QueueDepth(uint64_t account_id, uint32_t device_id) const;

 private:
  struct Device {
    PasswordHash password_hash{};
    uint32_t registration_id = 0;
    int64_t queue_depth = 0;
  };
  struct Account {
    std::string number;
    std::map<uint32_t, Device> devices;
  };

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Account> accounts_;
  std::unordered_map<std::string, uint64_t> by_number_;
};

}  // namespace tandem::relay
