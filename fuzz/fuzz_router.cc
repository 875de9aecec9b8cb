// The whole HTTP surface of tandemd: every route of the relay, the feed,
// the social network and ads, assembled as `tandemd serve` assembles them
// (SQLite files in a scratch directory), driven through Server::Handle with
// an attacker's method, path, headers and body.
//
// Input format, so that the corpus stays readable:
//   line 1: the method; line 2: the target (path and query);
//   then "name: value" header lines up to an empty line; the rest is the body.
// In header values the words {admin}, {feed}, {advertiser}, {user} and
// {device} become a valid ads operator token, feed token, advertiser token,
// social user token and relay device's Basic credentials, so that inputs
// reach past authentication (the relay's key upload parser, for one).
//
// Whatever the input, the answer must be a well-formed response: a status
// the API documents (never 500, which would mean an input crashed a
// handler's assumptions), a JSON body for errors, and the server must still
// answer /healthz afterwards.
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ads/ads_module.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "net/server.h"
#include "relay/relay.h"
#include "social/social_module.h"

namespace {

using tandem::net::Request;
using tandem::net::Response;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz_router: %s\n", what.c_str());
  std::abort();
}

struct World {
  std::filesystem::path dir;
  tandem::net::Metrics metrics;
  std::unique_ptr<tandem::social::SocialModule> social;
  std::unique_ptr<tandem::ads::AdsModule> ads;
  std::unique_ptr<tandem::relay::RelayModule> relay;
  std::unique_ptr<tandem::net::Server> server;
  std::string advertiser_token;
  std::string user_token;
  std::string device_authorization;

  Response Call(std::string method, std::string target, std::string body,
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers = std::move(headers);
    req.body = std::move(body);
    req.remote_address = "192.0.2.1:4000";
    req.request_id = "fuzz";
    return server->Handle(req);
  }
};

std::string LastCodeFor(const std::filesystem::path& log, const std::string& e164) {
  std::ifstream in(log);
  std::string line, code;
  while (std::getline(in, line)) {
    if (line.find(e164) == std::string::npos) continue;
    code = line.substr(line.find_last_of(' ') + 1);
  }
  return code;
}

