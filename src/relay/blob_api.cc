// JSON and raw bytes <-> BlobStore; see blob_api.h.
#include "relay/blob_api.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/worker.h"

namespace tandem::relay {
namespace {

using nlohmann::json;

// The device credentials every authenticated relay route takes.
absl::StatusOr<Credentials> Authenticate(AccountService& accounts, const net::Request& req) {
  ASSIGN_OR_RETURN(Credentials c, ParseBasicAuthorization(req.Header("authorization")));
  RETURN_IF_ERROR(accounts.Authenticate(c));
  return c;
}

using BlobBody = std::function<absl::StatusOr<net::Response>(net::Request&, const Credentials&)>;

net::Handler Authed(AccountService& accounts, BlobBody body) {
  return net::Authenticated<Credentials>(
      [&accounts](net::Request& req) { return Authenticate(accounts, req); }, std::move(body));
}

net::Response UploadJson(const BlobUpload& up, const BlobStoreOptions& options, int status = 200) {
  return net::Response::Json({{"id", up.id},
                              {"length", up.length},
                              {"offset", up.offset},
                              {"complete", up.complete},
                              {"max_chunk", options.max_chunk}},
                             status);
}

absl::StatusOr<int64_t> OffsetParam(const net::Request& req) {
  std::string text = req.QueryParam("offset");
  int64_t offset = 0;
  if (text.empty()) return absl::InvalidArgumentError("the query parameter 'offset' is required");
  if (!absl::SimpleAtoi(text, &offset) || offset < 0) {
    return absl::InvalidArgumentError("the query parameter 'offset' must be a non-negative integer");
  }
  return offset;
}

struct ByteRange {
  int64_t first = 0;
  int64_t length = 0;
  bool partial = false;
};

// "bytes=a-b", "bytes=a-" or "bytes=-n" (one range only) against a blob of
// `size` bytes; no header is the whole blob.
absl::StatusOr<ByteRange> ParseRange(std::string header, int64_t size) {
  if (header.empty()) return ByteRange{0, size, false};
  auto bad = absl::InvalidArgumentError(
      absl::StrCat("unsupported Range header; send one range \"bytes=first-last\" within the ", size,
                   " bytes of the attachment"));
  if (header.substr(0, 6) != "bytes=") return bad;
  header.erase(0, 6);
  size_t dash = header.find('-');
  if (dash == std::string::npos || header.find(',') != std::string::npos) return bad;
  std::string a = header.substr(0, dash), b = header.substr(dash + 1);
  int64_t first = 0, last = size - 1;
  if (a.empty()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(b, &n) || n <= 0) return bad;
    first = std::max<int64_t>(0, size - n);
  } else {
    if (!absl::SimpleAtoi(a, &first) || first < 0) return bad;
    if (!b.empty() && (!absl::SimpleAtoi(b, &last) || last < first)) return bad;
    last = std::min(last, size - 1);
  }
  if (first >= size) return bad;
  return ByteRange{first, last - first + 1, true};
}

}  // namespace

void AddBlobRoutes(net::Router& router, AccountService& accounts, std::shared_ptr<BlobStore> blobs,
                   const BlobStoreOptions& options) {
  router.Post(
      "/v1/attachments",
      Authed(accounts,
             [blobs, options](net::Request& req, const Credentials& who) -> absl::StatusOr<net::Response> {
               ASSIGN_OR_RETURN(json body, net::ParseJsonObject(req));
               auto it = body.find("length");
               if (it == body.end() || !it->is_number_integer()) {
                 return absl::InvalidArgumentError("\"length\" must be the blob's size in bytes, an integer");
               }
               ASSIGN_OR_RETURN(BlobUpload up, blobs->Create(who.account_id, it->get<int64_t>()));
               return UploadJson(up, options, 201);
             }),
      net::Work::kHeavy);

  router.Put(
      "/v1/attachments/{id}",
      Authed(accounts,
             [blobs, options](net::Request& req, const Credentials& who) -> absl::StatusOr<net::Response> {
               ASSIGN_OR_RETURN(int64_t offset, OffsetParam(req));
               ASSIGN_OR_RETURN(BlobUpload up,
                                blobs->Append(who.account_id, req.PathParam("id"), offset, req.body));
               return UploadJson(up, options);
             }),
      net::Work::kHeavy);
  // The chunks are large; only an authenticated caller gets to send one.
  router.SetBodyLimit("PUT", "/v1/attachments/{id}", static_cast<size_t>(options.max_chunk),
                      [&accounts](const net::Request& req) { return Authenticate(accounts, req).status(); });

  router.Get(
      "/v1/attachments/{id}/upload",
      Authed(accounts,
             [blobs, options](net::Request& req, const Credentials& who) -> absl::StatusOr<net::Response> {
               ASSIGN_OR_RETURN(BlobUpload up, blobs->UploadState(who.account_id, req.PathParam("id")));
               return UploadJson(up, options);
             }));

  router.Get(
      "/v1/attachments/{id}",
      Authed(accounts,
             [blobs](net::Request& req, const Credentials& who) -> absl::StatusOr<net::Response> {
               const std::string id = req.PathParam("id");
               ASSIGN_OR_RETURN(int64_t size, blobs->Size(id));
               ASSIGN_OR_RETURN(ByteRange range, ParseRange(std::string(req.Header("range")), size));
               ASSIGN_OR_RETURN(std::string bytes, blobs->Read(id, range.first, range.length));
               net::Response res{range.partial ? 206 : 200, "application/octet-stream", std::move(bytes), {}};
               if (range.partial) {
                 res.headers.emplace_back(
                     "Content-Range",
                     absl::StrCat("bytes ", range.first, "-", range.first + range.length - 1, "/", size));
               }
               res.headers.emplace_back("Accept-Ranges", "bytes");
               return res;
             }),
      net::Work::kHeavy);

  router.Delete("/v1/attachments/{id}",
                Authed(accounts,
                       [blobs](net::Request& req, const Credentials& who) -> absl::StatusOr<net::Response> {
                         RETURN_IF_ERROR(blobs->DeleteOwn(who.account_id, req.PathParam("id")));
                         return net::Response::Json({{"deleted", true}});
                       }),
                net::Work::kHeavy);
}

absl::StatusOr<EnabledAttachments> EnableAttachments(const net::ModuleEnv& env, AccountService& accounts,
                                                     const std::string& database_path,
                                                     const BlobStoreOptions& options) {
  // Destroyed in reverse: the worker stops before the store, the store
  // goes before its database connection.
  struct Attachments {
    std::unique_ptr<store::Database> db;
    std::unique_ptr<LocalBlobStore> store;
    std::shared_ptr<Worker> expiry;
  };
  auto a = std::make_shared<Attachments>();
  store::SqliteOptions sqlite;
  sqlite.synchronous_full = true;
  ASSIGN_OR_RETURN(a->db, store::OpenSqlite(database_path, sqlite));
  ASSIGN_OR_RETURN(
      a->store, LocalBlobStore::Open(env.data_dir / "attachments", *a->db, env.clock, env.random, options));
  LocalBlobStore* blobs = a->store.get();
  a->expiry = std::make_shared<Worker>("blob-expiry", env.clock, [blobs, options] {
    if (auto n = blobs->Expire(); !n.ok()) {
      log::Warn("blob.expiry_failed", {{"error", std::string(n.status().message())}});
    }
    return options.upkeep_interval;
  });
  a->expiry->Start();
  std::shared_ptr<BlobStore> shared(a, blobs);
  AddBlobRoutes(env.router, accounts, shared, options);
  return EnabledAttachments{shared, a->expiry};
}

}  // namespace tandem::relay
