// The relay's in-memory mirror of accounts and devices: number -> account,
// password hashes for authentication, and each device's queue: the server
// ids of the envelopes stored for it and not yet acknowledged. It is loaded
// from the database at start and updated by the code that changes the
// database, so the message path never waits on storage to validate a
// recipient or a credential, and the envelopes table needs no index by
// recipient (about 100 bytes per device and 10 per queued envelope).
//
// Thread-safe (one mutex; every operation is a few map lookups).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "common/status.h"
#include "relay_protocol/protocol.h"

namespace tandem::relay {

using PasswordHash = std::array<uint8_t, 32>;

// SHA-256 of the password as sent. Passwords are 32 random bytes (64 hex
// digits), so a fast hash suffices: there is nothing to brute-force.
PasswordHash HashPassword(std::string_view password);

class Directory {
 public:
  void PutDevice(uint64_t account_id, const std::string& number, uint32_t device_id, const PasswordHash& hash,
                 uint32_t registration_id);
  // Forgets the account's devices but keeps the number (a re-registration
  // at `at_ms`: the devices are remembered as retired, see Authenticate).
  // Returns the server ids that were queued for them: the caller deletes
  // those rows.
  std::vector<uint64_t> ClearDevices(uint64_t account_id, int64_t at_ms);
  // Remembers a device that a re-registration at `at_ms` replaced, or that
  // was unlinked (`removed`), loaded at start. The newest few per device are
  // kept.
  void RetireDevice(uint64_t account_id, uint32_t device_id, const PasswordHash& hash, int64_t at_ms,
                    bool removed = false);
  // Forgets one device of the account (it was unlinked at `at_ms`) and
  // remembers it as removed, so that its credentials fail at once and with
  // a message saying so. Returns its queued server ids like ClearDevices;
  // nullopt if there is no such device.
  std::optional<std::vector<uint64_t>> RemoveDevice(uint64_t account_id, uint32_t device_id, int64_t at_ms);
  // Forgets the account; returns its queued server ids like ClearDevices.
  std::vector<uint64_t> RemoveAccount(uint64_t account_id);

  std::optional<uint64_t> AccountForNumber(const std::string& e164) const;
  std::optional<std::string> NumberOf(uint64_t account_id) const;
  bool HasDevice(uint64_t account_id, uint32_t device_id) const;
  // The device's registration id (it changes when the number re-registers);
  // nullopt if there is no such device.
  std::optional<uint32_t> RegistrationIdOf(uint64_t account_id, uint32_t device_id) const;
  size_t account_count() const;
  // The account's devices with their registration ids, by device id; empty
  // if there is no such account.
  struct DeviceInfo {
    uint32_t device_id = 0;
    uint32_t registration_id = 0;
  };
  std::vector<DeviceInfo> DevicesOf(uint64_t account_id) const;

  // Unauthenticated ("invalid credentials") unless the device exists and the
  // password matches; compares in constant time. Credentials of a device
  // that a re-registration replaced are Unauthenticated with reason
  // "registration_replaced" and a message saying when; those of a removed
  // companion device with reason "device_removed".
  absl::Status Authenticate(const Credentials& credentials) const;

  // A queue's depth counts its stored envelopes and the slots reserved for
  // submissions not yet committed.
  //
  // Reserves a slot unless `limit` are already taken (then false). False
  // also if the device is gone; callers check HasDevice first for a precise
  // error.
  bool ReserveQueueSlot(uint64_t account_id, uint32_t device_id, int64_t limit);
  // Gives back a reserved slot whose submission was not stored.
  void ReleaseQueueSlot(uint64_t account_id, uint32_t device_id);
  // The reserved slot's envelope is stored as `server_id` (at start, with
  // nothing reserved: a stored envelope is loaded). False if the device is
  // gone (re-registered or deleted): the caller deletes the row.
  bool CommitQueued(uint64_t account_id, uint32_t device_id, uint64_t server_id);
  // Removes those of `server_ids` queued for the device (an ack) and returns
  // them; ids of other devices or unknown ids are ignored.
  std::vector<uint64_t> TakeQueued(uint64_t account_id, uint32_t device_id,
                                   std::span<const uint64_t> server_ids);
  // Up to `limit` queued ids greater than `after`, ascending.
  std::vector<uint64_t> QueuedAfter(uint64_t account_id, uint32_t device_id, uint64_t after,
                                    size_t limit) const;
  int64_t QueueDepth(uint64_t account_id, uint32_t device_id) const;

  // The operations above, for many devices under one lock: a submission to
  // a group touches a thousand devices, and a lock and a lookup each would
  // cost more than the work. The directory is locked while a Batch lives:
  // keep it short, and call nothing else of the directory meanwhile.
  class Batch {
   public:
    explicit Batch(Directory& directory) ABSL_EXCLUSIVE_LOCK_FUNCTION(directory.mu_)
        : d_(directory), lock_(directory.mu_) {}
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    ~Batch() ABSL_UNLOCK_FUNCTION() = default;

    std::optional<uint64_t> AccountForNumber(const std::string& e164) const;
    bool HasAccount(uint64_t account_id) const;
    bool HasDevice(uint64_t account_id, uint32_t device_id) const;
    // Replaces `out` with the account's devices, as DevicesOf.
    void DevicesOf(uint64_t account_id, std::vector<DeviceInfo>& out) const;
    bool ReserveQueueSlot(uint64_t account_id, uint32_t device_id, int64_t limit);
    void ReleaseQueueSlot(uint64_t account_id, uint32_t device_id);
    bool CommitQueued(uint64_t account_id, uint32_t device_id, uint64_t server_id);

   private:
    Directory& d_;
    std::lock_guard<std::mutex> lock_;
  };

 private:
  struct Device {
    PasswordHash password_hash{};
    uint32_t registration_id = 0;
    absl::btree_set<uint64_t> queued;
    int64_t reserved = 0;
  };
  Device* FindDevice(uint64_t account_id, uint32_t device_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Device* FindDevice(uint64_t account_id, uint32_t device_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct Retired {
    PasswordHash password_hash{};
    int64_t at_ms = 0;
    bool removed = false;  // unlinked, not replaced by a re-registration
  };
  static constexpr size_t kRetiredPerDevice = 4;
  struct Account {
    std::string number;
    absl::btree_map<uint32_t, Device> devices;
    std::map<uint32_t, std::vector<Retired>> retired;  // by device id, oldest first
  };
  void RetireLocked(Account& account, uint32_t device_id, const PasswordHash& hash, int64_t at_ms,
                    bool removed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static std::vector<uint64_t> QueuedOf(const Account& account);

  mutable std::mutex mu_;
  // Flat tables and B-trees: a submission to a group looks up a thousand
  // devices in a row, and each cache miss shows in its cost.
  absl::flat_hash_map<uint64_t, Account> accounts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> by_number_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tandem::relay