World* g_world = nullptr;

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    g_world = w;
    tandem::log::SetLevel(tandem::log::Level::kOff);
    w->dir = std::filesystem::temp_directory_path() / ("fuzz_router_" + std::to_string(getpid()));
    std::filesystem::remove_all(w->dir);
    std::filesystem::create_directories(w->dir);
    // The relay's threads stop and the scratch files go when the process
    // exits normally.
    std::atexit([] {
      std::filesystem::path dir = g_world->dir;
      g_world->relay->Stop();
      delete g_world;
      std::filesystem::remove_all(dir);
    });
    auto config =
        tandem::Config::Load("", {"feed.url=self", "feed.token=fuzzfeedtoken",
                                  "ads.admin_token=fuzzadmintoken", "server.data_dir=" + w->dir.string()});
    if (!config.ok()) Die(std::string(config.status().message()));
    tandem::net::Router router;
    tandem::net::ModuleEnv env{
        *config, w->dir, router, w->metrics, tandem::SystemClock::Real(), tandem::SecureRandom::Instance()};
    auto social = tandem::social::SocialModule::Create(env);
    if (!social.ok() || !*social) Die("social module");
    w->social = std::move(*social);
    auto ads = tandem::ads::AdsModule::Create(env, *w->social);
    if (!ads.ok() || !*ads) Die("ads module");
    w->ads = std::move(*ads);
    w->social->SetAdSource(&w->ads->ad_source());
    auto relay = tandem::relay::RelayModule::Create(env);
    if (!relay.ok() || !*relay) Die("relay");
    w->relay = std::move(*relay);
    tandem::net::ServerOptions options;
    options.listen = "127.0.0.1:0";
    w->server = std::make_unique<tandem::net::Server>(options, std::move(router), w->metrics);
    w->relay->AttachTo(*w->server);

    Response adv = w->Call("POST", "/v1/ads/advertisers", R"({"name":"Fuzz Bakery"})",
                           {{"authorization", "Bearer fuzzadmintoken"}});
    if (adv.status != 201) Die("advertiser: " + adv.body);
    w->advertiser_token = nlohmann::json::parse(adv.body)["token"];
    const std::string phone = "+14155550199";
    Response reg = w->Call("POST", "/v1/social/register", R"({"phone":")" + phone + R"("})");
    if (reg.status / 100 != 2) Die("social register: " + reg.body);
    std::string code;
    for (const auto& entry : std::filesystem::directory_iterator(w->dir)) {
      if (entry.path().filename().string().find("social") != std::string::npos &&
          entry.path().extension() == ".log") {
        code = LastCodeFor(entry.path(), phone);
      }
    }
    if (code.empty()) Die("no social code was logged");
    Response ver = w->Call("POST", "/v1/social/verify",
                           R"({"phone":")" + phone + R"(","code":")" + code + R"(","display_name":"Fuzz"})");
    if (ver.status / 100 != 2) Die("social verify: " + ver.body);
    w->user_token = nlohmann::json::parse(ver.body)["token"];

    // A messenger device. Its identity key is fixed, so that a seed can
    // carry prekeys signed by it.
    const std::string number = "+14155550198";
    Response code_sent = w->Call("POST", "/v1/registration/code", R"({"number":")" + number + R"("})");
    if (code_sent.status != 200) Die("relay code: " + code_sent.body);
    std::string relay_code = LastCodeFor(w->dir / "verification-codes.log", number);
    if (relay_code.empty()) Die("no relay code was logged");
    std::array<uint8_t, tandem::crypto::kKeySize> secret{};
    for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(i + 1);
    auto identity = tandem::crypto::KeyPair::FromPrivate(tandem::crypto::PrivateKey(secret));
    nlohmann::json verify = {{"number", number},
                             {"code", relay_code},
                             {"identity_key", tandem::Base64Encode(identity.public_key.Serialize())},
                             {"registration_id", 1}};
    Response device = w->Call("POST", "/v1/registration/verify", verify.dump());
    if (device.status != 200) Die("relay verify: " + device.body);
    auto creds = nlohmann::json::parse(device.body);
    w->device_authorization = tandem::relay::BasicAuthorization(tandem::relay::Credentials{
        creds["account_id"].get<uint64_t>(), creds["device_id"].get<uint32_t>(), creds["password"]});
    return w;
  }();
  return *world;
}

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

bool Documented(int status) {
  switch (status) {
    case 200:
    case 201:
    case 202:
    case 204:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
    case 409:
    case 413:
    case 429:
    case 503:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  std::string input(reinterpret_cast<const char*>(data), size);
  auto next_line = [&input](size_t* at) {
    size_t end = input.find('\n', *at);
    if (end == std::string::npos) end = input.size();
    std::string line = input.substr(*at, end - *at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    *at = std::min(input.size(), end + 1);
    return line;
  };
  size_t at = 0;
  std::string method = next_line(&at);
  std::string target = next_line(&at);
  if (method.empty()) method = "GET";
  if (target.empty() || target[0] != '/') target = "/" + target;
  std::vector<std::pair<std::string, std::string>> headers;
  while (at < input.size()) {
    std::string line = next_line(&at);
    if (line.empty()) break;
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    ReplaceAll(value, "{admin}", "fuzzadmintoken");
    ReplaceAll(value, "{feed}", "fuzzfeedtoken");
    ReplaceAll(value, "{advertiser}", world.advertiser_token);
    ReplaceAll(value, "{user}", world.user_token);
    ReplaceAll(value, "{device}", world.device_authorization);
    headers.emplace_back(std::move(name), std::move(value));
  }
  std::string body = input.substr(at);
  Response res = world.Call(method, target, body, headers);
  static const bool verbose = std::getenv("FUZZ_ROUTER_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "%s %s -> %d %.160s\n", method.substr(0, 20).c_str(), target.substr(0, 60).c_str(),
                 res.status, res.body.c_str());
  if (!Documented(res.status))
    Die("status " + std::to_string(res.status) + " for " + method + " " + target + ": " + res.body);
  if (res.status >= 400) {
    auto j = nlohmann::json::parse(res.body, nullptr, false);
    if (j.is_discarded() || !j.contains("error") || !j["error"].contains("code")) {
      Die("error without a JSON error body for " + method + " " + target + ": " + res.body);
    }
  }
  Response health = world.Call("GET", "/healthz", "");
  if (health.status != 200) Die("/healthz answered " + std::to_string(health.status));
  return 0;
}
