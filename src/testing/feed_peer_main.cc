// social_feed_peer: a stand-in for the messenger's feed endpoint in
// end-to-end tests of the social side, and a tool to dump the feed-derived
// state of a social.db.
//
//   social_feed_peer serve --token T --events 20000 --seed 7 --ready-file F
//   social_feed_peer dump --db data/social.db
#include <signal.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "testing/feed_test_peer.h"

int main(int argc, char** argv) {
  using namespace tandem::social;
  CLI::App app{"social_feed_peer - feed endpoint from generated events, for tests"};
  app.require_subcommand(1);
  std::string listen = "127.0.0.1:0", token, ready_file, db_path, bad_type;
  size_t events = 1000, accounts = 100;
  uint64_t seed = 1;
  int delay_ms = 0;
  bool control = false;
  CLI::App* serve = app.add_subcommand("serve", "Serve generated events at GET /v1/feed/events");
  serve->add_option("--listen", listen);
  serve->add_option("--token", token)->required();
  serve->add_option("--events", events);
  serve->add_option("--accounts", accounts);
  serve->add_option("--seed", seed);
  serve->add_option("--page-delay-ms", delay_ms);
  serve->add_option("--ready-file", ready_file);
  serve->add_flag("--control", control, "Accept POST /test/events to append events");
  serve->add_option("--append-bad-type", bad_type,
                    "After the generated events, one event of this unknown type");
  CLI::App* dump = app.add_subcommand("dump", "Print the feed-derived state of a social database");
  dump->add_option("--db", db_path)->required();
  CLI11_PARSE(app, argc, argv);

  if (dump->parsed()) {
    tandem::store::SqliteOptions options;
    options.read_only = true;
    auto db = tandem::store::OpenSqlite(db_path, options);
    if (!db.ok()) {
      std::cerr << db.status() << "\n";
      return 1;
    }
    auto text = testing::DumpFeedState(**db);
    if (!text.ok()) {
      std::cerr << text.status() << "\n";
      return 1;
    }
    std::cout << *text;
    return 0;
  }

  // Block the stop signals before any thread starts, then wait for one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  testing::FeedTestPeer peer(token, listen, 1, control);
  for (auto& e : testing::GenerateFeed(seed, events, accounts)) peer.Append(std::move(e));
  if (!bad_type.empty()) {
    int64_t seq = peer.head() + 1;
    peer.AppendRaw("{\"seq\":" + std::to_string(seq) + ",\"type\":\"" + bad_type +
                       "\",\"account_id\":\"m1\",\"at\":1700000000}",
                   seq);
  }
  peer.set_page_delay(absl::Milliseconds(delay_ms));
  if (auto st = peer.Start(); !st.ok()) {
    std::cerr << st << "\n";
    return 1;
  }
  if (!ready_file.empty()) {
    std::ofstream(ready_file + ".tmp") << peer.address() << "\n";
    std::filesystem::rename(ready_file + ".tmp", ready_file);
  }
  std::cerr << "social_feed_peer: serving " << peer.head() << " events at " << peer.address() << "\n";
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  peer.Stop();
  return 0;
}
