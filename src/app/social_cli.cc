// The social network's command-line client over its HTTP API
// (docs/social-api.md): the `social` group, and the `timeline` group (posts,
// and the ads shown among them). Sign-in state lives in the profile (--profile):
// `tandem social verify` stores the session token there, so later commands
// need no token; --token (or $TANDEM_SOCIAL_TOKEN) overrides it.
#include "app/social_cli.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/client_store.h"
#include "social/address_book.h"

namespace tandem::app {
namespace {

using nlohmann::json;

struct SocialOptions {
  std::string server;
  std::string token;
  std::string phone, region, code, name, discoverable;
  std::string file, column;
  bool header = false;
  bool print_token = false;
  unsigned long user = 0;
  int limit = 10;
  // timeline
  std::string text;
  int64_t impression = 0;
};

using Session = RoleSession;

absl::StatusOr<Session> OpenSession(const CliContext& ctx, const SocialOptions& o, bool signing_in) {
  return OpenRoleSession(ctx, "social", o.server, o.token, signing_in, "social register --phone NUMBER");
}

std::string ReasonWords(const std::string& r) {
  if (r == "in_your_contacts") return "in your contacts";
  if (r == "has_your_number") return "has your number";
  if (r == "active_on_messenger") return "uses the messenger";
  if (r.rfind("mutual_friends:", 0) == 0) return r.substr(15) + " mutual friends";
  return r;
}

std::string ProvenanceWords(const std::string& p) {
  if (p == "messenger") return "from the messenger";
  if (p == "user") return "you gave it";
  if (p == "social") return "from your activity here";
  return p;
}

void PrintPeople(const CliContext& ctx, const std::string& kind, const json& people,
                 const std::string& empty) {
  if (ctx.json) {
    for (const auto& p : people) JsonLine(kind, p);
    return;
  }
  Table t({"ID", "NAME"});
  for (const auto& p : people) {
    t.Add({std::to_string(p.value("account_id", uint64_t{0})), p.value("display_name", std::string())});
  }
  if (t.size() == 0) {
    std::cout << empty << "\n";
  } else {
    t.Print(std::cout);
  }
}

int UploadAddressBook(const CliContext& ctx, const SocialOptions& o, Session& s) {
  std::ifstream in(o.file);
  if (!in) return Fail(absl::InvalidArgumentError("cannot open " + o.file));
  std::stringstream text;
  text << in.rdbuf();
  size_t column = 0;
  std::string column_name;
  if (!o.column.empty()) {
    char* end = nullptr;
    unsigned long n = std::strtoul(o.column.c_str(), &end, 10);
    if (end && *end == '\0' && n >= 1) {
      column = n - 1;
    } else {
      column_name = o.column;
    }
  }
  auto file = social::ParseContactFile(text.str(), o.header || !column_name.empty(), column, column_name);
  if (!file.ok())
    return Fail(absl::InvalidArgumentError(absl::StrCat(o.file, ": ", file.status().message())));
  for (const auto& [line, problem] : file->errors) std::cerr << "line " << line << ": " << problem << "\n";
  if (file->numbers.size() > social::kMaxAddressBookEntries) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("an address book holds at most ", social::kMaxAddressBookEntries, " numbers")));
  }
  json body = {{"region", o.region}, {"entries", json::array()}};
  for (const auto& n : file->numbers) body["entries"].push_back(n.number);
  auto res = CallJson(s.server, s.token, "PUT", "/v1/social/address-book", &body);
  if (!res.ok()) return Fail(res.status());
  for (const auto& r : (*res)["rejected"]) {
    size_t index = r["index"].get<size_t>();
    size_t line = index < file->numbers.size() ? file->numbers[index].line : 0;
    std::cerr << "line " << line << ": " << r["message"].get<std::string>() << " ("
              << r["reason"].get<std::string>() << ")\n";
  }
  const size_t rejected = (*res)["rejected"].size() + file->errors.size();
  if (ctx.json) {
    JsonLine("address_book", {{"stored", (*res)["stored"]},
                              {"rejected", rejected},
                              {"budget_remaining", res->value("budget_remaining", 0)}});
  } else {
    std::cout << "stored " << (*res)["stored"] << " numbers, rejected " << rejected << "; you can add "
              << res->value("budget_remaining", 0) << " more new numbers now\n";
  }
  return 0;
}

}  // namespace

void AddSocialCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code) {
  CLI::App* social = app.add_subcommand("social", "Use the social network: account, friends, suggestions");
  social->require_subcommand(1);
  auto o = std::make_shared<SocialOptions>();
  social->add_option(
      "--server", o->server,
      "Server host:port for the social network only (default: --server, $TANDEM_SOCIAL_SERVER, "
      "$TANDEM_SERVER, the profile's)");
  social->add_option("--token", o->token, "Session token (default $TANDEM_SOCIAL_TOKEN, else the profile's)");
  // Runs `fn` with the session; its result is the exit code.
  auto with_session = [ctx, o, exit_code](bool signing_in, std::function<int(Session&)> fn) {
    return [ctx, o, exit_code, signing_in, fn] {
      auto s = OpenSession(*ctx, *o, signing_in);
      if (!s.ok()) {
        *exit_code = Fail(s.status());
        return;
      }
      *exit_code = fn(*s);
    };
  };
  auto add = [&](CLI::App* parent, const std::string& name, const std::string& help,
                 std::function<int(Session&)> fn, bool signing_in = false) {
    CLI::App* cmd = parent->add_subcommand(name, help);
    cmd->callback(with_session(signing_in, std::move(fn)));
    return cmd;
  };
  auto user_arg = [o](CLI::App* cmd) { cmd->add_option("user", o->user, "Account id")->required(); };
  auto call = [](Session& s, const std::string& method, const std::string& target,
                 const json* body = nullptr) { return CallJson(s.server, s.token, method, target, body); };
  auto done = [ctx](const absl::StatusOr<json>& r, const std::string& kind, const std::string& words) {
    return PrintResult(*ctx, r, kind, words);
  };

  CLI::App* reg = add(
      social, "register", "Send a verification code to a phone number",
      [=](Session& s) {
        json body = {{"phone", o->phone}, {"region", o->region}};
        auto r = call(s, "POST", "/v1/social/register", &body);
        if (!r.ok()) return Fail(r.status());
        if (s.profile) s.profile->SetSetting("social.server", s.server).IgnoreError();
        std::string region = o->region.empty() ? "" : " --region " + o->region;
        return done(r, "code_sent",
                    absl::StrCat("a verification code was sent to ", o->phone, "; finish with: ",
                                 ctx->Command(absl::StrCat("social verify --phone '", o->phone, "'", region,
                                                           " --code CODE --name 'YOUR NAME'"))));
      },
      true);
  reg->add_option("--phone", o->phone, "Phone number")->required();
  reg->add_option("--region", o->region, "Region for numbers without +country code (e.g. US)");

  CLI::App* verify = add(
      social, "verify", "Check the code and sign in (the session is kept in the profile)",
      [=](Session& s) {
        json body = {
            {"phone", o->phone}, {"region", o->region}, {"code", o->code}, {"display_name", o->name}};
        auto r = call(s, "POST", "/v1/social/verify", &body);
        if (!r.ok()) return Fail(r.status());
        const std::string token = r->value("token", std::string());
        const uint64_t id = r->value("account_id", uint64_t{0});
        for (const auto& [k, v] : {std::pair<std::string, std::string>{"social.token", token},
                                   {"social.account_id", std::to_string(id)},
                                   {"social.server", s.server}}) {
          if (!s.profile) break;
          if (absl::Status st = s.profile->SetSetting(k, v); !st.ok()) return Fail(st);
        }
        if (o->print_token) {
          std::cout << token << "\n";
          return 0;
        }
        if (ctx->json) {
          JsonLine(
              "signed_in",
              {{"account_id", id}, {"created", r->value("created", false)}, {"profile", ctx->ProfilePath()}});
          return 0;
        }
        std::cout << (r->value("created", false) ? "created social account " : "signed in to social account ")
                  << id << "; the session is kept in " << ctx->ProfilePath() << "\n";
        return 0;
      },
      true);
  verify->add_option("--phone", o->phone, "Phone number")->required();
  verify->add_option("--region", o->region, "Region for numbers without +country code");
  verify->add_option("--code", o->code, "The code that was sent")->required();
  verify->add_option("--name", o->name, "Display name for a new account");
  verify->add_flag("--print-token", o->print_token, "Print the bare session token (for scripts)");

  add(social, "sign-out", "Forget the social session kept in the profile", [=](Session& s) {
    for (const char* k : {"social.token", "social.account_id"}) {
      if (s.profile) s.profile->SetSetting(k, "").IgnoreError();
    }
    return done(json::object(), "signed_out",
                "signed out of the social network (profile " + ctx->ProfilePath() + ")");
  });

  CLI::App* profile = add(social, "profile", "Show or change your profile", [=](Session& s) {
    absl::StatusOr<json> r;
    if (o->name.empty() && o->discoverable.empty()) {
      r = call(s, "GET", "/v1/social/me");
    } else {
      json body = json::object();
      if (!o->name.empty()) body["display_name"] = o->name;
      if (!o->discoverable.empty()) body["discoverable_by_phone"] = o->discoverable == "true";
      r = call(s, "PUT", "/v1/social/me", &body);
    }
    if (!r.ok()) return Fail(r.status());
    if (ctx->json) {
      JsonLine("profile", *r);
      return 0;
    }
    Table t({"", ""});
    t.Add({"account", std::to_string(r->value("account_id", uint64_t{0}))});
    t.Add({"name", r->value("display_name", std::string())});
    t.Add({"phone", r->value("phone", std::string())});
    t.Add({"findable by phone", r->value("discoverable_by_phone", false) ? "yes" : "no"});
    t.Print(std::cout);
    return 0;
  });
  profile->add_option("--name", o->name, "New display name");
  profile
      ->add_option("--discoverable", o->discoverable, "Let people who have your number find you: true|false")
      ->check(CLI::IsMember({"true", "false"}));

  CLI::App* facts =
      add(social, "facts", "What the social network may use about you, per purpose", [=](Session& s) {
        const std::string purpose = o->name.empty() ? "friend_suggestions" : o->name;
        auto r = call(s, "GET", "/v1/social/me/facts?purpose=" + purpose);
        if (!r.ok()) return Fail(r.status());
        if (ctx->json) {
          for (const auto& f : (*r)["facts"])
            JsonLine("fact", {{"purpose", purpose},
                              {"fact", f["kind"]},
                              {"value", f["value"]},
                              {"provenance", f["provenance"]}});
          return 0;
        }
        std::cout << "What " << (purpose == "friend_suggestions" ? "friend suggestions" : purpose)
                  << " may use about you:\n";
        Table t({"FACT", "VALUE", "WHERE IT COMES FROM"});
        for (const auto& f : (*r)["facts"]) {
          t.Add({f.value("kind", std::string()),
                 f["value"].is_string() ? f["value"].get<std::string>() : f["value"].dump(),
                 ProvenanceWords(f.value("provenance", std::string()))});
        }
        if (t.size() == 0) {
          std::cout << "nothing\n";
        } else {
          t.Print(std::cout);
        }
        return 0;
      });
  facts->add_option("--purpose", o->name, "ads, friend_suggestions or security")
      ->check(CLI::IsMember({"ads", "friend_suggestions", "security"}));

  CLI::App* fr = social->add_subcommand("friend", "Friend requests and friendships");
  fr->require_subcommand(1);
  user_arg(add(fr, "request", "Ask someone to be your friend", [=](Session& s) {
    json body = {{"to", o->user}};
    auto r = call(s, "POST", "/v1/social/friend-requests", &body);
    std::string status = r.ok() ? r->value("status", std::string()) : "";
    return done(r, "friend_request",
                status == "friends"
                    ? absl::StrCat("you and ", o->user, " are now friends (they had asked you)")
                    : absl::StrCat("friend request sent to ", o->user));
  }));
  user_arg(add(fr, "accept", "Accept a friend request", [=](Session& s) {
    return done(call(s, "POST", absl::StrCat("/v1/social/friend-requests/", o->user, "/accept")),
                "friend_request", absl::StrCat("you and ", o->user, " are now friends"));
  }));
  user_arg(add(fr, "decline", "Decline a friend request", [=](Session& s) {
    return done(call(s, "POST", absl::StrCat("/v1/social/friend-requests/", o->user, "/decline")),
                "friend_request", absl::StrCat("declined the request of ", o->user));
  }));
  user_arg(add(fr, "remove", "End a friendship", [=](Session& s) {
    return done(call(s, "DELETE", absl::StrCat("/v1/social/friends/", o->user)), "friendship_ended",
                absl::StrCat("you and ", o->user, " are no longer friends"));
  }));
  add(fr, "list", "List your friends", [=](Session& s) {
    auto r = call(s, "GET", "/v1/social/friends");
    if (!r.ok()) return Fail(r.status());
    PrintPeople(*ctx, "friend", (*r)["friends"], "no friends yet");
    return 0;
  });
  add(fr, "requests", "List pending requests", [=](Session& s) {
    auto r = call(s, "GET", "/v1/social/friend-requests");
    if (!r.ok()) return Fail(r.status());
    if (ctx->json) {
      for (const auto& p : (*r)["incoming"]) JsonLine("incoming_request", p);
      for (const auto& p : (*r)["outgoing"]) JsonLine("outgoing_request", p);
      return 0;
    }
    std::cout << "asking you:\n";
    PrintPeople(*ctx, "incoming_request", (*r)["incoming"], "  nobody");
    std::cout << "you asked:\n";
    PrintPeople(*ctx, "outgoing_request", (*r)["outgoing"], "  nobody");
    return 0;
  });

  user_arg(add(social, "block", "Block someone (ends friendship and requests)", [=](Session& s) {
    return done(call(s, "PUT", absl::StrCat("/v1/social/blocks/", o->user)), "blocked",
                absl::StrCat("blocked ", o->user));
  }));
  user_arg(add(social, "unblock", "Lift a block", [=](Session& s) {
    return done(call(s, "DELETE", absl::StrCat("/v1/social/blocks/", o->user)), "unblocked",
                absl::StrCat("unblocked ", o->user));
  }));

  CLI::App* book = social->add_subcommand("address-book", "Your uploaded address book");
  book->require_subcommand(1);
  CLI::App* upload = add(book, "upload", "Replace your address book with the numbers in a file",
                         [=](Session& s) { return UploadAddressBook(*ctx, *o, s); });
  upload->add_option("file", o->file, "One number per line, or CSV")->required();
  upload->add_option("--region", o->region, "Region for numbers without +country code (e.g. US)");
  upload->add_option("--column", o->column, "CSV column: 1-based number or header name");
  upload->add_flag("--header", o->header, "The first line is a header");
  add(book, "show", "List the stored numbers", [=](Session& s) {
    auto r = call(s, "GET", "/v1/social/address-book");
    if (!r.ok()) return Fail(r.status());
    for (const auto& n : (*r)["entries"]) {
      if (ctx->json) {
        JsonLine("contact", {{"number", n}});
      } else {
        std::cout << n.get<std::string>() << "\n";
      }
    }
    if (!ctx->json) std::cerr << (*r)["entries"].size() << " numbers\n";
    return 0;
  });
  add(book, "delete", "Delete your address book", [=](Session& s) {
    return done(call(s, "DELETE", "/v1/social/address-book"), "address_book_deleted", "address book deleted");
  });

  CLI::App* sugg = add(social, "suggestions", "People you may know, with the reasons", [=](Session& s) {
    auto r = call(s, "GET", "/v1/social/suggestions?limit=" + std::to_string(o->limit));
    if (!r.ok()) return Fail(r.status());
    if (ctx->json) {
      for (const auto& sg : (*r)["suggestions"]) JsonLine("suggestion", sg);
      return 0;
    }
    Table t({"ID", "NAME", "SCORE", "WHY"});
    for (const auto& sg : (*r)["suggestions"]) {
      std::vector<std::string> reasons;
      for (const auto& why : sg["reasons"]) reasons.push_back(ReasonWords(why.get<std::string>()));
      t.Add({std::to_string(sg.value("account_id", uint64_t{0})), sg.value("display_name", std::string()),
             std::to_string(sg.value("score", 0)), absl::StrJoin(reasons, ", ")});
    }
    if (t.size() == 0) {
      std::cout << "no suggestions yet (they come from friends of friends and address books)\n";
    } else {
      t.Print(std::cout);
    }
    return 0;
  });
  sugg->add_option("--limit", o->limit, "How many (1..100)");
  user_arg(add(social, "dismiss", "Stop suggesting someone", [=](Session& s) {
    return done(call(s, "POST", absl::StrCat("/v1/social/suggestions/", o->user, "/dismiss")), "dismissed",
                absl::StrCat(o->user, " will not be suggested again"));
  }));
}

void AddTimelineCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code) {
  CLI::App* timeline =
      app.add_subcommand("timeline", "Your social timeline: posts, ads and why you see them");
  timeline->require_subcommand(1);
  auto o = std::make_shared<SocialOptions>();
  o->limit = 20;
  timeline->add_option("--server", o->server, "Server host:port for the social network only");
  timeline->add_option("--token", o->token,
                       "Social session token (default $TANDEM_SOCIAL_TOKEN, else the profile's)");
  auto add = [&](const std::string& name, const std::string& help, std::function<int(Session&)> fn) {
    CLI::App* cmd = timeline->add_subcommand(name, help);
    cmd->callback([ctx, o, exit_code, fn = std::move(fn)] {
      auto s = OpenSession(*ctx, *o, false);
      if (!s.ok()) {
        *exit_code = Fail(s.status());
        return;
      }
      *exit_code = fn(*s);
    });
    return cmd;
  };
  auto done = [ctx](const absl::StatusOr<json>& r, const std::string& kind, const std::string& words) {
    return PrintResult(*ctx, r, kind, words);
  };

  CLI::App* post = add("post", "Write a post", [=](Session& s) {
    json body = {{"text", o->text}};
    auto r = CallJson(s.server, s.token, "POST", "/v1/social/posts", &body);
    return done(r, "post", r.ok() ? absl::StrCat("posted (post ", r->value("id", int64_t{0}), ")") : "");
  });
  post->add_option("text", o->text, "Text")->required();

  CLI::App* show = add("show", "Show your timeline: posts, and ads marked as ads", [=](Session& s) {
    auto r = CallJson(s.server, s.token, "GET", "/v1/social/timeline?limit=" + std::to_string(o->limit));
    if (!r.ok()) return Fail(r.status());
    if (ctx->json) {
      for (const auto& item : (*r)["items"]) JsonLine(item.value("type", std::string("item")), item);
      return 0;
    }
    if ((*r)["items"].empty()) std::cout << "nothing in your timeline yet\n";
    for (const auto& item : (*r)["items"]) {
      if (item.value("type", "") == "ad") {
        std::cout << "[ad " << item.value("impression_id", int64_t{0}) << "] "
                  << item.value("title", std::string()) << " - " << item.value("text", std::string()) << " ("
                  << item.value("link", std::string()) << "), from "
                  << item.value("advertiser", std::string()) << "; why: `"
                  << ctx->Command(absl::StrCat("timeline why ", item.value("impression_id", int64_t{0})))
                  << "`\n";
      } else {
        int64_t at = item["created_at"].is_number() ? item["created_at"].get<int64_t>() : 0;
        std::cout << "[" << LocalTime(at) << "] " << item.value("author_name", std::string()) << ": "
                  << item.value("text", std::string()) << "\n";
      }
    }
    return 0;
  });
  show->add_option("--limit", o->limit, "Posts (1..100)");

  CLI::App* why = add("why", "Why am I seeing this ad?", [=](Session& s) {
    auto r = CallJson(s.server, s.token, "GET", absl::StrCat("/v1/social/ads/", o->impression, "/why"));
    return done(r, "why", r.ok() ? r->value("text", std::string()) : "");
  });
  why->add_option("impression", o->impression, "The ad's number, as `timeline show` prints it")->required();
}

}  // namespace tandem::app
