// Messenger commands over client::MessengerClient. Every command works on a
// profile (a local SQLite file holding this device's keys, sessions and
// history); events print one per line, or as JSON lines with --json.
#include "app/messenger_cli.h"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/messenger_client.h"
#include <nlohmann/json.hpp>

namespace tandem::app {
namespace {

struct Globals {
  std::string profile;
  std::string server;
  bool json = false;
};

volatile std::sig_atomic_t g_stop = 0;

std::string DefaultProfile() {
  const char* env = std::getenv("TANDEM_PROFILE");
  return env ? env : "tandem-profile.db";
}

int Fail(const absl::Status& st) {
  std::cerr << "tandem: " << st.message() << "\n";
  switch (st.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition: return 2;
    default: return 1;
  }
}

std::unique_ptr<client::MessengerClient> OpenClient(const Globals& g, int* exit_code) {
  client::ClientOptions options;
  options.profile_path = g.profile.empty() ? DefaultProfile() : g.profile;
  const char* env_server = std::getenv("TANDEM_SERVER");
  options.server = !g.server.empty() ? g.server : (env_server ? env_server : "");
  auto c = client::MessengerClient::Open(options);
  if (!c.ok()) {
    *exit_code = Fail(c.status());
    return nullptr;
  }
  return *std::move(c);
}

const char* KindName(client::Event::Kind k) {
  switch (k) {
    case client::Event::Kind::kMessage: return "message";
    case client::Event::Kind::kSent: return "sent";
    case client::Event::Kind::kDelivered: return "delivered";
    case client::Event::Kind::kRead: return "read";
    case client::Event::Kind::kKeyChanged: return "key-changed";
    case client::Event::Kind::kFailed: return "failed";
  }
  return "?";
}

client::EventHandler Printer(bool json) {
  return [json](const client::Event& e) {
    if (json) {
      nlohmann::json j = {{"event", KindName(e.kind)}, {"peer", e.peer}, {"id", e.message_id},
                          {"timestamp_ms", e.timestamp_ms}};
      if (!e.body.empty()) j["text"] = e.body;
      if (!e.detail.empty()) j["detail"] = e.detail;
      std::cout << j.dump() << std::endl;
      return;
    }
    std::string when = absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(e.timestamp_ms),
                                        absl::LocalTimeZone());
    switch (e.kind) {
      case client::Event::Kind::kMessage:
        std::cout << "[" << when << "] " << e.peer << ": " << e.body << std::endl;
        break;
      case client::Event::Kind::kKeyChanged:
        std::cout << "! the safety number with " << e.peer
                  << " changed (they re-registered or reinstalled); compare it with `tandem safety-number "
                  << e.peer << "`" << std::endl;
        break;
      case client::Event::Kind::kFailed:
        std::cout << "! failed " << e.message_id << (e.peer.empty() ? "" : " (" + e.peer + ")") << ": " << e.detail
                  << std::endl;
        break;
      default:
        std::cout << KindName(e.kind) << " " << e.message_id << (e.peer.empty() ? "" : " by " + e.peer)
                  << std::endl;
    }
  };
}

}  // namespace

