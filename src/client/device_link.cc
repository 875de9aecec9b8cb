// Link codes, the sealed provision and the linked-device routes.
#include "client/device_link.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"

namespace tandem::client {
namespace {

using nlohmann::json;

void InitSodium() {
  if (sodium_init() < 0) std::abort();  // no safe way on without the library
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string_view View(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

absl::Status HttpError(const absl::StatusOr<net::HttpResponse>& r) {
  if (!r.ok()) return r.status();
  return net::StatusFromResponse(*r);
}

absl::StatusOr<json> JsonAnswer(const absl::StatusOr<net::HttpResponse>& r) {
  RETURN_IF_ERROR(HttpError(r));
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object())
    return absl::InternalError("unexpected answer from the relay: " + r->body.substr(0, 200));
  return j;
}

net::Headers Auth(const relay::Credentials& who) {
  return {{"Authorization", relay::BasicAuthorization(who)}};
}

net::Headers JsonHeaders(const relay::Credentials* who = nullptr) {
  net::Headers h = {{"Content-Type", "application/json"}};
  if (who) h.emplace_back("Authorization", relay::BasicAuthorization(*who));
  return h;
}

// A JSON field of the answer, or Internal naming what the relay left out.
template <typename T>
absl::StatusOr<T> Field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return absl::InternalError(absl::StrCat("the relay's answer has no \"", name, "\""));
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return absl::InternalError(absl::StrCat("the relay's answer has a malformed \"", name, "\""));
  }
}

}  // namespace

absl::StatusOr<std::string> EncodeLinkCode(const LinkCode& code) {
  if (code.address.size() != 2 * kProvisioningAddressSize) {
    return absl::InvalidArgumentError("a provisioning address is 32 lowercase hex digits");
  }
  std::string raw;
  raw.reserve(kProvisioningAddressSize + code.public_key.size());
  for (size_t i = 0; i < code.address.size(); i += 2) {
    int hi = HexDigit(code.address[i]);
    int lo = HexDigit(code.address[i + 1]);
    if (hi < 0 || lo < 0)
      return absl::InvalidArgumentError("a provisioning address is 32 lowercase hex digits");
    raw += static_cast<char>(hi * 16 + lo);
  }
  raw.append(View(code.public_key));
  InitSodium();
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string text(sodium_base64_encoded_len(raw.size(), variant), '\0');
  sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                    variant);
  text.resize(std::strlen(text.c_str()));
  return absl::StrCat(kLinkCodePrefix, text);
}

absl::StatusOr<LinkCode> ParseLinkCode(std::string_view text) {
  // Codes are copied and pasted: surrounding spaces and line breaks are not
  // part of them.
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  const std::string_view prefix = kLinkCodePrefix;
  if (text.substr(0, prefix.size()) != prefix) {
    return absl::InvalidArgumentError(absl::StrCat("a link code begins with \"", kLinkCodePrefix, "\""));
  }
  const std::string encoded(text.substr(prefix.size()));
  constexpr size_t kRawSize = kProvisioningAddressSize + crypto::kKeySize;
  std::array<uint8_t, kRawSize + 1> raw{};  // one more, to tell a long code from a valid one
  size_t len = 0;
  InitSodium();
  if (sodium_base642bin(raw.data(), raw.size(), encoded.data(), encoded.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    if (encoded.size() > (kRawSize * 4 + 2) / 3) {
      return absl::InvalidArgumentError(absl::StrCat("the link code is too long: it holds ", kRawSize,
                                                     " bytes (", (kRawSize * 4 + 2) / 3,
                                                     " characters after the prefix)"));
    }
    return absl::InvalidArgumentError(
        "the link code is not base64url without padding (letters, digits, '-' and '_' after the prefix)");
  }
  if (len != kRawSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the link code holds ", len, " bytes; a complete one holds ", kRawSize, " (was it cut short?)"));
  }
  LinkCode code;
  code.address = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(raw.data()), kProvisioningAddressSize));
  std::copy(raw.begin() + kProvisioningAddressSize, raw.begin() + kRawSize, code.public_key.begin());
  return code;
}

