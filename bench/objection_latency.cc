// Objection-to-enforcement latency through the real binaries: a tandemd in
// its embedded default (the social side consumes the messenger's own feed
// over HTTP), one person registered on both the messenger and the social
// network with the same number. The person objects to the ads purpose on
// the messenger (PUT /v1/privacy/objections/ads with the messenger's Basic
// credentials) and withdraws, in turn; each change is timed from the moment
// the PUT is sent until the social side enforces it: GET
// /v1/social/me/facts?purpose=ads (polled back to back on its own
// connection) shows, or stops showing, the messenger-provided facts.
//
// Each mode runs its own tandemd: "long_poll" (feed.wait_ms=25000, the
// default) and "poll" (feed.wait_ms=0: a pull every feed.poll_interval_ms,
// 200 by default, as before long polls). Changes are spaced by a random
// pause (up to --pause-ms) so that they fall anywhere in a poll interval.
//
// Usage: objection_latency --tandemd build/src/app/tandemd [--changes 200]
//        [--modes long_poll,poll] [--pause-ms 250] [--work DIR]
//        [--set key=value]...
// Exits non-zero if a change is not enforced within 10 s, or tandemd logs
// a feed error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "net/client.h"
#include "relay_protocol/protocol.h"
#include "relay_test_support.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using relay::Credentials;
using relay::testing::Tandemd;

struct Flags {
  std::string tandemd;
  int changes = 200;
  int pause_ms = 250;
  std::vector<std::string> modes = {"long_poll", "poll"};
  std::string work;
  std::vector<std::string> settings;
};

constexpr char kNumber[] = "+16502530177";

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// The last code the social side's dev sender wrote for `number`
// ("<UTC time> <number> <code>").
std::string SocialCode(const std::filesystem::path& data_dir, const std::string& number) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(data_dir / "social-verification-codes.log");
    std::string line, found;
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() >= 2 && f[f.size() - 2] == number) found = f.back();
    }
    if (!found.empty()) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

// The tandemd of the mode that runs, so that a failure does not leave it
// running (std::exit runs no destructors).
Tandemd* running = nullptr;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "objection_latency: %s\n", what.c_str());
  if (running != nullptr) running->Kill();
  std::exit(1);
}

struct Result {
  std::string mode;
  std::vector<double> enforced_ms;   // PUT sent -> enforcement seen
  std::vector<double> put_ms;        // PUT sent -> PUT answered (the messenger's commit)
  std::vector<double> after_put_ms;  // PUT answered -> enforcement seen (0 if seen before)
  size_t feed_errors = 0;
};

Result RunMode(const Flags& flags, const std::string& mode, const std::filesystem::path& work) {
  std::vector<std::string> settings = flags.settings;
  settings.push_back(mode == "poll" ? "feed.wait_ms=0" : "feed.wait_ms=25000");
  std::filesystem::remove_all(work);
  Tandemd server(flags.tandemd, work, settings);
  running = &server;
  if (!server.Start()) Die("tandemd did not start (see " + (work / "tandemd.log").string() + ")");
  const std::string address = server.address();
  net::HttpClient http(address, absl::Seconds(10));

  SecureRandom& random = SecureRandom::Instance();
  std::string identity = relay::testing::ToString(crypto::KeyPair::Generate(random).public_key.Serialize());
  auto creds = relay::testing::RegisterNumber(http, server.data_dir(), kNumber, identity);
  if (!creds.ok()) Die("messenger registration: " + std::string(creds.status().message()));
  const net::Headers messenger = {{"Authorization", relay::BasicAuthorization(*creds)}};

  auto reg = http.Post("/v1/social/register", json{{"phone", kNumber}}.dump());
  if (!reg.ok() || reg->status != 202) Die("social register failed");
  auto verified = http.Post(
      "/v1/social/verify",
      json{{"phone", kNumber}, {"code", SocialCode(server.data_dir(), kNumber)}, {"display_name", "Olive"}}
          .dump());
  if (!verified.ok() || verified->status / 100 != 2) Die("social verify failed");
  const net::Headers social = {
      {"Authorization", "Bearer " + json::parse(verified->body)["token"].get<std::string>()}};

  // Whether the ads purpose sees messenger-provided facts about the person.
  net::HttpClient observer(address, absl::Seconds(10));
  auto ads_sees_messenger = [&] {
    auto res = observer.Get("/v1/social/me/facts?purpose=ads", social);
    if (!res.ok() || res->status != 200) Die("GET /v1/social/me/facts failed");
    const json body = json::parse(res->body);
    for (const auto& fact : body["facts"]) {
      if (fact.value("provenance", "") == "messenger") return true;
    }
    return false;
  };
  auto await = [&](bool sees, Clock::time_point since) {
    while (ads_sees_messenger() != sees) {
      // A short breath between reads, so the observer does not crowd the
      // server's threads (the resolution stays well under a millisecond).
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      if (Clock::now() - since > std::chrono::seconds(10)) {
        auto res = observer.Get("/v1/social/me/facts?purpose=ads", social);
        Die(absl::StrCat(mode,
                         ": a change was not enforced within 10 s; facts: ", res.ok() ? res->body : ""));
      }
    }
    return Clock::now();
  };
  await(true, Clock::now());  // the account link crossed the feed

  Result result;
  result.mode = mode;
  std::mt19937 pauses(7);
  for (int i = 0; i < flags.changes; ++i) {
    const bool objected = i % 2 == 0;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, flags.pause_ms)(pauses)));
    const auto start = Clock::now();
    auto put =
        http.Request("PUT", "/v1/privacy/objections/ads", json{{"objected", objected}}.dump(), messenger);
    const auto answered = Clock::now();
    if (!put.ok() || put->status != 200) Die("PUT /v1/privacy/objections/ads failed");
    const auto seen = await(!objected, start);
    result.put_ms.push_back(Ms(answered - start));
    result.enforced_ms.push_back(Ms(seen - start));
    result.after_put_ms.push_back(std::max(0.0, Ms(seen - answered)));
  }

  server.Kill(SIGTERM);
  running = nullptr;
  std::ifstream log(work / "tandemd.log");
  std::string line;
  while (std::getline(log, line)) result.feed_errors += line.find("social.feed_error") != std::string::npos;
  return result;
}