void AddMessengerCommands(CLI::App& app, int* exit_code) {
  auto g = std::make_shared<Globals>();
  app.fallthrough();  // global options may follow the subcommand
  app.add_option("--profile", g->profile, "Messenger profile file (default $TANDEM_PROFILE or ./tandem-profile.db)");
  app.add_option("--server", g->server, "Relay address host:port for registration (default $TANDEM_SERVER or 127.0.0.1:8080; then remembered)");
  app.add_flag("--json", g->json, "Print events as JSON lines");

  {
    auto* cmd = app.add_subcommand("register", "Ask the relay to send a verification code to your number");
    auto number = std::make_shared<std::string>();
    auto region = std::make_shared<std::string>();
    cmd->add_option("number", *number, "Your phone number")->required();
    cmd->add_option("--region", *region, "Region for a national number, e.g. US");
    cmd->callback([=] {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      auto sent = c->RequestCode(*number, *region);
      if (!sent.ok()) {
        *exit_code = Fail(sent.status());
        return;
      }
      std::cout << "a verification code was sent to " << *sent << "; finish with: tandem verify " << *sent
                << " CODE" << std::endl;
    });
  }
  {
    auto* cmd = app.add_subcommand("verify", "Finish registration with the code you received");
    auto number = std::make_shared<std::string>();
    auto code = std::make_shared<std::string>();
    auto region = std::make_shared<std::string>();
    cmd->add_option("number", *number, "Your phone number")->required();
    cmd->add_option("code", *code, "The verification code")->required();
    cmd->add_option("--region", *region, "Region for a national number");
    cmd->callback([=] {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      if (auto st = c->Verify(*number, *region, *code); !st.ok()) {
        *exit_code = Fail(st);
        return;
      }
      std::cout << "registered " << c->number() << std::endl;
    });
  }
  {
    auto* cmd = app.add_subcommand("send", "Send an end-to-end encrypted text");
    auto to = std::make_shared<std::string>();
    auto words = std::make_shared<std::vector<std::string>>();
    cmd->add_option("number", *to, "Recipient's phone number")->required();
    cmd->add_option("text", *words, "The message")->required();
    cmd->callback([=] {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      auto id = c->Send(*to, absl::StrJoin(*words, " "));
      if (!id.ok()) {
        *exit_code = Fail(id.status());
        return;
      }
      // Hand it to the relay now; if that fails the message stays queued
      // and goes out with the next command.
      if (auto st = c->Sync(Printer(g->json)); !st.ok()) {
        std::cerr << "tandem: message " << *id << " queued; not yet accepted by the relay: " << st.message() << "\n";
        *exit_code = 3;
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("inbox", "Receive messages and receipts");
    auto follow = std::make_shared<bool>(false);
    auto read = std::make_shared<bool>(false);
    cmd->add_flag("--follow,-f", *follow, "Stay connected and stream events until interrupted");
    cmd->add_flag("--read", *read, "Mark received messages read (sends read receipts)");
    cmd->callback([=] {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      auto printer = Printer(g->json);
      absl::Status st;
      if (*follow) {
        std::signal(SIGINT, [](int) { g_stop = 1; });
        std::signal(SIGTERM, [](int) { g_stop = 1; });
        st = c->Listen(printer, [] { return g_stop == 0; });
      } else {
        st = c->Sync(printer);
      }
      if (st.ok() && *read) {
        auto n = c->MarkRead("");
        if (n.ok() && *n > 0) st = c->Sync(printer);
      }
      if (!st.ok()) *exit_code = Fail(st);
    });
  }
  {
    auto* cmd = app.add_subcommand("history", "Show stored messages");
    auto peer = std::make_shared<std::string>();
    auto limit = std::make_shared<int>(50);
    cmd->add_option("number", *peer, "Only the conversation with this number");
    cmd->add_option("--limit", *limit, "How many (newest)");
    cmd->callback([=] {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      auto rows = c->History(*peer, *limit);
      if (!rows.ok()) {
        *exit_code = Fail(rows.status());
        return;
      }
      for (const auto& m : *rows) {
        bool in = m.direction == client::Direction::kIncoming;
        if (g->json) {
          std::cout << nlohmann::json{{"direction", in ? "in" : "out"}, {"peer", m.peer}, {"id", m.message_id},
                                      {"text", m.body}, {"status", m.status}, {"sent_at_ms", m.sent_at_ms}}
                           .dump()
                    << "\n";
        } else {
          std::cout << (in ? "<- " : "-> ") << m.peer << " [" << m.status << "] " << m.body << "\n";
        }
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("discover", "Which of these numbers use the messenger");
    auto numbers = std::make_shared<std::vector<std::string>>();
    cmd->add_option("numbers", *numbers, "Phone numbers")->required();
    cmd->callback([=] {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      int64_t budget = -1;
      auto found = c->Discover(*numbers, &budget);
      if (!found.ok()) {
        *exit_code = Fail(found.status());
        return;
      }
      for (const auto& n : *found) std::cout << n << "\n";
      std::cout.flush();
      std::cerr << found->size() << " of " << numbers->size() << " registered; lookups left today: " << budget
                << "\n";
    });
  }
  {
    auto* cmd = app.add_subcommand("safety-number", "Show the safety number to compare with a contact");
    auto peer = std::make_shared<std::string>();
    cmd->add_option("number", *peer, "The contact's phone number")->required();
    cmd->callback([=] {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      auto sn = c->SafetyNumber(*peer);
      if (!sn.ok()) {
        *exit_code = Fail(sn.status());
        return;
      }
      std::cout << *sn << std::endl;
    });
  }
  {
    auto* privacy = app.add_subcommand(
        "privacy", "Your privacy settings: what the messenger shares with the social network, and objections");
    privacy->require_subcommand(1);
    auto show = [=](const std::string& method, const std::string& path, const std::string& body) {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      auto r = c->PrivacyRequest(method, path, body);
      if (!r.ok()) {
        *exit_code = Fail(r.status());
        return;
      }
      auto j = nlohmann::json::parse(*r, nullptr, false);
      std::cout << (j.is_discarded() ? *r : j.dump(2)) << std::endl;
    };
    privacy->add_subcommand("show", "Show your objections and whether sharing is active")->callback([=] {
      show("GET", "/v1/privacy", "");
    });
    for (bool objected : {true, false}) {
      auto* cmd = privacy->add_subcommand(
          objected ? "object" : "withdraw",
          objected ? "Object to the use of your shared data for a purpose (ads or friend_suggestions)"
                   : "Withdraw an objection");
      auto purpose = std::make_shared<std::string>();
      cmd->add_option("purpose", *purpose, "ads or friend_suggestions")
          ->required()
          ->check(CLI::IsMember({"ads", "friend_suggestions"}));
      cmd->callback([=] {
        show("PUT", "/v1/privacy/objections/" + *purpose,
             nlohmann::json{{"objected", objected}}.dump());
      });
    }
    privacy->add_subcommand("shared", "Every event shared about you with the social network, and when")
        ->callback([=] { show("GET", "/v1/privacy/shared", ""); });
    auto* exp = privacy->add_subcommand("export", "Export your data as JSON");
    auto out = std::make_shared<std::string>();
    exp->add_option("--output,-o", *out, "Write to this file instead of stdout");
    exp->callback([=] {
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      auto r = c->PrivacyRequest("GET", "/v1/privacy/export", "");
      if (!r.ok()) {
        *exit_code = Fail(r.status());
        return;
      }
      std::string pretty = nlohmann::json::parse(*r, nullptr, false).dump(2);
      if (out->empty()) {
        std::cout << pretty << std::endl;
      } else {
        std::ofstream(*out) << pretty << "\n";
        std::cerr << "exported to " << *out << "\n";
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("delete-account", "Delete your messenger account and this profile's data");
    auto yes = std::make_shared<bool>(false);
    cmd->add_flag("--yes", *yes, "Confirm");
    cmd->callback([=] {
      if (!*yes) {
        std::cerr << "tandem: this deletes your account, keys and queued messages; repeat with --yes\n";
        *exit_code = 2;
        return;
      }
      auto c = OpenClient(*g, exit_code);
      if (!c) return;
      if (auto st = c->DeleteAccount(); !st.ok()) {
        *exit_code = Fail(st);
        return;
      }
      std::cout << "account deleted" << std::endl;
    });
  }
}

}  // namespace tandem::app