std::string SerializeProvisionData(const ProvisionData& data) {
  json j = {{"version", 1},
            {"number", data.number},
            {"account_id", data.account_id},
            {"identity_public", Base64Encode(View(data.identity.public_key.Serialize()))},
            {"identity_private", Base64Encode(View(data.identity.private_key.raw()))},
            {"link_token", data.link_token}};
  return j.dump();
}

absl::StatusOr<ProvisionData> ParseProvisionData(std::string_view bytes) {
  json j = json::parse(bytes, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("the provision is not a JSON object");
  if (j.value("version", 0) != 1) return absl::InvalidArgumentError("the provision has an unknown version");
  ProvisionData out;
  auto text = [&](const char* name) -> absl::StatusOr<std::string> {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("the provision's \"", name, "\" is missing"));
    }
    return it->get<std::string>();
  };
  ASSIGN_OR_RETURN(out.number, text("number"));
  ASSIGN_OR_RETURN(out.link_token, text("link_token"));
  auto id = j.find("account_id");
  if (id == j.end() || !id->is_number_unsigned()) {
    return absl::InvalidArgumentError("the provision's \"account_id\" is missing");
  }
  out.account_id = id->get<uint64_t>();
  ASSIGN_OR_RETURN(std::string pub_b64, text("identity_public"));
  ASSIGN_OR_RETURN(std::string priv_b64, text("identity_private"));
  ASSIGN_OR_RETURN(std::string pub, Base64Decode(pub_b64, "identity_public"));
  ASSIGN_OR_RETURN(std::string priv, Base64Decode(priv_b64, "identity_private"));
  ASSIGN_OR_RETURN(crypto::PrivateKey private_key, crypto::PrivateKey::Deserialize(Bytes(priv)));
  sodium_memzero(priv.data(), priv.size());
  out.identity = crypto::KeyPair::FromPrivate(private_key);
  if (View(out.identity.public_key.Serialize()) != pub) {
    return absl::InvalidArgumentError("the provision's identity key halves do not belong together");
  }
  return out;
}

std::string SealProvision(const ProvisionData& data,
                          const std::array<uint8_t, crypto::kKeySize>& public_key) {
  InitSodium();
  std::string plain = SerializeProvisionData(data);
  std::string sealed(plain.size() + crypto_box_SEALBYTES, '\0');
  crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()),
                  reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), public_key.data());
  sodium_memzero(plain.data(), plain.size());
  return sealed;
}

absl::StatusOr<ProvisionData> OpenProvision(std::string_view sealed,
                                            const std::array<uint8_t, crypto::kKeySize>& secret) {
  InitSodium();
  if (sealed.size() <= crypto_box_SEALBYTES) {
    return absl::DataLossError("the provisioning message is too short to be sealed");
  }
  std::array<uint8_t, crypto::kKeySize> public_key{};
  crypto_scalarmult_base(public_key.data(), secret.data());
  std::string plain(sealed.size() - crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(plain.data()),
                           reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                           public_key.data(), secret.data()) != 0) {
    return absl::DataLossError(
        "the provisioning message does not open with this link code's key: it was altered or sealed to "
        "another device");
  }
  absl::StatusOr<ProvisionData> out = ParseProvisionData(plain);
  sodium_memzero(plain.data(), plain.size());
  return out;
}

absl::StatusOr<PendingLink> StartLink(RelayTransport& transport, const std::string& server, Random& random) {
  ASSIGN_OR_RETURN(json j,
                   JsonAnswer(transport.Request(server, "POST", "/v1/provisioning", "", JsonHeaders())));
  PendingLink out;
  ASSIGN_OR_RETURN(out.address, Field<std::string>(j, "address"));
  InitSodium();
  random.Fill(out.secret);
  LinkCode code;
  code.address = out.address;
  crypto_scalarmult_base(code.public_key.data(), out.secret.data());
  ASSIGN_OR_RETURN(out.code, EncodeLinkCode(code));
  return out;
}

