// Messenger commands over client::MessengerClient. Every command works on a
// profile (a local SQLite file holding this device's keys, sessions and
// history); events print one per line for people, or as JSON lines with
// --json (docs/cli.md).
#include "app/messenger_cli.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/client_store.h"
#include "client/messenger_client.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/error_codes.h"
#include "common/random.h"

namespace tandem::app {
namespace {

using nlohmann::json;

volatile std::sig_atomic_t g_stop = 0;

// What a person can do next about a profile's state.
absl::Status WithHint(const CliContext& ctx, const absl::Status& st) {
  const std::string reason = ReasonOf(st);
  if (reason == "not_registered") {
    return absl::FailedPreconditionError(absl::StrCat(
        ctx.ProfilePath(), " has no messenger account yet: run `", ctx.Command("register NUMBER"), "`"));
  }
  if (reason == "account_deleted" || reason == "registration_replaced") {
    return absl::FailedPreconditionError(
        absl::StrCat(st.message(), "; to use this profile again run `", ctx.Command("register NUMBER"), "`"));
  }
  return st;
}

std::unique_ptr<client::MessengerClient> OpenClient(const CliContext& ctx, bool create, int* exit_code) {
  if (!create) {
    if (auto profile = OpenProfile(ctx, false); !profile.ok()) {
      *exit_code = Fail(profile.status());
      return nullptr;
    }
  }
  client::ClientOptions options;
  options.profile_path = ctx.ProfilePath();
  const char* env_server = std::getenv("TANDEM_SERVER");
  options.server = !ctx.server.empty() ? ctx.server : (env_server && *env_server ? env_server : "");
  options.clock = &SystemClock::Real();
  options.random = &SecureRandom::Instance();
  auto c = client::MessengerClient::Open(options);
  if (!c.ok()) {
    *exit_code = Fail(c.status());
    return nullptr;
  }
  if (!ctx.server.empty() && (*c)->registered() && (*c)->server() != ctx.server) {
    Warn(absl::StrCat("--server ", ctx.server, " is ignored: this profile's account is on ", (*c)->server()));
  }
  return *std::move(c);
}

const char* KindName(client::Event::Kind k) {
  switch (k) {
    case client::Event::Kind::kMessage:
      return "message";
    case client::Event::Kind::kSent:
      return "sent";
    case client::Event::Kind::kDelivered:
      return "delivered";
    case client::Event::Kind::kRead:
      return "read";
    case client::Event::Kind::kKeyChanged:
      return "key-changed";
    case client::Event::Kind::kFailed:
      return "failed";
    case client::Event::Kind::kGroupUpdate:
      return "group-update";
  }
  return "?";
}

// A message's text as a receipt names it: quoted, and cut if long.
std::string Quote(const std::string& text) {
  constexpr size_t kMax = 40;
  if (text.empty()) return "";
  std::string t = text.size() > kMax ? text.substr(0, kMax) + "…" : text;
  return "\"" + t + "\"";
}

std::string Clock(int64_t ms) { return LocalTimestamp(absl::FromUnixMillis(ms)); }

// "Trip (3f2a9c01)": a group as people name it, by its title if `c` knows it.
std::string GroupName(client::MessengerClient* c, const std::string& id) {
  std::string title;
  if (c != nullptr) {
    if (auto g = c->Group(id); g.ok()) title = g->title;
  }
  const std::string short_id = id.substr(0, 8);
  return title.empty() ? "group " + short_id : absl::StrCat("\"", title, "\" (", short_id, ")");
}

// Prints events for people (or as JSON lines). `c` names groups by title.
client::EventHandler Printer(const CliContext& ctx, client::MessengerClient* c = nullptr) {
  return [json_out = ctx.json, ctx, c](const client::Event& e) {
    if (json_out) {
      json j = {{"event", KindName(e.kind)},
                {"peer", e.peer},
                {"id", e.message_id},
                {"timestamp_ms", e.timestamp_ms}};
      if (!e.body.empty()) j[e.kind == client::Event::Kind::kGroupUpdate ? "title" : "text"] = e.body;
      if (!e.detail.empty()) j["detail"] = e.detail;
      if (!e.group.empty()) j["group"] = e.group;
      if (!e.attachments.empty()) j["attachments"] = e.attachments;
      if (!e.files.empty()) j["saved"] = e.files;
      JsonLine(KindName(e.kind), j);
      return;
    }
    const std::string where = e.group.empty() ? "" : " in " + GroupName(c, e.group);
    switch (e.kind) {
      case client::Event::Kind::kGroupUpdate:
        std::cout << "[" << Clock(e.timestamp_ms) << "] " << GroupName(c, e.group) << " " << e.detail
                  << " (by " << e.peer << ")" << std::endl;
        break;
      case client::Event::Kind::kMessage:
        std::cout << "[" << Clock(e.timestamp_ms) << "] " << e.peer << where << ": " << e.body << std::endl;
        for (size_t i = 0; i < e.attachments.size(); ++i) {
          std::cout << "  attachment " << e.attachments[i]
                    << (i < e.files.size() ? " saved to " + e.files[i] : "") << std::endl;
        }
        break;
      case client::Event::Kind::kKeyChanged:
        std::cout << "! the safety number with " << e.peer
                  << " changed (they registered again or reinstalled); compare it with `"
                  << ctx.Command("safety-number " + e.peer) << "`" << std::endl;
        break;
      case client::Event::Kind::kFailed:
        std::cout << "! not sent" << (e.peer.empty() ? "" : " to " + e.peer)
                  << (e.body.empty() ? "" : ": " + Quote(e.body)) << " (" << e.detail << ")" << std::endl;
        break;
      case client::Event::Kind::kSent:
        if (!e.group.empty()) {
          std::cout << "sent to " << GroupName(c, e.group) << ": " << Quote(e.body) << std::endl;
        } else {
          std::cout << "sent to " << e.peer << ": " << Quote(e.body) << std::endl;
        }
        break;
      case client::Event::Kind::kDelivered:
        std::cout << "delivered to " << e.peer << ": " << Quote(e.body) << std::endl;
        break;
      case client::Event::Kind::kRead:
        std::cout << "read by " << e.peer << ": " << Quote(e.body) << std::endl;
        break;
    }
  };
}

std::string PurposeWords(const std::string& purpose) {
  return purpose == "friend_suggestions" ? "friend suggestions" : purpose;
}

// GET /v1/privacy for people.
void PrintPrivacy(const json& j, const std::string& number) {
  std::cout << "The messenger shares your phone number and how often you use it (active days in the last 28, "
               "last active day) with the social network operator. It never shares message contents or "
               "contacts.\n";
  const std::string sharing = j.value("sharing", "");
  std::cout << "Sharing for " << number << ": "
            << (sharing == "active" ? "on"
                : sharing == "blocked_by_jurisdiction"
                    ? "off (the operator does not share numbers of your country)"
                    : sharing)
            << "\n";
  if (j.contains("usage_summary") && j["usage_summary"].is_object()) {
    const auto& u = j["usage_summary"];
    int64_t every = u.value("interval_s", int64_t{0});
    std::cout << "Next usage summary: " << LocalTimeFromIso(u["next_at"]);
    if (every > 0) {
      std::cout << " (checked every "
                << (every % 3600 == 0 ? absl::StrCat(every / 3600, " h") : absl::StrCat(every, " s"))
                << "; shared only when your activity changed)";
    }
    std::cout << "\n";
  }
  std::cout << "\n";
  Table t({"PURPOSE", "YOU OBJECT", "SINCE"});
  for (const char* p : {"ads", "friend_suggestions"}) {
    if (!j.contains(p)) continue;
    const auto& o = j[p];
    bool objected = o.value("objected", false);
    t.Add({PurposeWords(p), objected ? "yes" : "no", LocalTimeFromIso(o["changed_at"])});
  }
  t.Print(std::cout);
}

std::string EventWords(const json& e) {
  const std::string type = e.value("type", "");
  const json& d = e.contains("data") ? e["data"] : json::object();
  if (type == "account_linked")
    return "your number " + d.value("phone", std::string()) + " (account created)";
  if (type == "account_deleted") return "your account was deleted";
  if (type == "objection_changed") {
    return absl::StrCat(d.value("objected", false) ? "you objected to " : "you withdrew your objection to ",
                        PurposeWords(d.value("purpose", std::string())));
  }
  if (type == "usage_summary") {
    std::string last = d.value("last_active_day", std::string());
    return absl::StrCat("active on ", d.value("active_days_28", 0), " of the last 28 days",
                        last.empty() ? "" : ", last on " + last);
  }
  return type;
}

void DefineRegister(CLI::App& cmd, const CliEnv& env) {
  auto number = std::make_shared<std::string>();
  auto region = std::make_shared<std::string>();
  cmd.add_option("number", *number, "Your phone number")->required();
  cmd.add_option("--region", *region, "Region for a national number, e.g. US");
  cmd.callback([env, number, region] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, true, env.exit_code);
    if (!c) return;
    auto sent = c->RequestCode(*number, *region);
    if (!sent.ok()) {
      *env.exit_code = Fail(sent.status());
      return;
    }
    if (g.json) {
      JsonLine("code_sent", {{"number", *sent}, {"server", c->server()}});
      return;
    }
    std::cout << "a verification code was sent to " << *sent
              << "; finish with: " << g.Command("verify " + *sent + " CODE") << std::endl;
  });
}