void Print(Result& r) {
  for (auto* v : {&r.enforced_ms, &r.put_ms, &r.after_put_ms}) std::sort(v->begin(), v->end());
  std::printf("%-10s %5zu %8.1f %8.1f %8.1f %8.1f   %8.1f %8.1f   %8.1f %8.1f   %zu\n", r.mode.c_str(),
              r.enforced_ms.size(), Percentile(r.enforced_ms, 0.5), Percentile(r.enforced_ms, 0.9),
              Percentile(r.enforced_ms, 0.99), r.enforced_ms.back(), Percentile(r.put_ms, 0.5),
              Percentile(r.put_ms, 0.99), Percentile(r.after_put_ms, 0.5), Percentile(r.after_put_ms, 0.99),
              r.feed_errors);
}

int Run(const Flags& flags) {
  std::filesystem::path work = flags.work.empty() ? std::filesystem::temp_directory_path() /
                                                        absl::StrCat("objection_latency_", getpid())
                                                  : std::filesystem::path(flags.work);
  std::vector<Result> results;
  for (const std::string& mode : flags.modes) {
    if (mode != "long_poll" && mode != "poll") Die("unknown mode " + mode + " (long_poll, poll)");
    std::printf("%s: %d changes...\n", mode.c_str(), flags.changes);
    std::fflush(stdout);
    results.push_back(RunMode(flags, mode, work / mode));
  }
  std::printf(
      "\nobjection/withdrawal on the messenger -> enforced on the social side, in ms: from the PUT\n"
      "sent (p50..max), the PUT itself (the messenger's commit), and from its answer on (\"then\")\n");
  std::printf("%-10s %5s %8s %8s %8s %8s   %8s %8s   %8s %8s   %s\n", "mode", "n", "p50", "p90", "p99", "max",
              "put p50", "put p99", "then p50", "then p99", "feed errors");
  bool errors = false;
  for (Result& r : results) {
    Print(r);
    errors |= r.feed_errors > 0;
  }
  std::filesystem::remove_all(work);
  return errors ? 1 : 0;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  tandem::bench::Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--tandemd")
      f.tandemd = next();
    else if (a == "--changes")
      f.changes = std::stoi(next());
    else if (a == "--pause-ms")
      f.pause_ms = std::stoi(next());
    else if (a == "--modes")
      f.modes = absl::StrSplit(next(), ',', absl::SkipEmpty());
    else if (a == "--work")
      f.work = next();
    else if (a == "--set")
      f.settings.push_back(next());
    else {
      std::fprintf(stderr,
                   "usage: objection_latency --tandemd PATH [--changes N] [--modes long_poll,poll] "
                   "[--pause-ms MS] [--work DIR] [--set key=value]...\n");
      return 2;
    }
  }
  if (f.tandemd.empty() || f.changes < 1 || f.pause_ms < 0) {
    std::fprintf(stderr, "objection_latency: --tandemd is required, --changes >= 1, --pause-ms >= 0\n");
    return 2;
  }
  return tandem::bench::Run(f);
}