absl::Status SendProvision(RelayTransport& transport, const std::string& server,
                           const relay::Credentials& primary, const std::string& code, ProvisionData data) {
  // The code is checked before the relay is asked for anything.
  ASSIGN_OR_RETURN(LinkCode parsed, ParseLinkCode(code));
  ASSIGN_OR_RETURN(json token, JsonAnswer(transport.Request(server, "POST", "/v1/devices/link-token", "",
                                                            JsonHeaders(&primary))));
  ASSIGN_OR_RETURN(data.link_token, Field<std::string>(token, "token"));
  json body = {{"message", Base64Encode(SealProvision(data, parsed.public_key))}};
  return HttpError(transport.Request(server, "PUT", "/v1/provisioning/" + parsed.address, body.dump(),
                                     JsonHeaders(&primary)));
}

absl::StatusOr<std::optional<ProvisionData>> PollProvision(
    RelayTransport& transport, const std::string& server, const std::string& address,
    const std::array<uint8_t, crypto::kKeySize>& secret) {
  ASSIGN_OR_RETURN(json j,
                   JsonAnswer(transport.Request(server, "GET", "/v1/provisioning/" + address, "", {})));
  if (j.value("waiting", false)) return std::optional<ProvisionData>();
  ASSIGN_OR_RETURN(std::string message_b64, Field<std::string>(j, "message"));
  ASSIGN_OR_RETURN(std::string sealed, Base64Decode(message_b64, "message"));
  ASSIGN_OR_RETURN(ProvisionData data, OpenProvision(sealed, secret));
  return std::optional<ProvisionData>(std::move(data));
}

absl::StatusOr<CompanionRegistration> RegisterCompanion(RelayTransport& transport, const std::string& server,
                                                        const ProvisionData& data, uint32_t registration_id) {
  json body = {{"token", data.link_token},
               {"registration_id", registration_id},
               {"identity_key", Base64Encode(View(data.identity.public_key.Serialize()))}};
  ASSIGN_OR_RETURN(json j,
                   JsonAnswer(transport.Request(server, "POST", "/v1/devices", body.dump(), JsonHeaders())));
  CompanionRegistration out;
  ASSIGN_OR_RETURN(out.credentials.account_id, Field<uint64_t>(j, "account_id"));
  ASSIGN_OR_RETURN(out.credentials.device_id, Field<uint32_t>(j, "device_id"));
  ASSIGN_OR_RETURN(out.credentials.password, Field<std::string>(j, "password"));
  ASSIGN_OR_RETURN(out.number, Field<std::string>(j, "number"));
  return out;
}

absl::StatusOr<std::vector<LinkedDevice>> ListDevices(RelayTransport& transport, const std::string& server,
                                                      const relay::Credentials& who) {
  ASSIGN_OR_RETURN(json j, JsonAnswer(transport.Request(server, "GET", "/v1/devices", "", Auth(who))));
  auto list = j.find("devices");
  if (list == j.end() || !list->is_array())
    return absl::InternalError("the relay's answer has no \"devices\"");
  std::vector<LinkedDevice> out;
  for (const json& d : *list) {
    if (!d.is_object()) return absl::InternalError("the relay's answer has a malformed \"devices\"");
    LinkedDevice device;
    ASSIGN_OR_RETURN(device.device_id, Field<uint32_t>(d, "device_id"));
    ASSIGN_OR_RETURN(device.created_ms, Field<int64_t>(d, "created_ms"));
    ASSIGN_OR_RETURN(device.registration_id, Field<uint32_t>(d, "registration_id"));
    out.push_back(device);
  }
  return out;
}

absl::Status RemoveDevice(RelayTransport& transport, const std::string& server, const relay::Credentials& who,
                          uint32_t device_id) {
  return HttpError(
      transport.Request(server, "DELETE", absl::StrCat("/v1/devices/", device_id), "", Auth(who)));
}

}  // namespace tandem::client