void DefineVerify(CLI::App& cmd, const CliEnv& env) {
  auto number = std::make_shared<std::string>();
  auto code = std::make_shared<std::string>();
  auto region = std::make_shared<std::string>();
  cmd.add_option("number", *number, "Your phone number")->required();
  cmd.add_option("code", *code, "The verification code")->required();
  cmd.add_option("--region", *region, "Region for a national number");
  cmd.callback([env, number, code, region] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, true, env.exit_code);
    if (!c) return;
    if (auto st = c->Verify(*number, *region, *code); !st.ok()) {
      *env.exit_code = Fail(st);
      return;
    }
    if (g.json) {
      JsonLine("registered",
               {{"number", c->number()}, {"server", c->server()}, {"profile", g.ProfilePath()}});
      return;
    }
    std::cout << "registered " << c->number() << " on " << c->server() << " (profile " << g.ProfilePath()
              << ")" << std::endl;
  });
}

// Hands what was just queued (message `id`, or "" for a group change) to
// the relay now; if that fails it stays queued and goes out with the next
// command.
void Deliver(client::MessengerClient& c, const CliEnv& env, const std::string& id) {
  const CliContext& g = *env.ctx;
  auto printer = Printer(g, &c);
  bool failed = false;
  auto watch = [&](const client::Event& e) {
    if (e.kind == client::Event::Kind::kFailed && !id.empty() && e.message_id == id) failed = true;
    printer(e);
  };
  absl::Status st = c.Sync(watch);
  if (st.ok() && failed) *env.exit_code = 1;  // the relay refused it; the reason was printed
  if (!st.ok()) {
    if (!ReasonOf(st).empty()) {
      *env.exit_code = Fail(WithHint(g, st));
      return;
    }
    std::cerr << "tandem: queued; not yet accepted by the relay (" << st.message()
              << "); it goes out with the next command\n";
    *env.exit_code = 3;
  }
}

