// Benchmark of customer-list matching (a standalone program: the figures
// are rates per core and bytes per user).
//
//   ads_bench [--users N] [--rows R] [--raw-rows K] [--service-users U]
//
// 1. index: hashes N users' numbers (SHA-256 of the E.164 digits) and builds
//    the matching index; reports build rates and index bytes per user.
// 2. prehashed: R rows of PHONE_SHA256 (half of them on the platform) in
//    batches of 10,000: validation of the 64 hex characters, decoding, and
//    the index lookup, on one core.
// 3. raw: K rows of PHONE in national format with the country hint:
//    normalization (libphonenumber parse + validate + format), hashing and
//    lookup, on one core.
// 4. service: the whole path through AdsService on a social world of U
//    people (bulk-loaded fact index): Upload (validation) of 10,000-row
//    batches and the worker's matching, confirmation of every hit against
//    the ads purpose view, and the membership writes in SQLite.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ads/ads_service.h"
#include "ads/match_index.h"
#include "ads/upload.h"
#include "common/log.h"
#include "common/random.h"
#include "phone/phone.h"

namespace {

using namespace tandem;

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The i-th platform member's number: US numbers +1 650 2xx xxxx and beyond,
// all distinct.
uint64_t MemberDigits(uint64_t i) { return 16502000000ULL + i * 3; }
uint64_t StrangerDigits(uint64_t i) { return 16502000000ULL + i * 3 + 1; }

std::string DigitsOf(uint64_t d) { return std::to_string(d); }

long ArgOr(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long users = ArgOr(argc, argv, "--users", 10'000'000);
  const long rows = ArgOr(argc, argv, "--rows", 10'000'000);
  const long raw_rows = ArgOr(argc, argv, "--raw-rows", 200'000);
  const long service_users = ArgOr(argc, argv, "--service-users", 1'000'000);
  log::SetLevel(log::Level::kWarn);

  // 1. index
  phone::PhoneHasher hasher;
  std::vector<ads::MatchIndex::Entry> entries(static_cast<size_t>(users));
  double t0 = Now(), c0 = CpuSeconds();
  for (long i = 0; i < users; ++i) {
    entries[i] = {ads::MatchIndex::KeyOf(hasher.Hash(DigitsOf(MemberDigits(i)))),
                  static_cast<uint32_t>(i + 1)};
  }
  double hash_s = CpuSeconds() - c0;
  c0 = CpuSeconds();
  ads::MatchIndex index = ads::MatchIndex::Build(entries);
  double build_s = CpuSeconds() - c0;
  entries.clear();
  entries.shrink_to_fit();
  std::printf("index: %ld users, hashing %.1fM/s, build %.1fM/s, %.2f bytes/user (%.0f MB), wall %.1f s\n",
              users, users / hash_s / 1e6, users / build_s / 1e6,
              static_cast<double>(index.memory_bytes()) / users, index.memory_bytes() / 1e6, Now() - t0);

  // 2. pre-hashed rows. Each batch is generated just before it is timed,
  // so its rows are in cache as they are right after the HTTP body was
  // parsed, while index lookups go to random places of the whole table.
  constexpr size_t kBatch = 10'000;
  SeededRandom random(1);
  std::vector<std::string> batch(kBatch);
  std::vector<phone::Digest> digests(kBatch);
  std::vector<uint64_t> keys(kBatch);
  std::vector<uint32_t> found(kBatch);
  size_t hits = 0, done = 0;
  double decode_s = 0, lookup_s = 0;
  while (done < static_cast<size_t>(rows)) {
    for (size_t j = 0; j < kBatch; ++j) {
      uint64_t i = random.Uniform(static_cast<uint64_t>(users));
      batch[j] = hasher.HexHash(DigitsOf(j % 2 ? MemberDigits(i) : StrangerDigits(i)));
    }
    c0 = CpuSeconds();
    for (size_t j = 0; j < kBatch; ++j) {
      auto digest = ads::DecodeLowerHexSha256(batch[j]);
      if (!digest.ok()) std::abort();
      digests[j] = *digest;
    }
    double c1 = CpuSeconds();
    for (size_t j = 0; j < kBatch; ++j) keys[j] = ads::MatchIndex::KeyOf(digests[j]);
    index.LookupBatch(keys, found);
    for (uint32_t u : found) hits += u != 0;
    double c2 = CpuSeconds();
    decode_s += c1 - c0;
    lookup_s += c2 - c1;
    done += kBatch;
  }
  std::printf(
      "prehashed: %zu rows, %.1fM rows/s per core (validate + decode %.1fM/s, index lookup %.1fM/s), "
      "%.1f%% matched\n",
      done, done / (decode_s + lookup_s) / 1e6, done / decode_s / 1e6, done / lookup_s / 1e6,
      100.0 * hits / done);

  // 3. raw rows in national format.
  ads::UploadRequest raw;
  raw.schema = ads::Schema::kPhone;
  raw.country = "US";
  std::vector<ads::UploadRequest> raw_batches;
  for (long i = 0; i < raw_rows; i += static_cast<long>(kBatch)) {
    ads::UploadRequest r = raw;
    for (size_t j = 0; j < kBatch && i + static_cast<long>(j) < raw_rows; ++j) {
      // Indexes below 2.5M keep the numbers in area code 650 (all valid).
      uint64_t pick = random.Uniform(std::min<uint64_t>(users, 2'500'000));
      uint64_t d = (j % 2 ? MemberDigits(pick) : StrangerDigits(pick)) - 10000000000ULL;
      char buf[32];
      std::snprintf(buf, sizeof buf, "(%03llu) %03llu-%04llu", static_cast<unsigned long long>(d / 10000000),
                    static_cast<unsigned long long>(d / 10000 % 1000),
                    static_cast<unsigned long long>(d % 10000));
      r.rows.push_back(buf);
    }
    raw_batches.push_back(std::move(r));
  }
  c0 = CpuSeconds();
  size_t raw_done = 0, raw_invalid = 0;
  hits = 0;
  for (const auto& r : raw_batches) {
    auto parsed = ads::ValidateBatch(r, nullptr);
    if (!parsed.ok()) std::abort();
    raw_invalid += parsed->invalid.size();
    std::vector<uint64_t> k(parsed->digests.size());
    for (size_t j = 0; j < k.size(); ++j) k[j] = ads::MatchIndex::KeyOf(parsed->digests[j]);
    std::vector<uint32_t> f(k.size());
    index.LookupBatch(k, f);
    for (uint32_t u : f) hits += u != 0;
    raw_done += r.rows.size();
  }
  double raw_s = CpuSeconds() - c0;
  std::printf(
      "raw: %zu rows, %.1fk rows/s per core (normalize + hash + lookup), %zu invalid, %.1f%% matched; "
      "libphonenumber parse+validate+format limit ~43k/s\n",
      raw_done, raw_done / raw_s / 1e3, raw_invalid, 100.0 * hits / raw_done);
  index = ads::MatchIndex();

  // 4. the whole service path.
  auto social = social::SocialDb::OpenSqlite(":memory:");
  if (!social.ok()) std::abort();
  auto& facts = (*social)->mutable_index_for_testing();
  facts.ReserveUsers(static_cast<social::UserId>(service_users));
  for (long i = 0; i < service_users; ++i) {
    facts.PutUser(static_cast<social::UserId>(i + 1), MemberDigits(i), i % 2 == 0);
    if (i % 2 == 1) facts.LinkMessengerAccount("m" + std::to_string(i), MemberDigits(i));
  }
  FakeClock clock;
  ads::AdsOptions options;
  options.noise_secret = "bench";
  auto service = ads::AdsService::Create(**social, clock, random, options);
  if (!service.ok()) std::abort();
  auto adv = (*service)->CreateAdvertiser("bench");
  auto aud = (*service)->CreateAudience(adv->id, "bench", "");
  const size_t service_batches = 100;
  std::vector<ads::UploadRequest> requests;
  for (size_t n = 0; n < service_batches; ++n) {
    ads::UploadRequest r;
    r.session_id = "bench";
    r.batch_seq = static_cast<int64_t>(n + 1);
    r.last_batch = n + 1 == service_batches;
    for (size_t j = 0; j < kBatch; ++j) {
      uint64_t i = random.Uniform(static_cast<uint64_t>(service_users));
      r.rows.push_back(hasher.HexHash(DigitsOf(j % 2 ? MemberDigits(i) : StrangerDigits(i))));
    }
    requests.push_back(std::move(r));
  }
  (*service)->RunPending();  // the start-up reconcile
  double w0 = Now();
  c0 = CpuSeconds();
  for (const auto& r : requests) {
    if (!(*service)->Upload(adv->id, aud->id, ads::SessionKind::kAdd, r).ok()) std::abort();
  }
  double upload_s = CpuSeconds() - c0;
  c0 = CpuSeconds();
  (*service)->RunPending();
  double match_s = CpuSeconds() - c0;
  auto members = (*service)->MembershipsForTesting(aud->id);
  size_t total = service_batches * kBatch;
  std::printf(
      "service: %zu pre-hashed rows against %ld people: upload %.2fM rows/s, matching (index rebuild, "
      "lookup, "
      "confirmation, SQLite writes) %.2fM rows/s, %zu members, wall %.2f s\n",
      total, service_users, total / upload_s / 1e6, total / match_s / 1e6, members->size(), Now() - w0);
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS %.0f MB\n", ru.ru_maxrss / 1024.0);
  return 0;
}
