// Attachment throughput through a running relay: registers a device, then
// times, for one file,
//   encrypt   EncryptAttachmentFile alone (the client's crypto cost);
//   upload    AttachmentClient::Upload: encryption, then the blob in chunks
//             of the relay's max_chunk, each fdatasync'ed by the relay
//             before it answers;
//   download  AttachmentClient::Download: the blob in 8 MiB ranges, the
//             digest and MAC pass, the decrypting pass;
//   decrypt   DecryptAttachmentFile alone;
//   upload_blob, download_blob  the relay's part alone: an encrypted blob
//             sent in max_chunk PUTs and fetched in 8 MiB ranges.
// and checks that the downloaded file equals the original. One JSON line
// per phase: {"phase", "bytes", "seconds", "mib_per_s"}.
//
// Usage: attachment_bench --server host:port --data-dir DIR --file PATH
//        [--out PATH] [--scratch DIR] [--number +1650...]
// (DIR is the relay's data directory, where the dev code sender writes
// verification-codes.log.) bench/attachment_bench.sh runs it beside dd and
// a plain HTTP copy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/escaping.h"
#include "client/attachments.h"
#include "client/relay_transport.h"
#include "common/clock.h"
#include "common/random.h"
#include "crypto/attachment.h"
#include "crypto/keys.h"
#include "net/client.h"
#include "relay_protocol/protocol.h"

namespace {

using namespace tandem;  // NOLINT: a standalone tool

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "attachment_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string Register(const std::string& server, const std::filesystem::path& data_dir,
                     const std::string& number) {
  net::HttpClient http(server);
  auto code = http.Post("/v1/registration/code", nlohmann::json{{"number", number}}.dump());
  if (!code.ok() || code->status != 200)
    Die("code request failed: " + (code.ok() ? code->body : code.status().ToString()));
  std::string when, n, c, found;
  std::ifstream in(data_dir / "verification-codes.log");
  while (in >> when >> n >> c) {
    if (n == number) found = c;
  }
  if (found.empty()) Die("no code for " + number + " in the relay's code log");
  auto key = crypto::KeyPair::Generate(SecureRandom::Instance()).public_key.Serialize();
  nlohmann::json body = {{"number", number},
                         {"code", found},
                         {"identity_key", absl::Base64Escape(std::string(key.begin(), key.end()))},
                         {"registration_id", 1}};
  auto verified = http.Post("/v1/registration/verify", body.dump());
  if (!verified.ok() || verified->status != 200) Die("verify failed");
  auto j = nlohmann::json::parse(verified->body);
  return relay::BasicAuthorization(relay::Credentials{
      j["account_id"].get<uint64_t>(), j["device_id"].get<uint32_t>(), j["password"].get<std::string>()});
}

template <typename Fn>
void Phase(const char* name, uint64_t bytes, Fn&& fn) {
  auto start = std::chrono::steady_clock::now();
  absl::Status st = fn();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!st.ok()) Die(std::string(name) + ": " + st.ToString());
  std::printf("%s\n", nlohmann::json{{"phase", name},
                                     {"bytes", bytes},
                                     {"seconds", s},
                                     {"mib_per_s", static_cast<double>(bytes) / (1 << 20) / s}}
                          .dump()
                          .c_str());
  std::fflush(stdout);
}