void DefineSend(CLI::App& cmd, const CliEnv& env) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto group = std::make_shared<std::string>();
  auto files = std::make_shared<std::vector<std::string>>();
  cmd.add_option("args", *args, "NUMBER TEXT..., or TEXT... with --group");
  cmd.add_option("--group,-g", *group, "Send to this group (its id, or the first 8+ digits of it)");
  cmd.add_option("--attach,-a", *files, "Attach this file (encrypted before it leaves; repeat for more)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd.callback([env, args, group, files] {
    const CliContext& g = *env.ctx;
    const size_t needed = (group->empty() ? 1 : 0) + (files->empty() ? 1 : 0);
    if (args->size() < needed) {
      std::cerr << "tandem: give the recipient's number and the text (or --group ID), or --attach FILE\n";
      *env.exit_code = 2;
      return;
    }
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    absl::StatusOr<std::string> id =
        group->empty() ? c->Send(args->front(), absl::StrJoin(args->begin() + 1, args->end(), " "), *files)
                       : c->SendToGroup(*group, absl::StrJoin(*args, " "), *files);
    if (!id.ok()) {
      *env.exit_code = Fail(WithHint(g, id.status()));
      return;
    }
    Deliver(*c, env, *id);
  });
}

void DefineInbox(CLI::App& cmd, const CliEnv& env) {
  auto follow = std::make_shared<bool>(false);
  auto read = std::make_shared<bool>(false);
  auto save_dir = std::make_shared<std::string>();
  cmd.add_flag("--follow,-f", *follow, "Stay connected and stream events until interrupted");
  cmd.add_flag("--read", *read, "Mark messages read as they are shown (sends read receipts at once)");
  cmd.add_option("--save-dir", *save_dir, "Save received attachments here (checked and decrypted)");
  cmd.callback([env, follow, read, save_dir] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    c->SetAutoRead(*read);
    if (!save_dir->empty()) {
      std::error_code ec;
      std::filesystem::create_directories(*save_dir, ec);
      if (ec || !std::filesystem::is_directory(*save_dir)) {
        *env.exit_code = Fail(absl::InvalidArgumentError(absl::StrCat("cannot save into ", *save_dir)));
        return;
      }
      c->SetSaveDir(*save_dir);
    }
    auto printer = Printer(g, c.get());
    absl::Status st;
    if (*follow) {
      std::signal(SIGINT, [](int) { g_stop = 1; });
      std::signal(SIGTERM, [](int) { g_stop = 1; });
      st = c->Listen(printer, [] { return g_stop == 0; });
    } else {
      st = c->Sync(printer);
      // Messages that arrived before, unread: marked now.
      if (st.ok() && *read) {
        auto n = c->MarkRead("");
        if (n.ok() && *n > 0) st = c->Sync(printer);
      }
    }
    if (!st.ok()) *env.exit_code = Fail(WithHint(g, st));
  });
}

