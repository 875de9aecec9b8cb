// Assembles the server from configuration. Later components register their
// routes here, each with its own database file under the data directory.
#include "app/serve.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "ads/ads_module.h"
#include "app/demo.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/config_schema.h"
#include "common/log.h"
#include "common/random.h"
#include "net/module.h"
#include "net/server.h"
#include "relay/relay.h"
#include "social/social_module.h"

namespace tandem::app {
namespace {

void Fail(const std::string& event, const std::string& message) {
  log::Error(event, {{"error", message}});
  std::cerr << "tandemd: " << message << "\n";
}

// What a newcomer needs to know, in plain lines on stderr, plus one event.
void ReportDemoWorld(const DemoWorld& w) {
  log::Info("demo.ready", {{"created", w.created},
                           {"messenger_users", w.messenger_users},
                           {"social_accounts", w.social_accounts},
                           {"friendships", w.friendships},
                           {"address_books", w.address_books},
                           {"advertisers", w.advertisers},
                           {"audience_id", w.audience_id},
                           {"campaign_id", w.campaign_id},
                           {"dana_profile", w.dana_profile.string()},
                           {"bakery_profile", w.bakery_profile.string()}});
  std::cerr << "demo world" << (w.created ? "" : " (reused)") << ": " << w.messenger_users
            << " messenger users, " << w.social_accounts << " social accounts, " << w.advertisers
            << " advertiser with a campaign\n"
            << "demo numbers: " << DemoNumber(0) << " to " << DemoNumber(kDemoMessengerUsers - 1)
            << "; Dana is " << w.dana_number << "\n"
            << "advertiser " << w.advertiser_id << " \"Corner Bakery\": audience " << w.audience_id
            << " \"Loyalty card holders\" (" << w.audience_rows << " numbers), campaign " << w.campaign_id
            << " \"Fresh rye\"\n"
            << "profiles: " << w.dana_profile.string() << " (sees the bakery's ad), "
            << w.bakery_profile.string() << " (the advertiser)\n";
}

}  // namespace

absl::StatusOr<Config> LoadServeConfig(const ServeFlags& flags) {
  ASSIGN_OR_RETURN(Config config, Config::Load(flags.config_path, flags.overrides));
  if (!flags.listen.empty()) RETURN_IF_ERROR(config.Set("server.listen", flags.listen, "--listen"));
  if (!flags.data_dir.empty()) RETURN_IF_ERROR(config.Set("server.data_dir", flags.data_dir, "--data-dir"));
  if (flags.threads >= 0)
    RETURN_IF_ERROR(config.Set("server.threads", std::to_string(flags.threads), "--threads"));
  if (!flags.log_level.empty()) RETURN_IF_ERROR(config.Set("log.level", flags.log_level, "--log-level"));
  if (flags.log_json) RETURN_IF_ERROR(config.Set("log.json", "true", "--log-json"));
  return config;
}

void ApplyEmbeddedDefaults(Config& config) {
  if (!config.GetBool("relay.enabled") || !config.GetBool("social.enabled") || config.Has("feed.url")) return;
  constexpr std::string_view kSource = "embedded default";
  config.Set("feed.url", "self", kSource).IgnoreError();
  if (config.GetString("feed.token").empty()) {
    config.Set("feed.token", SecureRandom::Instance().Hex(32), kSource).IgnoreError();
  }
}

namespace {

// Applies the runtime keys of a configuration read anew; what needs a
// restart is only named. An invalid file changes nothing.
void Reload(const ServeFlags& flags, const Config& running) {
  auto next = LoadServeConfig(flags);
  if (!next.ok()) {
    log::Warn("config.reload_failed", {{"error", std::string(next.status().message())}});
    return;
  }
  log::Level level;
  if (log::ParseLevel(next->GetString("log.level"), &level)) log::SetLevel(level);
  log::SetJsonFormat(next->GetBool("log.json"));
  std::string restart;
  for (const KeySpec& spec : AllKeys()) {
    if (spec.runtime || running.Source(spec.name) == "embedded default") continue;
    if (next->GetText(spec.name) != running.GetText(spec.name)) {
      absl::StrAppend(&restart, restart.empty() ? "" : ",", std::string(spec.name));
    }
  }
  log::Info("config.reloaded",
            {{"log.level", next->GetString("log.level")}, {"log.json", next->GetBool("log.json")}});
  if (!restart.empty()) log::Warn("config.restart_needed", {{"keys", restart}});
}

// SIGHUP is blocked in every thread (the mask is set before any thread
// starts and is inherited) and taken only here, with sigwait: the reload
// runs on an ordinary thread, not in a signal handler.
class HangupReloader {
 public:
  HangupReloader(const ServeFlags& flags, const Config& running) {
    thread_ = std::thread([this, &flags, running] {
      sigset_t set = HangupSet();
      for (;;) {
        int signo = 0;
        if (sigwait(&set, &signo) != 0) continue;
        if (stop_.load()) return;
        Reload(flags, running);
      }
    });
  }
  ~HangupReloader() {
    stop_.store(true);
    pthread_kill(thread_.native_handle(), SIGHUP);
    thread_.join();
  }

