// Linking a companion device, the client's side (docs/relay-protocol.md,
// "Linked devices"): free functions over a RelayTransport that MessengerClient
// and the CLI call.
//
//   companion                         relay                      primary
//   StartLink  -- POST /v1/provisioning -->
//              <-- address --
//   shows the link code  . . . . . . . . . . . . . . . . . . .  reads it
//                                     <-- POST /v1/devices/link-token --
//                                     <-- PUT /v1/provisioning/{address} --
//                                         (sealed ProvisionData)   SendProvision
//   PollProvision -- GET /v1/provisioning/{address} --> (once a second)
//   RegisterCompanion -- POST /v1/devices (token, identity key) -->
//
// The link code carries the address and the companion's ephemeral X25519
// public key. The primary seals the ProvisionData to that key (libsodium's
// sealed box: X25519 + XSalsa20-Poly1305), so the relay stores and hands on
// ciphertext only; whoever reads the code can link a device, which is why
// it is shown on the new device's screen and typed or scanned by the owner
// of the primary.
//
// Thread safety: stateless; the transport's rules apply.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/relay_transport.h"
#include "common/random.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "relay_protocol/protocol.h"

namespace tandem::client {

inline constexpr char kLinkCodePrefix[] = "tandem-link:";
inline constexpr size_t kProvisioningAddressSize = 16;  // bytes; the relay speaks 32 hex digits

// What a link code says.
struct LinkCode {
  std::string address;                                 // 32 lowercase hex digits
  std::array<uint8_t, crypto::kKeySize> public_key{};  // the companion's ephemeral X25519 key
};

// "tandem-link:" + base64url without padding of (address, 16 bytes ||
// public key, 32 bytes). InvalidArgument if the address is not 32 hex
// digits.
absl::StatusOr<std::string> EncodeLinkCode(const LinkCode& code);
// The inverse; surrounding white space is ignored. InvalidArgument saying
// what is wrong: the prefix, the base64url text, or the length.
absl::StatusOr<LinkCode> ParseLinkCode(std::string_view text);

// What the primary hands the companion: enough to be the same account.
struct ProvisionData {
  std::string number;  // E.164
  uint64_t account_id = 0;
  crypto::IdentityKeyPair identity;  // both halves
  std::string link_token;            // SendProvision fills it in
};

// The serialized form (a small JSON object) and back. ParseProvisionData
// fails with InvalidArgument on anything malformed.
std::string SerializeProvisionData(const ProvisionData& data);
absl::StatusOr<ProvisionData> ParseProvisionData(std::string_view bytes);

// Sealed to `public_key` / opened with the matching secret. OpenProvision
// fails with DataLoss when the ciphertext was altered or sealed to
// another key.
std::string SealProvision(const ProvisionData& data, const std::array<uint8_t, crypto::kKeySize>& public_key);
absl::StatusOr<ProvisionData> OpenProvision(std::string_view sealed,
                                            const std::array<uint8_t, crypto::kKeySize>& secret);

// The companion's side of a link in progress; keep `secret` until the
// provision arrived, then forget it.
struct PendingLink {
  std::string code;
  std::array<uint8_t, crypto::kKeySize> secret{};
  std::string address;
};

// Asks the relay for a provisioning address and makes an ephemeral key:
// the code to show on the companion's screen.
absl::StatusOr<PendingLink> StartLink(RelayTransport& transport, const std::string& server, Random& random);

// The primary's side: asks the relay for a link token, puts it in `data`
// and stores the sealed data under the code's address. `primary` must be
// device 1. InvalidArgument for a malformed code; NotFound (from the
// relay) when the code expired.
absl::Status SendProvision(RelayTransport& transport, const std::string& server,
                           const relay::Credentials& primary, const std::string& code, ProvisionData data);

// One poll of the address: the opened data once the primary sent it,
// nullopt while the relay still waits. NotFound when the code expired (make
// a new one); DataLoss when the message does not open with `secret`.
absl::StatusOr<std::optional<ProvisionData>> PollProvision(
    RelayTransport& transport, const std::string& server, const std::string& address,
    const std::array<uint8_t, crypto::kKeySize>& secret);

// Registers the companion with the provision's token and identity key.
// The credentials' device_id is the new device's.
struct CompanionRegistration {
  relay::Credentials credentials;
  std::string number;
};
absl::StatusOr<CompanionRegistration> RegisterCompanion(RelayTransport& transport, const std::string& server,
                                                        const ProvisionData& data, uint32_t registration_id);

struct LinkedDevice {
  uint32_t device_id = 0;
  int64_t created_ms = 0;
  uint32_t registration_id = 0;
};
// The account's devices, by device id.
absl::StatusOr<std::vector<LinkedDevice>> ListDevices(RelayTransport& transport, const std::string& server,
                                                      const relay::Credentials& who);
// Removes a device: the primary any companion, a companion itself.
absl::Status RemoveDevice(RelayTransport& transport, const std::string& server, const relay::Credentials& who,
                          uint32_t device_id);

}  // namespace tandem::client