void DefineHistory(CLI::App& cmd, const CliEnv& env) {
  auto peer = std::make_shared<std::string>();
  auto group = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(50);
  cmd.add_option("number", *peer, "Only the conversation with this number");
  cmd.add_option("--group,-g", *group, "Only this group's messages");
  cmd.add_option("--limit", *limit, "How many (newest)");
  cmd.callback([env, peer, group, limit] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto rows = group->empty() ? c->History(*peer, *limit) : c->GroupHistory(*group, *limit);
    if (!rows.ok()) {
      *env.exit_code = Fail(WithHint(g, rows.status()));
      return;
    }
    Table t({"TIME", "", "WITH", "STATUS", "TEXT"});
    for (const auto& m : *rows) {
      bool in = m.direction == client::Direction::kIncoming;
      if (g.json) {
        JsonLine("history", {{"direction", in ? "in" : "out"},
                             {"peer", m.peer},
                             {"id", m.message_id},
                             {"text", m.body},
                             {"status", m.status},
                             {"group", absl::BytesToHexString(m.group_id)},
                             {"sent_at_ms", m.sent_at_ms}});
      } else {
        std::string with = m.group_id.empty()
                               ? m.peer
                               : absl::StrCat(GroupName(c.get(), absl::BytesToHexString(m.group_id)),
                                              in ? " " + m.peer : "");
        t.Add({Clock(m.sent_at_ms), in ? "<-" : "->", with, m.status, m.body});
      }
    }
    if (!g.json) {
      if (t.size() == 0) {
        std::cout << "no messages" << (peer->empty() ? "" : " with " + *peer) << "\n";
      } else {
        t.Print(std::cout);
      }
    }
  });
}

void DefineDiscover(CLI::App& cmd, const CliEnv& env) {
  auto numbers = std::make_shared<std::vector<std::string>>();
  cmd.add_option("numbers", *numbers, "Phone numbers")->required();
  cmd.callback([env, numbers] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    int64_t budget = -1;
    auto found = c->Discover(*numbers, &budget);
    if (!found.ok()) {
      *env.exit_code = Fail(WithHint(g, found.status()));
      return;
    }
    if (g.json) {
      for (const auto& n : *found) JsonLine("registered", {{"number", n}});
      JsonLine("lookup_budget", {{"remaining_today", budget}});
      return;
    }
    for (const auto& n : *found) std::cout << n << "\n";
    std::cout.flush();
    std::cerr << found->size() << " of " << numbers->size()
              << " use the messenger; lookups left today: " << budget << "\n";
  });
}

void DefineSafetyNumber(CLI::App& cmd, const CliEnv& env) {
  auto peer = std::make_shared<std::string>();
  cmd.add_option("number", *peer, "The contact's phone number")->required();
  cmd.callback([env, peer] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto sn = c->SafetyNumber(*peer);
    if (!sn.ok()) {
      *env.exit_code = Fail(WithHint(g, sn.status()));
      return;
    }
    if (g.json) {
      JsonLine("safety_number", {{"peer", *peer}, {"safety_number", *sn}});
      return;
    }
    std::cout << *sn << std::endl;
  });
}