  static sigset_t HangupSet() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    return set;
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int Serve(const ServeFlags& flags) {
  sigset_t hangup = HangupReloader::HangupSet();
  pthread_sigmask(SIG_BLOCK, &hangup, nullptr);
  auto config = LoadServeConfig(flags);
  if (!config.ok()) {
    Fail("config.invalid", std::string(config.status().message()));
    return 2;
  }

  log::Level level;
  if (!log::ParseLevel(config->GetString("log.level"), &level)) {
    Fail("config.invalid", "log.level must be debug, info, warn, error or off");
    return 2;
  }
  log::SetLevel(level);
  log::SetJsonFormat(config->GetBool("log.json"));
  if (std::string file = config->GetString("log.file"); !file.empty() && !log::SetOutputFile(file)) {
    Fail("config.invalid", "cannot open log file " + file);
    return 2;
  }

  // Everything tandemd writes (databases, their WAL files, code logs) is
  // for its own user only: the data directory is 0700 and files 0600,
  // including files an older version left readable.
  ::umask(077);
  std::filesystem::path data_dir = config->GetString("server.data_dir");
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec || !std::filesystem::is_directory(data_dir)) {
    Fail("data_dir.unusable", "cannot create data directory " + data_dir.string() + ": " + ec.message());
    return 1;
  }
  namespace fs = std::filesystem;
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
    std::error_code file_ec;
    if (entry.is_regular_file(file_ec)) {
      fs::permissions(entry.path(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace,
                      file_ec);
    }
  }

  net::ServerOptions options;
  options.listen = config->GetString("server.listen");
  options.threads = static_cast<int>(config->GetInt("server.threads"));
  options.max_body_bytes = static_cast<size_t>(config->GetInt("server.max_body_bytes"));
  options.worker_threads = static_cast<int>(config->GetInt("server.worker_threads"));
  options.max_waiting = static_cast<size_t>(config->GetInt("server.max_waiting"));
  options.max_connections_per_address =
      static_cast<size_t>(config->GetInt("server.max_connections_per_address"));
  options.header_timeout = absl::Milliseconds(config->GetInt("server.header_timeout_ms"));
  options.body_timeout = absl::Milliseconds(config->GetInt("server.body_timeout_ms"));
  ApplyEmbeddedDefaults(*config);
  net::Metrics metrics;
  net::Router router;
  // The one place where the process's real clock and randomness are
  // chosen; every module takes them from here.
  net::ModuleEnv env{*config, data_dir, router, metrics, SystemClock::Real(), SecureRandom::Instance()};
  auto social = social::SocialModule::Create(env);
  if (!social.ok()) {
    Fail("social.start_failed", std::string(social.status().message()));
    return absl::IsInvalidArgument(social.status()) ? 2 : 1;
  }
  std::unique_ptr<ads::AdsModule> ads_module;
  if (*social) {
    auto created = ads::AdsModule::Create(env, **social);
    if (!created.ok()) {
      Fail("ads.start_failed", std::string(created.status().message()));
      return absl::IsInvalidArgument(created.status()) ? 2 : 1;
    }
    ads_module = std::move(*created);
    // Social shows the ads in its timeline; without ads it still serves one.
    if (ads_module) (*social)->SetAdSource(&ads_module->ad_source());
  }
  auto relay = relay::RelayModule::Create(env);
  if (!relay.ok()) {
    Fail("relay.start_failed", std::string(relay.status().message()));
    return absl::IsInvalidArgument(relay.status()) ? 2 : 1;
  }
  if (flags.demo && (!*relay || !*social || !ads_module || config->GetString("feed.url").empty())) {
    Fail("config.invalid",
         "--demo needs the relay, social and ads modules in this process, with the social side "
         "consuming this server's feed (the embedded default)");
    return 2;
  }
  // The modules in start order (ads after the social network it plugs
  // into); they stop in reverse.
  std::vector<net::Module*> modules;
  if (*relay) modules.push_back(relay->get());
  if (*social) modules.push_back(social->get());
  if (ads_module) modules.push_back(ads_module.get());

  net::Server server(options, std::move(router), metrics);
  for (net::Module* m : modules) m->AttachTo(server);
  if (absl::Status st = server.Start(); !st.ok()) {
    Fail("server.start_failed", std::string(st.message()));
    return 1;
  }
  // The modules stop while the server still exists: what they hold (the
  // relay writer's last answers, the message stream's sessions) refers to
  // the server's connections, which must not outlive the server.
  auto stop_modules = [&modules] {
    for (auto it = modules.rbegin(); it != modules.rend(); ++it) (*it)->Stop();
  };
  auto stop_all = [&] {
    for (net::Module* m : modules) m->BeginStop();
    server.Stop();
    stop_modules();
  };
  std::string host = options.listen.substr(0, options.listen.rfind(':'));
  std::string bound = host + ":" + std::to_string(server.port());
  for (net::Module* m : modules) {
    if (absl::Status st = m->Start(bound); !st.ok()) {
      Fail("tandemd.start_failed", std::string(st.message()));
      stop_all();
      return 1;
    }
  }
  if (flags.demo) {
    auto world = SetUpDemoWorld((*relay)->relay(), **social, *ads_module, data_dir, bound);
    if (!world.ok()) {
      Fail("demo.failed", std::string(world.status().message()));
      stop_all();
      return 1;
    }
    ReportDemoWorld(*world);
  }
  log::Info("tandemd.ready", {{"address", bound}, {"data_dir", data_dir.string()}});
  if (!flags.ready_file.empty()) {
    std::string tmp = flags.ready_file + ".tmp";
    std::ofstream(tmp) << bound << "\n";
    std::filesystem::rename(tmp, flags.ready_file, ec);
  }
  {
    HangupReloader reloader(flags, *config);
    // Work that is a client of this server (the social side's feed
    // consumer) stops first, so that the drain is no error to it.
    server.WaitForSignal([&] {
      for (net::Module* m : modules) m->BeginStop();
    });
  }
  // The server has drained and stopped: no handler runs any more.
  stop_modules();
  log::Info("tandemd.exit");
  return 0;
}

}  // namespace tandem::app
