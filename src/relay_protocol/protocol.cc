// Frame codecs, validation and credential formats of the relay protocol.
#include "relay_protocol/protocol.h"

#include <charconv>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/error_codes.h"

namespace tandem::relay {
namespace {

bool ParseUint(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string Serialize(const google::protobuf::Message& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

}  // namespace

absl::StatusOr<pb::ClientFrame> DecodeClientFrame(std::string_view bytes) {
  pb::ClientFrame frame;
  if (bytes.size() > kMaxClientFrameBytes + 1024 * 1024 ||
      !frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("malformed frame: not a serialized ClientFrame");
  }
  if (frame.body_case() == pb::ClientFrame::BODY_NOT_SET) {
    return absl::InvalidArgumentError("frame has no body: expected submit, multi_submit, ack or batch");
  }
  if (frame.has_batch()) {
    const auto& frames = frame.batch().frames();
    if (frames.empty() || static_cast<size_t>(frames.size()) > kMaxFramesPerBatch) {
      return absl::InvalidArgumentError(
          absl::StrCat("a batch holds 1..", kMaxFramesPerBatch, " frames, not ", frames.size()));
    }
    for (const pb::ClientFrame& f : frames) {
      if (f.has_batch()) return absl::InvalidArgumentError("batches cannot be nested");
    }
  }
  return frame;
}

namespace {

absl::Status CheckServerFrame(const pb::ServerFrame& frame) {
  if (frame.body_case() == pb::ServerFrame::BODY_NOT_SET) {
    return absl::InvalidArgumentError("server frame has no body");
  }
  if (frame.has_deliver() && !frame.deliver().has_envelope()) {
    return absl::InvalidArgumentError("deliver frame without an envelope");
  }
  return absl::OkStatus();
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Protobuf fields written by hand (see the per-envelope encoders below).
struct FieldWriter {
  std::string& out;
  void Varint(int field, uint64_t v) {
    if (v == 0) return;
    out.push_back(static_cast<char>(field << 3));
    AppendVarint(out, v);
  }
  void Bytes(int field, std::string_view b) {
    if (b.empty()) return;
    out.push_back(static_cast<char>(field << 3 | 2));
    AppendVarint(out, b.size());
    out.append(b);
  }
  void Header(int field, size_t length) {
    out.push_back(static_cast<char>(field << 3 | 2));
    AppendVarint(out, length);
  }
};

size_t VarintField(uint64_t v) { return v == 0 ? 0 : 1 + VarintSize(v); }
size_t BytesField(size_t n) { return n == 0 ? 0 : 1 + VarintSize(n) + n; }

// Starts a frame whose body is the sub-message field `body_field` of
// `body_size` bytes, after the request id: reserves the whole frame and
// writes everything up to the body's fields.
FieldWriter OpenFrame(std::string& out, uint64_t request_id, int body_field, size_t body_size) {
  out.reserve(VarintField(request_id) + 1 + VarintSize(body_size) + body_size);
  FieldWriter w{out};
  w.Varint(1, request_id);
  w.Header(body_field, body_size);
  return w;
}

// Joins serialized frames into the batch field `field` of the outer frame:
// a repeated embedded message is just its elements' bytes, each behind a
// tag and a length, so no frame is parsed or copied twice.
std::string JoinFrames(int field, std::span<const std::string> frames) {
  size_t inner = 0;
  for (const std::string& f : frames) inner += 1 + VarintSize(f.size()) + f.size();
  std::string out;
  FieldWriter w = OpenFrame(out, /*request_id=*/0, field, inner);
  for (const std::string& f : frames) {
    w.Header(1, f.size());  // written even when empty: an empty frame is a frame
    out.append(f);
  }
  return out;
}

}  // namespace

absl::StatusOr<pb::ServerFrame> DecodeServerFrame(std::string_view bytes) {
  pb::ServerFrame frame;
  if (bytes.size() > (64u << 20) || !frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("malformed frame: not a serialized ServerFrame");
  }
  RETURN_IF_ERROR(CheckServerFrame(frame));
  if (frame.has_batch()) {
    if (frame.batch().frames().empty()) return absl::InvalidArgumentError("empty batch");
    for (const pb::ServerFrame& f : frame.batch().frames()) {
      if (f.has_batch()) return absl::InvalidArgumentError("batches cannot be nested");
      RETURN_IF_ERROR(CheckServerFrame(f));
    }
  }
  return frame;
}

std::vector<const pb::ServerFrame*> FramesOf(const pb::ServerFrame& frame) {
  std::vector<const pb::ServerFrame*> out;
  if (!frame.has_batch()) {
    out.push_back(&frame);
    return out;
  }
  out.reserve(frame.batch().frames_size());
  for (const pb::ServerFrame& f : frame.batch().frames()) out.push_back(&f);
  return out;
}

std::string JoinServerFrames(std::span<const std::string> frames) { return JoinFrames(6, frames); }
std::string JoinClientFrames(std::span<const std::string> frames) { return JoinFrames(4, frames); }

bool IsKnownEnvelopeType(int type) {
  return type == pb::ENVELOPE_TYPE_SIGNAL_MESSAGE || type == pb::ENVELOPE_TYPE_PREKEY_MESSAGE ||
         type == pb::ENVELOPE_TYPE_RECEIPT || type == pb::ENVELOPE_TYPE_SENDER_KEY_MESSAGE;
}

namespace {

absl::Status CheckClientMessageId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("client_message_id is missing");
  if (id.size() > kMaxClientMessageIdBytes || !IsPrintableAscii(id)) {
    return absl::InvalidArgumentError(absl::StrCat("client_message_id must be 1 to ",
                                                   kMaxClientMessageIdBytes, " printable ASCII characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckType(int type, const char* what) {
  if (IsKnownEnvelopeType(type)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("unknown ", what, " type ", type,
                                                 "; expected 2 (signal message), 3 (prekey message), "
                                                 "5 (receipt) or 7 (sender-key message)"));
}

absl::Status CheckCiphertext(const std::string& ciphertext, const std::string& what) {
  if (ciphertext.empty()) return absl::OutOfRangeError(absl::StrCat(what, " is empty"));
  if (ciphertext.size() > kMaxCiphertextBytes) {
    return absl::OutOfRangeError(absl::StrCat(what, " of ", ciphertext.size(), " bytes exceeds the limit of ",
                                              kMaxCiphertextBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateMultiSubmit(const pb::MultiSubmit& submit) {
  RETURN_IF_ERROR(CheckClientMessageId(submit.client_message_id()));
  const bool has_body = !submit.body().empty();
  if (has_body) {
    RETURN_IF_ERROR(CheckType(submit.type(), "body"));
    RETURN_IF_ERROR(CheckCiphertext(submit.body(), "body"));
  }
  const auto& recipients = submit.recipients();
  if (recipients.empty() || static_cast<size_t>(recipients.size()) > kMaxMultiRecipients) {
    return absl::InvalidArgumentError(absl::StrCat("a multi-recipient submission names 1..",
                                                   kMaxMultiRecipients, " recipients, not ",
                                                   recipients.size()));
  }
  size_t copies = 0;
  std::vector<uint32_t> seen;
  for (int i = 0; i < recipients.size(); ++i) {
    const pb::RecipientDevices& r = recipients[i];
    if (r.account_case() == pb::RecipientDevices::ACCOUNT_NOT_SET ||
        (r.has_account_id() && r.account_id() == 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("recipient ", i, " names no account: give a number or an account_id"));
    }
    copies += static_cast<size_t>(r.devices().size());
    if (copies > kMaxMultiCopies) {
      return absl::InvalidArgumentError(
          absl::StrCat("a multi-recipient submission carries at most ", kMaxMultiCopies, " device copies"));
    }
    seen.clear();
    for (const pb::DeviceCopy& d : r.devices()) {
      if (d.device_id() == 0)
        return absl::InvalidArgumentError(absl::StrCat("recipient ", i, " lists device 0"));
      if (std::find(seen.begin(), seen.end(), d.device_id()) != seen.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("recipient ", i, " lists device ", d.device_id(), " more than once"));
      }
      seen.push_back(d.device_id());
      if (d.ciphertext().empty()) {
        if (!has_body) {
          return absl::InvalidArgumentError(absl::StrCat("recipient ", i, " device ", d.device_id(),
                                                         " has no ciphertext and the submission no body"));
        }
        continue;
      }
      RETURN_IF_ERROR(CheckType(d.type(), "copy"));
      RETURN_IF_ERROR(CheckCiphertext(d.ciphertext(), absl::StrCat("the copy for device ", d.device_id())));
    }
  }
  if (copies == 0) return absl::InvalidArgumentError("a multi-recipient submission carries no device copies");
  if (static_cast<size_t>(submit.attachment_ids().size()) > kMaxMultiAttachments) {
    return absl::InvalidArgumentError(absl::StrCat("a multi-recipient submission carries at most ",
                                                   kMaxMultiAttachments, " attachment ids"));
  }
  for (const std::string& id : submit.attachment_ids()) {
    if (id.empty() || id.size() > 64 || !IsPrintableAscii(id)) {
      return absl::InvalidArgumentError("attachment ids are 1 to 64 printable ASCII characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSubmit(const pb::SubmitEnvelope& submit) {
  RETURN_IF_ERROR(CheckClientMessageId(submit.client_message_id()));
  if (!submit.has_recipient() || submit.recipient().account_case() == pb::Recipient::ACCOUNT_NOT_SET) {
    return absl::InvalidArgumentError("recipient is missing: give a number or an account_id");
  }
  if (submit.recipient().has_account_id() && submit.recipient().account_id() == 0) {
    return absl::InvalidArgumentError("recipient account_id 0 is not an account");
  }
  RETURN_IF_ERROR(CheckType(submit.type(), "envelope"));
  if (submit.ciphertext().empty()) return absl::OutOfRangeError("ciphertext is empty");
  return CheckCiphertext(submit.ciphertext(), "envelope");
}

absl::Status ValidateAck(const pb::Ack& ack) {
  if (ack.server_ids().empty()) return absl::InvalidArgumentError("ack carries no server_ids");
  if (static_cast<size_t>(ack.server_ids().size()) > kMaxAckIds) {
    return absl::InvalidArgumentError(absl::StrCat("ack carries more than ", kMaxAckIds, " server_ids"));
  }
  return absl::OkStatus();
}

std::string EncodeAck(std::span<const uint64_t> server_ids, uint64_t request_id) {
  pb::ClientFrame frame;
  frame.set_request_id(request_id);
  pb::Ack* ack = frame.mutable_ack();
  for (uint64_t id : server_ids) ack->add_server_ids(id);
  return Serialize(frame);
}

// The frames sent once per envelope (Submit by clients, SubmitResult and
// Deliver by the relay) are written by hand, in the exact bytes protobuf
// would produce (fields in number order, defaults left out, present
// sub-messages always written), with one allocation and no copy of the
// ciphertext into a message object. Tests compare them with protobuf's.

std::string EncodeSubmit(uint64_t request_id, std::string_view client_message_id,
                         const pb::Recipient& recipient, pb::EnvelopeType type, std::string_view ciphertext,
                         uint32_t destination_registration_id) {
  const std::string to = recipient.SerializeAsString();
  const auto type_value = static_cast<uint64_t>(static_cast<int64_t>(type));
  size_t body = BytesField(client_message_id.size()) + 1 + VarintSize(to.size()) + to.size() +
                VarintField(type_value) + BytesField(ciphertext.size()) +
                VarintField(destination_registration_id);
  std::string out;
  FieldWriter w = OpenFrame(out, request_id, 2, body);
  w.Bytes(1, client_message_id);
  w.Header(2, to.size());
  out.append(to);
  w.Varint(3, type_value);
  w.Bytes(4, ciphertext);
  w.Varint(5, destination_registration_id);
  return out;
}

std::string EncodeSubmitResult(uint64_t request_id, std::string_view client_message_id, uint64_t server_id,
                               int64_t server_timestamp_ms, bool duplicate) {
  const auto ts = static_cast<uint64_t>(server_timestamp_ms);
  size_t body = BytesField(client_message_id.size()) + VarintField(server_id) + VarintField(ts) +
                VarintField(duplicate ? 1 : 0);
  std::string out;
  FieldWriter w = OpenFrame(out, request_id, 2, body);
  w.Bytes(1, client_message_id);
  w.Varint(2, server_id);
  w.Varint(3, ts);
  w.Varint(4, duplicate ? 1 : 0);
  return out;
}

std::string EncodeDeliver(const EnvelopeFields& e) {
  const auto ts = static_cast<uint64_t>(e.server_timestamp_ms);
  const auto type = static_cast<uint64_t>(static_cast<int64_t>(e.type));
  size_t envelope = VarintField(e.server_id) + VarintField(e.sender_account_id) +
                    VarintField(e.sender_device_id) + BytesField(e.sender_number.size()) + VarintField(ts) +
                    VarintField(type) + BytesField(e.ciphertext.size()) +
                    VarintField(e.destination_device_id);
  size_t deliver = 1 + VarintSize(envelope) + envelope;
  std::string out;
  FieldWriter w = OpenFrame(out, /*request_id=*/0, 4, deliver);
  w.Header(1, envelope);
  w.Varint(1, e.server_id);
  w.Varint(2, e.sender_account_id);
  w.Varint(3, e.sender_device_id);
  w.Bytes(4, e.sender_number);
  w.Varint(5, ts);
  w.Varint(6, type);
  w.Bytes(7, e.ciphertext);
  w.Varint(8, e.destination_device_id);
  return out;
}

std::string EncodeError(uint64_t request_id, std::string_view client_message_id, const absl::Status& status) {
  pb::ServerFrame frame;
  frame.set_request_id(request_id);
  pb::Error* e = frame.mutable_error();
  e->set_client_message_id(std::string(client_message_id));
  e->set_code(ErrorCodeName(status.code()));
  e->set_message(std::string(status.message()));
  return Serialize(frame);
}

std::string EncodeDeviceMismatch(uint64_t request_id, std::string_view client_message_id,
                                 std::string_view message, std::span<const pb::DeviceMismatch> mismatches) {
  pb::ServerFrame frame;
  frame.set_request_id(request_id);
  pb::Error* e = frame.mutable_error();
  e->set_client_message_id(std::string(client_message_id));
  e->set_code(ErrorCodeName(absl::StatusCode::kFailedPrecondition));
  e->set_message(std::string(message));
  for (const pb::DeviceMismatch& m : mismatches) *e->add_mismatches() = m;
  return Serialize(frame);
}

std::string EncodeMultiSubmit(uint64_t request_id, const pb::MultiSubmit& submit) {
  pb::ClientFrame frame;
  frame.set_request_id(request_id);
  *frame.mutable_multi_submit() = submit;
  return Serialize(frame);
}

std::string EncodeDeliver(const pb::Envelope& envelope) {
  pb::ServerFrame frame;
  *frame.mutable_deliver()->mutable_envelope() = envelope;
  return Serialize(frame);
}

std::string EncodeQueueEmpty() {
  pb::ServerFrame frame;
  frame.mutable_queue_empty();
  return Serialize(frame);
}

std::string MakeClientMessageId(int64_t relay_ms, std::string_view random_hex) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(12, '0');
  uint64_t v = relay_ms > 0 ? static_cast<uint64_t>(relay_ms) : 0;
  for (int i = 11; i >= 0; --i, v >>= 4) id[static_cast<size_t>(i)] = kHex[v & 15];
  id.push_back('-');
  id.append(random_hex);
  return id;
}

pb::Recipient RecipientByNumber(std::string_view e164, uint32_t device_id) {
  pb::Recipient r;
  r.set_number(std::string(e164));
  r.set_device_id(device_id);
  return r;
}

pb::Recipient RecipientByAccount(uint64_t account_id, uint32_t device_id) {
  pb::Recipient r;
  r.set_account_id(account_id);
  r.set_device_id(device_id);
  return r;
}

std::string ErrorCodeName(absl::StatusCode code) { return ::tandem::ErrorCodeName(code); }

absl::StatusCode ErrorCodeFromName(std::string_view name) { return ::tandem::ErrorCodeFromName(name); }

absl::Status StatusFromError(const pb::Error& error) {
  absl::StatusCode code = ErrorCodeFromName(error.code());
  if (code == absl::StatusCode::kOk) code = absl::StatusCode::kInternal;
  return absl::Status(code, error.message());
}

std::string Credentials::Login() const { return absl::StrCat(account_id, ".", device_id); }

std::string BasicAuthorization(const Credentials& credentials) {
  return "Basic " + absl::Base64Escape(absl::StrCat(credentials.Login(), ":", credentials.password));
}

absl::StatusOr<Credentials> ParseLogin(std::string_view login, std::string password) {
  size_t dot = login.find('.');
  Credentials c;
  uint64_t device = 0;
  if (dot == std::string_view::npos || !ParseUint(login.substr(0, dot), &c.account_id) ||
      !ParseUint(login.substr(dot + 1), &device) || c.account_id == 0 || device == 0 ||
      device > 0xffffffffu) {
    return absl::UnauthenticatedError("malformed login: expected <account_id>.<device_id>");
  }
  c.device_id = static_cast<uint32_t>(device);
  if (password.empty()) return absl::UnauthenticatedError("password is missing");
  c.password = std::move(password);
  return c;
}

absl::StatusOr<Credentials> ParseBasicAuthorization(std::string_view header) {
  if (header.empty())
    return absl::UnauthenticatedError("credentials are missing: send HTTP Basic authorization");
  constexpr std::string_view kBasic = "Basic ";
  if (header.size() <= kBasic.size() || !StartsWithIgnoreCase(header, kBasic)) {
    return absl::UnauthenticatedError("unsupported authorization scheme: expected Basic");
  }
  std::string decoded;
  if (!absl::Base64Unescape(std::string(header.substr(kBasic.size())), &decoded)) {
    return absl::UnauthenticatedError("malformed Basic authorization: not base64");
  }
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    return absl::UnauthenticatedError("malformed Basic authorization: expected <login>:<password>");
  }
  return ParseLogin(std::string_view(decoded).substr(0, colon), decoded.substr(colon + 1));
}

std::string WebSocketTargetWithCredentials(const Credentials& credentials) {
  // Logins and issued passwords need no percent-encoding (digits, '.', hex).
  return absl::StrCat(std::string(kWebSocketPath), "?login=", credentials.Login(),
                      "&password=", credentials.password);
}

}  // namespace tandem::relay