// The relay's answer to a privacy request as JSON (and, if `number`, the
// profile's number), or nullopt after printing the error.
std::optional<json> PrivacyRequest(const CliEnv& env, const std::string& method, const std::string& path,
                                   const std::string& body, std::string* number) {
  auto c = OpenClient(*env.ctx, false, env.exit_code);
  if (!c) return std::nullopt;
  auto r = c->PrivacyRequest(method, path, body);
  if (!r.ok()) {
    *env.exit_code = Fail(WithHint(*env.ctx, r.status()));
    return std::nullopt;
  }
  if (number) *number = c->number();
  auto j = json::parse(*r, nullptr, false);
  if (j.is_discarded()) {
    *env.exit_code = Fail(absl::InternalError("the relay's answer is not JSON"));
    return std::nullopt;
  }
  return j;
}

void DefinePrivacyShow(CLI::App& cmd, const CliEnv& env) {
  cmd.callback([env] {
    std::string number;
    auto j = PrivacyRequest(env, "GET", "/v1/privacy", "", &number);
    if (!j) return;
    if (!env.ctx->json) return PrintPrivacy(*j, number);
    for (const char* p : {"ads", "friend_suggestions"}) {
      if (j->contains(p))
        JsonLine("objection",
                 {{"purpose", p}, {"objected", (*j)[p]["objected"]}, {"changed_at", (*j)[p]["changed_at"]}});
    }
    JsonLine("sharing", {{"number", number},
                         {"state", j->value("sharing", "")},
                         {"usage_summary", j->value("usage_summary", json::object())}});
  });
}

// `privacy object` and `privacy withdraw`.
void DefineObjection(CLI::App& cmd, const CliEnv& env, bool objected) {
  auto purpose = std::make_shared<std::string>();
  cmd.add_option("purpose", *purpose, "ads or friend_suggestions")
      ->required()
      ->check(CLI::IsMember({"ads", "friend_suggestions"}));
  cmd.callback([env, purpose, objected] {
    std::string number;
    auto j = PrivacyRequest(env, "PUT", "/v1/privacy/objections/" + *purpose,
                            json{{"objected", objected}}.dump(), &number);
    if (!j) return;
    if (env.ctx->json) {
      JsonLine("objection", {{"purpose", *purpose},
                             {"objected", (*j)[*purpose]["objected"]},
                             {"changed_at", (*j)[*purpose]["changed_at"]}});
      return;
    }
    std::string since = LocalTimeFromIso((*j)[*purpose]["changed_at"]);
    if (objected) {
      std::cout << "You object to the use of your messenger data for " << PurposeWords(*purpose) << " (since "
                << since << "). The social network stops using it for that at once, including what it had "
                << "derived from it.\n";
    } else {
      std::cout << "You no longer object to the use of your messenger data for " << PurposeWords(*purpose)
                << " (since " << since << ").\n";
    }
  });
}

void DefinePrivacyObject(CLI::App& cmd, const CliEnv& env) { DefineObjection(cmd, env, true); }

void DefinePrivacyWithdraw(CLI::App& cmd, const CliEnv& env) { DefineObjection(cmd, env, false); }

void DefinePrivacyShared(CLI::App& cmd, const CliEnv& env) {
  cmd.callback([env] {
    auto j = PrivacyRequest(env, "GET", "/v1/privacy/shared", "", nullptr);
    if (!j) return;
    if (env.ctx->json) {
      for (const auto& e : (*j)["events"]) JsonLine("shared_event", e);
      return;
    }
    std::cout << "Shared with " << j->value("recipient", std::string("the social network operator"))
              << " (sharing " << ((*j)["sharing"] == "active" ? "on" : "off") << "):\n";
    Table t({"#", "WHAT", "RECORDED", "FETCHED BY THE SOCIAL NETWORK"});
    for (const auto& e : (*j)["events"]) {
      t.Add({std::to_string(e.value("seq", int64_t{0})), EventWords(e), LocalTimeFromIso(e["recorded_at"]),
             e["shared_at"].is_null() ? "not yet" : LocalTimeFromIso(e["shared_at"])});
    }
    if (t.size() == 0) {
      std::cout << "nothing yet\n";
    } else {
      t.Print(std::cout);
    }
  });
}