bool SameFiles(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  std::string ba(1 << 20, '\0'), bb(1 << 20, '\0');
  for (;;) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount()) return false;
    if (fa.gcount() == 0) return true;
    if (std::memcmp(ba.data(), bb.data(), static_cast<size_t>(fa.gcount())) != 0) return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string server, data_dir, file, out, scratch, number = "+16505550199";
  uint64_t range_mib = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--server")
      server = value;
    else if (flag == "--data-dir")
      data_dir = value;
    else if (flag == "--file")
      file = value;
    else if (flag == "--out")
      out = value;
    else if (flag == "--scratch")
      scratch = value;
    else if (flag == "--number")
      number = value;
    else if (flag == "--range-mib")
      range_mib = std::stoull(value);
    else
      Die("unknown flag " + flag);
  }
  if (server.empty() || data_dir.empty() || file.empty()) Die("--server, --data-dir and --file are required");
  if (out.empty()) out = file + ".received";
  if (scratch.empty()) scratch = std::filesystem::path(file).parent_path().string();
  const uint64_t size = std::filesystem::file_size(file);
  const uint64_t blob_size = crypto::AttachmentBlobSize(size);
  const std::string authorization = Register(server, data_dir, number);

  Random& random = SecureRandom::Instance();
  const std::string key = crypto::GenerateAttachmentKey(random);
  const std::string iv(16, '\x11');
  const std::string blob = (std::filesystem::path(scratch) / "bench.blob").string();
  crypto::EncryptedFile enc;
  Phase("encrypt", size, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(enc, crypto::EncryptAttachmentFile(key, iv, file, blob));
    return absl::OkStatus();
  });
  Phase("decrypt", size, [&] { return crypto::DecryptAttachmentFile(key, enc.digest, size, blob, out); });
  std::filesystem::remove(out);

  // The relay's part alone: the encrypted blob sent and fetched with the
  // same requests the client makes, no crypto on either side.
  net::HttpClient http(server);
  const net::Headers auth = {{"Authorization", authorization}};
  std::string id;
  Phase("upload_blob", blob_size, [&]() -> absl::Status {
    auto created = http.Post("/v1/attachments", nlohmann::json{{"length", blob_size}}.dump(), auth);
    if (!created.ok() || created->status != 201) return absl::InternalError("create failed");
    auto j = nlohmann::json::parse(created->body);
    id = j["id"].get<std::string>();
    const auto chunk_size = j["max_chunk"].get<uint64_t>();
    std::ifstream in(blob, std::ios::binary);
    std::string chunk;
    for (uint64_t offset = 0; offset < blob_size; offset += chunk.size()) {
      chunk.resize(std::min(chunk_size, blob_size - offset));
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      auto r =
          http.Request("PUT", "/v1/attachments/" + id + "?offset=" + std::to_string(offset), chunk, auth);
      if (!r.ok() || r->status != 200) return absl::InternalError("chunk failed");
    }
    return absl::OkStatus();
  });
  Phase("download_blob", blob_size, [&]() -> absl::Status {
    std::ofstream o(out, std::ios::binary);
    const uint64_t step = range_mib << 20;
    for (uint64_t at = 0; at < blob_size; at += step) {
      net::Headers h = auth;
      h.emplace_back("Range", "bytes=" + std::to_string(at) + "-" + std::to_string(at + step - 1));
      auto r = http.Get("/v1/attachments/" + id, h);
      if (!r.ok() || r->status != 206) return absl::InternalError("range failed");
      o.write(r->body.data(), static_cast<std::streamsize>(r->body.size()));
    }
    return absl::OkStatus();
  });
  std::filesystem::remove(blob);
  std::filesystem::remove(out);

  auto transport = client::MakeNetworkTransport();
  client::AttachmentOptions options;
  options.scratch_dir = scratch;
  client::AttachmentClient attachments(*transport, server, authorization, SystemClock::Real(), random,
                                       options);
  client::AttachmentPointer pointer;
  Phase("upload", size, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(pointer, attachments.Upload(file, "application/octet-stream"));
    return absl::OkStatus();
  });
  Phase("download", size, [&] { return attachments.Download(pointer, out); });
  if (!SameFiles(file, out)) Die("the downloaded file differs from the original");
  std::fprintf(stderr, "blob of %llu bytes for %llu bytes of plaintext; round trip verified\n",
               static_cast<unsigned long long>(blob_size), static_cast<unsigned long long>(size));
  std::filesystem::remove(out);
  return 0;
}
