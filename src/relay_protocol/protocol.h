// The relay's wire protocol, usable by clients without any server code:
// constants and limits, the binary protobuf frames of the message stream
// (relay_protocol/relay.pb.h, generated from relay.proto), their decoding and
// validation, and the credentials that authenticate HTTP requests and the
// WebSocket upgrade. docs/relay-protocol.md describes the conversation.
//
// Every function here is pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "relay_protocol/relay.pb.h"

namespace tandem::relay {

namespace pb = ::tandem::relay::v1;

// Where the message stream lives (GET with a WebSocket upgrade).
inline constexpr std::string_view kWebSocketPath = "/v1/websocket";
// The device a registration creates.
inline constexpr uint32_t kPrimaryDeviceId = 1;

// Limits every relay enforces; clients should check before sending.
inline constexpr size_t kMaxCiphertextBytes = 256 * 1024;
inline constexpr size_t kMaxClientMessageIdBytes = 64;
inline constexpr size_t kMaxAckIds = 1024;
// A MultiSubmit addresses at most this many accounts and device copies
// (1,024 group members with up to 8 devices each).
inline constexpr size_t kMaxMultiRecipients = 1024;
inline constexpr size_t kMaxMultiCopies = 8192;
inline constexpr size_t kMaxMultiAttachments = 32;
// Frames in one ClientFrameBatch.
inline constexpr size_t kMaxFramesPerBatch = 256;
// No valid ClientFrame is longer (ciphertext plus generous framing).
inline constexpr size_t kMaxClientFrameBytes = kMaxCiphertextBytes + 4096;
// One-time prekeys per upload and stored per device.
inline constexpr size_t kMaxPreKeysPerUpload = 100;
inline constexpr size_t kMaxStoredPreKeys = 1000;
// One-time signed Kyber prekeys, likewise (the last-resort key is one more).
inline constexpr size_t kMaxKyberPreKeysPerUpload = 100;
inline constexpr size_t kMaxStoredKyberPreKeys = 1000;
// Application close codes of the message stream (besides 1000-1011).
inline constexpr int kCloseReplaced = 4000;  // a newer connection of the same device took over
inline constexpr int kCloseRevoked = 4001;   // credentials revoked: re-registered or deleted
// Phone numbers per contact-discovery request.
inline constexpr size_t kMaxDirectoryNumbersPerRequest = 2000;

// ---- Frames ---------------------------------------------------------------

// Decodes one WebSocket message. DataLoss if the bytes are not a ClientFrame
// at all (the relay closes the connection with 1007 for these);
// InvalidArgument if it parses but carries no body, or is a batch that is
// empty, too long or nested. Frames inside a batch are not checked further:
// each is answered on its own.
absl::StatusOr<pb::ClientFrame> DecodeClientFrame(std::string_view bytes);
// Also checks every frame inside a batch.
absl::StatusOr<pb::ServerFrame> DecodeServerFrame(std::string_view bytes);
// The frames a decoded ServerFrame carries, in order: the frames of a
// batch, else the frame itself. The pointers live as long as `frame`.
std::vector<const pb::ServerFrame*> FramesOf(const pb::ServerFrame& frame);

// One batch frame from serialized frames (none of them a batch), without
// parsing them: the relay joins what queued up for a connection, clients
// what they send at once. Keep a ClientFrameBatch within kMaxFramesPerBatch
// frames and within the stream's 1 MiB message limit.
std::string JoinServerFrames(std::span<const std::string> frames);
std::string JoinClientFrames(std::span<const std::string> frames);

// Checks a submit's fields. InvalidArgument for a missing or over-long
// client_message_id, a missing recipient or an unknown type; OutOfRange for
// an empty or over-long ciphertext. The message says which field.
absl::Status ValidateSubmit(const pb::SubmitEnvelope& submit);
// Checks a multi-recipient submission's fields, as ValidateSubmit does, and
// its recipient lists: 1..kMaxMultiRecipients recipients, each with an
// account, no device twice for one recipient, 1..kMaxMultiCopies copies in
// all, every copy with a ciphertext (its own or the body). A recipient may
// list no devices (a sender that knows of none of its other devices says
// so). Whether the lists match the accounts' devices is the relay's check.
absl::Status ValidateMultiSubmit(const pb::MultiSubmit& submit);
// InvalidArgument for an empty ack or more than kMaxAckIds ids.
absl::Status ValidateAck(const pb::Ack& ack);

bool IsKnownEnvelopeType(int type);

// Encoders. The results are ready to send as binary WebSocket messages.
std::string EncodeSubmit(uint64_t request_id, std::string_view client_message_id,
                         const pb::Recipient& recipient, pb::EnvelopeType type, std::string_view ciphertext,
                         uint32_t destination_registration_id = 0);
std::string EncodeAck(std::span<const uint64_t> server_ids, uint64_t request_id = 0);
std::string EncodeMultiSubmit(uint64_t request_id, const pb::MultiSubmit& submit);
std::string EncodeSubmitResult(uint64_t request_id, std::string_view client_message_id, uint64_t server_id,
                               int64_t server_timestamp_ms, bool duplicate);
// The Error frame for `status` (which must not be OK).
std::string EncodeError(uint64_t request_id, std::string_view client_message_id, const absl::Status& status);
// The failed_precondition Error answering a MultiSubmit whose device lists
// are wrong, with the lists to correct.
std::string EncodeDeviceMismatch(uint64_t request_id, std::string_view client_message_id,
                                 std::string_view message, std::span<const pb::DeviceMismatch> mismatches);
std::string EncodeDeliver(const pb::Envelope& envelope);
// The same bytes, without building messages (the relay's hot path).
struct EnvelopeFields {
  uint64_t server_id = 0;
  uint64_t sender_account_id = 0;
  uint32_t sender_device_id = 0;
  std::string_view sender_number;
  int64_t server_timestamp_ms = 0;
  int type = 0;
  std::string_view ciphertext;
  uint32_t destination_device_id = 0;
};
std::string EncodeDeliver(const EnvelopeFields& envelope);
std::string EncodeQueueEmpty();

// A client message id that begins with the time: 12 lowercase hex digits of
// `relay_ms` (the relay's clock as the client best knows it, in Unix
// milliseconds), a dash, then `random_hex`. The relay's de-duplication
// index stays compact when ids grow with its clock; uniqueness comes from
// the random part (use at least 16 hex digits).
std::string MakeClientMessageId(int64_t relay_ms, std::string_view random_hex);

// Recipient by number or by account id (device 0 means the primary device).
pb::Recipient RecipientByNumber(std::string_view e164, uint32_t device_id = kPrimaryDeviceId);
pb::Recipient RecipientByAccount(uint64_t account_id, uint32_t device_id = kPrimaryDeviceId);

// The error names shared with the HTTP API ("invalid_argument", ...) and
// back. An Error frame becomes the Status it came from.
std::string ErrorCodeName(absl::StatusCode code);
absl::StatusCode ErrorCodeFromName(std::string_view name);
absl::Status StatusFromError(const pb::Error& error);

// ---- Credentials ----------------------------------------------------------

// A device's login: "<account_id>.<device_id>" with its password (64
// lowercase hex digits, issued by /v1/registration/verify).
struct Credentials {
  uint64_t account_id = 0;
  uint32_t device_id = 0;
  std::string password;

  std::string Login() const;  // "12.1"
};

// "Basic base64(<account_id>.<device_id>:<password>)" for the Authorization
// header of HTTP requests and of the WebSocket upgrade.
std::string BasicAuthorization(const Credentials& credentials);
// Parses an Authorization header value. Unauthenticated when missing or
// malformed (the message says what is wrong, never echoing the password).
absl::StatusOr<Credentials> ParseBasicAuthorization(std::string_view header);
// Parses "<account_id>.<device_id>".
absl::StatusOr<Credentials> ParseLogin(std::string_view login, std::string password);

// The WebSocket target carrying credentials in the query, for clients that
// cannot set headers on an upgrade (browsers):
// "/v1/websocket?login=12.1&password=<hex>".
std::string WebSocketTargetWithCredentials(const Credentials& credentials);

}  // namespace tandem::relay