void DefinePrivacyExport(CLI::App& cmd, const CliEnv& env) {
  auto out = std::make_shared<std::string>();
  cmd.add_option("--output,-o", *out, "Write to this file instead of stdout");
  cmd.callback([env, out] {
    auto j = PrivacyRequest(env, "GET", "/v1/privacy/export", "", nullptr);
    if (!j) return;
    std::string pretty = j->dump(2);
    if (out->empty()) {
      std::cout << pretty << std::endl;
      return;
    }
    std::ofstream file(*out);
    file << pretty << "\n";
    if (!file) {
      *env.exit_code = Fail(absl::UnavailableError("cannot write " + *out));
      return;
    }
    if (env.ctx->json) {
      JsonLine("exported", {{"file", *out}});
    } else {
      std::cout << "exported to " << *out
                << " (everything the messenger holds about you; message contents are "
                << "not there: the relay never has them)\n";
    }
  });
}

constexpr CommandSpec<CliEnv> kPrivacyCommands[] = {
    {"show", "Show what is shared, your objections, and the next usage summary", DefinePrivacyShow},
    {"object", "Object to the use of your shared data for a purpose (ads or friend_suggestions)",
     DefinePrivacyObject},
    {"withdraw", "Withdraw an objection", DefinePrivacyWithdraw},
    {"shared", "Every event shared about you with the social network, and when", DefinePrivacyShared},
    {"export", "Export your data as JSON", DefinePrivacyExport},
};

void DefinePrivacy(CLI::App& cmd, const CliEnv& env) { AddCommandGroup(cmd, kPrivacyCommands, env); }

void DefineDeleteAccount(CLI::App& cmd, const CliEnv& env) {
  auto yes = std::make_shared<bool>(false);
  cmd.add_flag("--yes", *yes, "Confirm");
  cmd.callback([env, yes] {
    if (!*yes) {
      std::cerr << "tandem: this deletes your account, keys and queued messages; repeat with --yes\n";
      *env.exit_code = 2;
      return;
    }
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    const std::string number = c->number();
    if (auto st = c->DeleteAccount(); !st.ok()) {
      *env.exit_code = Fail(WithHint(g, st));
      return;
    }
    if (g.json) {
      JsonLine("account_deleted", {{"number", number}});
      return;
    }
    std::cout << "account " << number << " deleted; the social network is told, and stops using what it had "
              << "from the messenger" << std::endl;
  });
}

// ---- linked devices ----

void DefineDeviceLink(CLI::App& cmd, const CliEnv& env) {
  auto timeout = std::make_shared<int>(600);
  cmd.add_option("--timeout", *timeout, "Seconds to wait for the primary device (default 600)");
  cmd.callback([env, timeout] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, true, env.exit_code);
    if (!c) return;
    auto code = c->BeginLink();
    if (!code.ok()) {
      *env.exit_code = Fail(code.status());
      return;
    }
    if (g.json) {
      JsonLine("link_code", {{"code", *code}});
    } else {
      std::cout << "On your primary device run:\n  tandem device add " << *code
                << "\n(the code works once, for 10 minutes)" << std::endl;
    }
    if (auto st = c->FinishLink(absl::Seconds(*timeout)); !st.ok()) {
      *env.exit_code = Fail(st);
      return;
    }
    if (g.json) {
      JsonLine("linked",
               {{"number", c->number()}, {"device_id", c->device_id()}, {"profile", g.ProfilePath()}});
      return;
    }
    std::cout << "linked: this profile is device " << c->device_id() << " of " << c->number() << std::endl;
  });
}

void DefineDeviceAdd(CLI::App& cmd, const CliEnv& env) {
  auto code = std::make_shared<std::string>();
  cmd.add_option("code", *code, "The link code the new device shows")->required();
  cmd.callback([env, code] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    if (auto st = c->AddDevice(*code); !st.ok()) {
      *env.exit_code = Fail(WithHint(g, st));
      return;
    }
    if (g.json) {
      JsonLine("device_added", {{"number", c->number()}});
      return;
    }
    std::cout << "sent the account to the new device; it finishes linking on its own" << std::endl;
  });
}

