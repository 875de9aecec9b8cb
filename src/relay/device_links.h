// Linking a companion device to an account (docs/relay-protocol.md, "Linked
// devices"). The relay only carries an opaque provisioning message from the
// primary device to the new one and checks a link token:
//
//  1. The companion asks for a provisioning address (16 random bytes, hex)
//     and shows it, with a key of its own, as a link code.
//  2. The primary gets a link token (only its SHA-256 is kept), encrypts
//     the account's number, identity key pair and token to the companion's
//     key and stores the ciphertext under the address.
//  3. The companion polls the address, takes the message once, decrypts it
//     and registers with the token: it becomes a device of the account.
//
// Addresses and tokens live in memory for ten minutes: a restart forgets
// them and the user makes a new code. Both are bounded in number, and the
// unauthenticated calls are rate-limited per client address before any
// work. Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/rate_limiter.h"
#include "common/status.h"
#include "relay/accounts.h"
#include "relay_protocol/protocol.h"

namespace tandem::relay {

struct DeviceLinkOptions {
  absl::Duration ttl = absl::Minutes(10);  // of an address and of a token
  size_t max_pending_addresses = 10000;
  size_t max_pending_tokens = 10000;
  size_t max_message_bytes = 16 * 1024;
  // New addresses and companion registrations per client address.
  RateLimit links_per_address{20, absl::Minutes(1)};
  // Polls per client address: a companion polls about once a second.
  RateLimit polls_per_address{60, absl::Milliseconds(500)};
};

class DeviceLinks {
 public:
  // `accounts` must outlive this.
  DeviceLinks(AccountService& accounts, const Clock& clock, Random& random, DeviceLinkOptions options = {});

  struct Issued {
    std::string value;  // the address (32 hex digits) or the token (64)
    absl::Duration expires_in;
  };

  // A fresh provisioning address. ResourceExhausted when the client address
  // asked too often (checked first) or too many addresses are pending.
  absl::StatusOr<Issued> CreateAddress(const std::string& client_address);

  // Stores the primary's message for `address`. PermissionDenied for a
  // companion, NotFound for an unknown or expired address,
  // FailedPrecondition if it has a message already, InvalidArgument for an
  // empty message or one over max_message_bytes.
  absl::Status PutMessage(const Credentials& who, const std::string& address, std::string message);

  // The message for `address` once the primary stored it (the address is
  // then forgotten), nullopt while it waits. NotFound for an unknown or
  // expired address; ResourceExhausted when the client polls too often.
  absl::StatusOr<std::optional<std::string>> TakeMessage(const std::string& address,
                                                         const std::string& client_address);

  // A single-use link token for the caller's account; a new one replaces
  // the account's previous one. PermissionDenied for a companion.
  absl::StatusOr<Issued> IssueToken(const Credentials& who);

  struct LinkRequest {
    std::string token;
    uint32_t registration_id = 0;
    std::string identity_key;  // must be the account's
    std::string client_address;
  };
  struct Linked {
    Credentials credentials;
    std::string number;
  };
  // Consumes the token and adds a device to its account
  // (AccountService::AddLinkedDevice). PermissionDenied for an unknown, used
  // or expired token; FailedPrecondition for an identity key that is not
  // the account's. A failed request leaves the token usable.
  absl::StatusOr<Linked> Link(const LinkRequest& request);

  size_t pending_addresses() const;

 private:
  struct Pending {
    absl::Time expires;
    std::optional<std::string> message;
  };
  struct Token {
    absl::Time expires;
    uint64_t account_id = 0;
  };
  void PruneLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string RandomHex(size_t bytes);

  AccountService& accounts_;
  const Clock& clock_;
  Random& random_;
  const DeviceLinkOptions options_;
  RateLimiter links_;
  RateLimiter polls_;

  mutable std::mutex mu_;
  std::map<std::string, Pending> addresses_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);       // by SHA-256 of the token
  std::map<uint64_t, std::string> token_of_ ABSL_GUARDED_BY(mu_);  // account -> its token's hash
  // Every entry has the same lifetime, so creation order is expiry order:
  // (expiry, key) of addresses and tokens, some already taken.
  std::deque<std::pair<absl::Time, std::string>> address_expiry_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Time, std::string>> token_expiry_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tandem::relay