void DefineDeviceList(CLI::App& cmd, const CliEnv& env) {
  cmd.callback([env] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto devices = c->Devices();
    if (!devices.ok()) {
      *env.exit_code = Fail(WithHint(g, devices.status()));
      return;
    }
    Table t({"DEVICE", "LINKED", ""});
    for (const client::LinkedDevice& d : *devices) {
      const bool self = d.device_id == c->device_id();
      if (g.json) {
        JsonLine("device", {{"device_id", d.device_id}, {"created_ms", d.created_ms}, {"this_device", self}});
      } else {
        t.Add({absl::StrCat(d.device_id, d.device_id == 1 ? " (primary)" : ""), Clock(d.created_ms),
               self ? "this device" : ""});
      }
    }
    if (!g.json) t.Print(std::cout);
  });
}

void DefineDeviceRemove(CLI::App& cmd, const CliEnv& env) {
  auto id = std::make_shared<uint32_t>(0);
  cmd.add_option("device", *id, "The device id (see `device list`)")->required();
  cmd.callback([env, id] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    if (auto st = c->RemoveDevice(*id); !st.ok()) {
      *env.exit_code = Fail(WithHint(g, st));
      return;
    }
    if (g.json) {
      JsonLine("device_removed", {{"device_id", *id}});
      return;
    }
    std::cout << "device " << *id << " removed; its credentials no longer work" << std::endl;
  });
}

constexpr CommandSpec<CliEnv> kDeviceCommands[] = {
    {"link", "Make this new profile a linked device of an account (shows a code)", DefineDeviceLink},
    {"add", "On the primary device: link the device that shows this code", DefineDeviceAdd},
    {"list", "The account's devices", DefineDeviceList},
    {"remove", "Remove a linked device", DefineDeviceRemove},
};

void DefineDevice(CLI::App& cmd, const CliEnv& env) { AddCommandGroup(cmd, kDeviceCommands, env); }

// ---- groups ----

void PrintGroup(const CliContext& g, const client::GroupInfo& info) {
  if (g.json) {
    json members = json::array();
    for (const auto& [number, admin] : info.members)
      members.push_back({{"number", number}, {"admin", admin}});
    JsonLine("group", {{"id", info.id},
                       {"title", info.title},
                       {"version", info.version},
                       {"member", info.active},
                       {"members", members}});
    return;
  }
  std::cout << info.title << " (" << info.id << ")" << (info.active ? "" : " — you are no longer a member")
            << "\n";
  Table t({"MEMBER", "ROLE"});
  for (const auto& [number, admin] : info.members) t.Add({number, admin ? "admin" : "member"});
  t.Print(std::cout);
}

void DefineGroupCreate(CLI::App& cmd, const CliEnv& env) {
  auto title = std::make_shared<std::string>();
  auto members = std::make_shared<std::vector<std::string>>();
  cmd.add_option("title", *title, "The group's title")->required();
  cmd.add_option("members", *members, "Members' phone numbers (you are its admin)");
  cmd.callback([env, title, members] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto id = c->CreateGroup(*title, *members);
    if (!id.ok()) {
      *env.exit_code = Fail(WithHint(g, id.status()));
      return;
    }
    if (g.json) {
      JsonLine("group_created", {{"id", *id}, {"title", *title}});
    } else {
      std::cout << "created \"" << *title << "\" (" << *id << "); send to it with `"
                << g.Command("send --group " + id->substr(0, 8) + " TEXT") << "`" << std::endl;
    }
    Deliver(*c, env, "");
  });
}

// add / remove: a group and numbers.
void DefineGroupMembers(CLI::App& cmd, const CliEnv& env, bool add) {
  auto group = std::make_shared<std::string>();
  auto numbers = std::make_shared<std::vector<std::string>>();
  cmd.add_option("group", *group, "The group (its id, or the first 8+ digits of it)")->required();
  cmd.add_option("numbers", *numbers, "Phone numbers")->required();
  cmd.callback([env, group, numbers, add] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto info = add ? c->AddToGroup(*group, *numbers) : c->RemoveFromGroup(*group, *numbers);
    if (!info.ok()) {
      *env.exit_code = Fail(WithHint(g, info.status()));
      return;
    }
    PrintGroup(g, *info);
    Deliver(*c, env, "");
  });
}

void DefineGroupAdd(CLI::App& cmd, const CliEnv& env) { DefineGroupMembers(cmd, env, true); }
void DefineGroupRemove(CLI::App& cmd, const CliEnv& env) { DefineGroupMembers(cmd, env, false); }

void DefineGroupRename(CLI::App& cmd, const CliEnv& env) {
  auto group = std::make_shared<std::string>();
  auto words = std::make_shared<std::vector<std::string>>();
  cmd.add_option("group", *group, "The group")->required();
  cmd.add_option("title", *words, "The new title")->required();
  cmd.callback([env, group, words] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto info = c->RenameGroup(*group, absl::StrJoin(*words, " "));
    if (!info.ok()) {
      *env.exit_code = Fail(WithHint(g, info.status()));
      return;
    }
    PrintGroup(g, *info);
    Deliver(*c, env, "");
  });
}

void DefineGroupLeave(CLI::App& cmd, const CliEnv& env) {
  auto group = std::make_shared<std::string>();
  cmd.add_option("group", *group, "The group")->required();
  cmd.callback([env, group] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto info = c->LeaveGroup(*group);
    if (!info.ok()) {
      *env.exit_code = Fail(WithHint(g, info.status()));
      return;
    }
    if (g.json) {
      JsonLine("group_left", {{"id", info->id}});
    } else {
      std::cout << "you left \"" << info->title << "\"" << std::endl;
    }
    Deliver(*c, env, "");
  });
}

void DefineGroupList(CLI::App& cmd, const CliEnv& env) {
  cmd.callback([env] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto groups = c->Groups();
    if (!groups.ok()) {
      *env.exit_code = Fail(WithHint(g, groups.status()));
      return;
    }
    if (g.json) {
      for (const auto& info : *groups) PrintGroup(g, info);
      return;
    }
    if (groups->empty()) {
      std::cout << "no groups; create one with `" << g.Command("group create TITLE NUMBER...") << "`\n";
      return;
    }
    Table t({"ID", "TITLE", "MEMBERS", ""});
    for (const auto& info : *groups) {
      t.Add({info.id.substr(0, 8), info.title, absl::StrCat(info.members.size()), info.active ? "" : "left"});
    }
    t.Print(std::cout);
  });
}

void DefineGroupShow(CLI::App& cmd, const CliEnv& env) {
  auto group = std::make_shared<std::string>();
  cmd.add_option("group", *group, "The group")->required();
  cmd.callback([env, group] {
    const CliContext& g = *env.ctx;
    auto c = OpenClient(g, false, env.exit_code);
    if (!c) return;
    auto info = c->Group(*group);
    if (!info.ok()) {
      *env.exit_code = Fail(WithHint(g, info.status()));
      return;
    }
    PrintGroup(g, *info);
  });
}

constexpr CommandSpec<CliEnv> kGroupCommands[] = {
    {"create", "Create a group with these members (you are its admin)", DefineGroupCreate},
    {"add", "Add members (admins only)", DefineGroupAdd},
    {"remove", "Remove members (admins only); they cannot read what is sent after", DefineGroupRemove},
    {"rename", "Change the title (admins only)", DefineGroupRename},
    {"leave", "Leave a group", DefineGroupLeave},
    {"list", "The groups this profile knows", DefineGroupList},
    {"show", "A group's title and members", DefineGroupShow},
};

void DefineGroup(CLI::App& cmd, const CliEnv& env) { AddCommandGroup(cmd, kGroupCommands, env); }

constexpr CommandSpec<CliEnv> kMessengerCommands[] = {
    {"register", "Ask the relay to send a verification code to your number", DefineRegister},
    {"verify", "Finish registration with the code you received", DefineVerify},
    {"send", "Send an end-to-end encrypted text (to a number, or to a group with --group)", DefineSend},
    {"group", "Groups: create, add, remove, rename, leave, list, show", DefineGroup},
    {"device", "Linked devices: link, add, list, remove", DefineDevice},
    {"inbox", "Receive messages and receipts", DefineInbox},
    {"history", "Show stored messages with their time and status", DefineHistory},
    {"discover", "Which of these numbers use the messenger", DefineDiscover},
    {"safety-number", "Show the safety number to compare with a contact", DefineSafetyNumber},
    {"privacy", "Your privacy settings: what the messenger shares with the social network, and objections",
     DefinePrivacy},
    {"delete-account", "Delete your messenger account and this profile's data", DefineDeleteAccount},
};

}  // namespace

void AddMessengerCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code) {
  AddCommands(app, kMessengerCommands, CliEnv{std::move(ctx), exit_code});
}

}  // namespace tandem::app
