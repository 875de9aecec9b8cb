// The social network's command-line client over its HTTP API
// (docs/social-api.md): the `social` group, and the `timeline` group (posts,
// and the ads shown among them). Sign-in state lives in the profile (--profile):
// `tandem social verify` stores the session token there, so later commands
// need no token; --token (or $TANDEM_SOCIAL_TOKEN) overrides it.
#include "app/social_cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/client_store.h"
#include "common/csv.h"
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
  absl::StatusOr<CsvColumn> column = CsvColumn::Parse(o.column, o.header);
  if (!column.ok()) return Fail(column.status());
  auto file = social::ParseContactFile(text.str(), column->header, column->index, column->name);
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

// What a group's commands share: the global options, the group's and the
// commands' options (one object: one command runs), and the exit code.
struct SocialEnv {
  std::shared_ptr<CliContext> ctx;
  std::shared_ptr<SocialOptions> o;
  int* exit_code = nullptr;
};

using SocialRun = int (*)(const SocialEnv& env, Session& s);

// Makes `cmd` run `run` with the session (`signing_in`: no token needed
// yet); its result is the exit code.
void On(CLI::App& cmd, const SocialEnv& env, SocialRun run, bool signing_in = false) {
  cmd.callback([env, run, signing_in] {
    auto s = OpenSession(*env.ctx, *env.o, signing_in);
    if (!s.ok()) {
      *env.exit_code = Fail(s.status());
      return;
    }
    *env.exit_code = run(env, *s);
  });
}

// The `user` argument of the commands about someone else.
void AddUserArgument(CLI::App& cmd, const SocialEnv& env) {
  cmd.add_option("user", env.o->user, "Account id")->required();
}

absl::StatusOr<json> Call(const Session& s, const std::string& method, const std::string& target,
                          const json* body = nullptr) {
  return CallJson(s.server, s.token, method, target, body);
}

int Done(const SocialEnv& env, const absl::StatusOr<json>& r, const std::string& kind,
         const std::string& words) {
  return PrintResult(*env.ctx, r, kind, words);
}

int RunRegister(const SocialEnv& env, Session& s) {
  const SocialOptions& o = *env.o;
  json body = {{"phone", o.phone}, {"region", o.region}};
  auto r = Call(s, "POST", "/v1/social/register", &body);
  if (!r.ok()) return Fail(r.status());
  if (s.profile) s.profile->SetSetting("social.server", s.server).IgnoreError();
  std::string region = o.region.empty() ? "" : " --region " + o.region;
  return Done(env, r, "code_sent",
              absl::StrCat("a verification code was sent to ", o.phone, "; finish with: ",
                           env.ctx->Command(absl::StrCat("social verify --phone '", o.phone, "'", region,
                                                         " --code CODE --name 'YOUR NAME'"))));
}

void DefineRegister(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, RunRegister, /*signing_in=*/true);
  cmd.add_option("--phone", env.o->phone, "Phone number")->required();
  cmd.add_option("--region", env.o->region, "Region for numbers without +country code (e.g. US)");
}

int RunVerify(const SocialEnv& env, Session& s) {
  const SocialOptions& o = *env.o;
  const CliContext& ctx = *env.ctx;
  json body = {{"phone", o.phone}, {"region", o.region}, {"code", o.code}, {"display_name", o.name}};
  auto r = Call(s, "POST", "/v1/social/verify", &body);
  if (!r.ok()) return Fail(r.status());
  const std::string token = r->value("token", std::string());
  const uint64_t id = r->value("account_id", uint64_t{0});
  for (const auto& [k, v] : {std::pair<std::string, std::string>{"social.token", token},
                             {"social.account_id", std::to_string(id)},
                             {"social.server", s.server}}) {
    if (!s.profile) break;
    if (absl::Status st = s.profile->SetSetting(k, v); !st.ok()) return Fail(st);
  }
  if (o.print_token) {
    std::cout << token << "\n";
    return 0;
  }
  if (ctx.json) {
    JsonLine("signed_in",
             {{"account_id", id}, {"created", r->value("created", false)}, {"profile", ctx.ProfilePath()}});
    return 0;
  }
  std::cout << (r->value("created", false) ? "created social account " : "signed in to social account ") << id
            << "; the session is kept in " << ctx.ProfilePath() << "\n";
  return 0;
}

void DefineVerify(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, RunVerify, /*signing_in=*/true);
  SocialOptions& o = *env.o;
  cmd.add_option("--phone", o.phone, "Phone number")->required();
  cmd.add_option("--region", o.region, "Region for numbers without +country code");
  cmd.add_option("--code", o.code, "The code that was sent")->required();
  cmd.add_option("--name", o.name, "Display name for a new account");
  cmd.add_flag("--print-token", o.print_token, "Print the bare session token (for scripts)");
}

int RunSignOut(const SocialEnv& env, Session& s) {
  for (const char* k : {"social.token", "social.account_id"}) {
    if (s.profile) s.profile->SetSetting(k, "").IgnoreError();
  }
  return Done(env, json::object(), "signed_out",
              "signed out of the social network (profile " + env.ctx->ProfilePath() + ")");
}

void DefineSignOut(CLI::App& cmd, const SocialEnv& env) { On(cmd, env, RunSignOut); }

int RunProfile(const SocialEnv& env, Session& s) {
  const SocialOptions& o = *env.o;
  absl::StatusOr<json> r;
  if (o.name.empty() && o.discoverable.empty()) {
    r = Call(s, "GET", "/v1/social/me");
  } else {
    json body = json::object();
    if (!o.name.empty()) body["display_name"] = o.name;
    if (!o.discoverable.empty()) body["discoverable_by_phone"] = o.discoverable == "true";
    r = Call(s, "PUT", "/v1/social/me", &body);
  }
  if (!r.ok()) return Fail(r.status());
  if (env.ctx->json) {
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
}

void DefineProfile(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, RunProfile);
  cmd.add_option("--name", env.o->name, "New display name");
  cmd.add_option("--discoverable", env.o->discoverable,
                 "Let people who have your number find you: true|false")
      ->check(CLI::IsMember({"true", "false"}));
}

int RunFacts(const SocialEnv& env, Session& s) {
  const std::string purpose = env.o->name.empty() ? "friend_suggestions" : env.o->name;
  auto r = Call(s, "GET", "/v1/social/me/facts?purpose=" + purpose);
  if (!r.ok()) return Fail(r.status());
  if (env.ctx->json) {
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
}

void DefineFacts(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, RunFacts);
  cmd.add_option("--purpose", env.o->name, "ads, friend_suggestions or security")
      ->check(CLI::IsMember({"ads", "friend_suggestions", "security"}));
}

int RunFriendRequest(const SocialEnv& env, Session& s) {
  const unsigned long user = env.o->user;
  json body = {{"to", user}};
  auto r = Call(s, "POST", "/v1/social/friend-requests", &body);
  std::string status = r.ok() ? r->value("status", std::string()) : "";
  return Done(env, r, "friend_request",
              status == "friends" ? absl::StrCat("you and ", user, " are now friends (they had asked you)")
                                  : absl::StrCat("friend request sent to ", user));
}

int RunFriendAccept(const SocialEnv& env, Session& s) {
  return Done(env, Call(s, "POST", absl::StrCat("/v1/social/friend-requests/", env.o->user, "/accept")),
              "friend_request", absl::StrCat("you and ", env.o->user, " are now friends"));
}

int RunFriendDecline(const SocialEnv& env, Session& s) {
  return Done(env, Call(s, "POST", absl::StrCat("/v1/social/friend-requests/", env.o->user, "/decline")),
              "friend_request", absl::StrCat("declined the request of ", env.o->user));
}

int RunFriendRemove(const SocialEnv& env, Session& s) {
  return Done(env, Call(s, "DELETE", absl::StrCat("/v1/social/friends/", env.o->user)), "friendship_ended",
              absl::StrCat("you and ", env.o->user, " are no longer friends"));
}

int RunFriendList(const SocialEnv& env, Session& s) {
  auto r = Call(s, "GET", "/v1/social/friends");
  if (!r.ok()) return Fail(r.status());
  PrintPeople(*env.ctx, "friend", (*r)["friends"], "no friends yet");
  return 0;
}

int RunFriendRequests(const SocialEnv& env, Session& s) {
  auto r = Call(s, "GET", "/v1/social/friend-requests");
  if (!r.ok()) return Fail(r.status());
  if (env.ctx->json) {
    for (const auto& p : (*r)["incoming"]) JsonLine("incoming_request", p);
    for (const auto& p : (*r)["outgoing"]) JsonLine("outgoing_request", p);
    return 0;
  }
  std::cout << "asking you:\n";
  PrintPeople(*env.ctx, "incoming_request", (*r)["incoming"], "  nobody");
  std::cout << "you asked:\n";
  PrintPeople(*env.ctx, "outgoing_request", (*r)["outgoing"], "  nobody");
  return 0;
}

int RunBlock(const SocialEnv& env, Session& s) {
  return Done(env, Call(s, "PUT", absl::StrCat("/v1/social/blocks/", env.o->user)), "blocked",
              absl::StrCat("blocked ", env.o->user));
}

int RunUnblock(const SocialEnv& env, Session& s) {
  return Done(env, Call(s, "DELETE", absl::StrCat("/v1/social/blocks/", env.o->user)), "unblocked",
              absl::StrCat("unblocked ", env.o->user));
}

int RunDismiss(const SocialEnv& env, Session& s) {
  return Done(env, Call(s, "POST", absl::StrCat("/v1/social/suggestions/", env.o->user, "/dismiss")),
              "dismissed", absl::StrCat(env.o->user, " will not be suggested again"));
}

// A command about someone else: `run` with their account id.
template <SocialRun run>
void DefineAboutUser(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, run);
  AddUserArgument(cmd, env);
}

template <SocialRun run>
void DefinePlain(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, run);
}

constexpr CommandSpec<SocialEnv> kFriendCommands[] = {
    {"request", "Ask someone to be your friend", DefineAboutUser<RunFriendRequest>},
    {"accept", "Accept a friend request", DefineAboutUser<RunFriendAccept>},
    {"decline", "Decline a friend request", DefineAboutUser<RunFriendDecline>},
    {"remove", "End a friendship", DefineAboutUser<RunFriendRemove>},
    {"list", "List your friends", DefinePlain<RunFriendList>},
    {"requests", "List pending requests", DefinePlain<RunFriendRequests>},
};

void DefineFriend(CLI::App& cmd, const SocialEnv& env) { AddCommandGroup(cmd, kFriendCommands, env); }

void DefineAddressBookUpload(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, [](const SocialEnv& e, Session& s) { return UploadAddressBook(*e.ctx, *e.o, s); });
  SocialOptions& o = *env.o;
  cmd.add_option("file", o.file, "One number per line, or CSV")->required();
  cmd.add_option("--region", o.region, "Region for numbers without +country code (e.g. US)");
  cmd.add_option("--column", o.column, "CSV column: 1-based number or header name");
  cmd.add_flag("--header", o.header, "The first line is a header");
}

int RunAddressBookShow(const SocialEnv& env, Session& s) {
  auto r = Call(s, "GET", "/v1/social/address-book");
  if (!r.ok()) return Fail(r.status());
  for (const auto& n : (*r)["entries"]) {
    if (env.ctx->json) {
      JsonLine("contact", {{"number", n}});
    } else {
      std::cout << n.get<std::string>() << "\n";
    }
  }
  if (!env.ctx->json) std::cerr << (*r)["entries"].size() << " numbers\n";
  return 0;
}

int RunAddressBookDelete(const SocialEnv& env, Session& s) {
  return Done(env, Call(s, "DELETE", "/v1/social/address-book"), "address_book_deleted",
              "address book deleted");
}

constexpr CommandSpec<SocialEnv> kAddressBookCommands[] = {
    {"upload", "Replace your address book with the numbers in a file", DefineAddressBookUpload},
    {"show", "List the stored numbers", DefinePlain<RunAddressBookShow>},
    {"delete", "Delete your address book", DefinePlain<RunAddressBookDelete>},
};

void DefineAddressBook(CLI::App& cmd, const SocialEnv& env) {
  AddCommandGroup(cmd, kAddressBookCommands, env);
}

int RunSuggestions(const SocialEnv& env, Session& s) {
  auto r = Call(s, "GET", "/v1/social/suggestions?limit=" + std::to_string(env.o->limit));
  if (!r.ok()) return Fail(r.status());
  if (env.ctx->json) {
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
}

void DefineSuggestions(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, RunSuggestions);
  cmd.add_option("--limit", env.o->limit, "How many (1..100)");
}

constexpr CommandSpec<SocialEnv> kSocialCommands[] = {
    {"register", "Send a verification code to a phone number", DefineRegister},
    {"verify", "Check the code and sign in (the session is kept in the profile)", DefineVerify},
    {"sign-out", "Forget the social session kept in the profile", DefineSignOut},
    {"profile", "Show or change your profile", DefineProfile},
    {"facts", "What the social network may use about you, per purpose", DefineFacts},
    {"friend", "Friend requests and friendships", DefineFriend},
    {"block", "Block someone (ends friendship and requests)", DefineAboutUser<RunBlock>},
    {"unblock", "Lift a block", DefineAboutUser<RunUnblock>},
    {"address-book", "Your uploaded address book", DefineAddressBook},
    {"suggestions", "People you may know, with the reasons", DefineSuggestions},
    {"dismiss", "Stop suggesting someone", DefineAboutUser<RunDismiss>},
};

int RunPost(const SocialEnv& env, Session& s) {
  json body = {{"text", env.o->text}};
  auto r = Call(s, "POST", "/v1/social/posts", &body);
  return Done(env, r, "post", r.ok() ? absl::StrCat("posted (post ", r->value("id", int64_t{0}), ")") : "");
}

void DefinePost(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, RunPost);
  cmd.add_option("text", env.o->text, "Text")->required();
}

int RunTimelineShow(const SocialEnv& env, Session& s) {
  const CliContext& ctx = *env.ctx;
  auto r = Call(s, "GET", "/v1/social/timeline?limit=" + std::to_string(env.o->limit));
  if (!r.ok()) return Fail(r.status());
  if (ctx.json) {
    for (const auto& item : (*r)["items"]) JsonLine(item.value("type", std::string("item")), item);
    return 0;
  }
  if ((*r)["items"].empty()) std::cout << "nothing in your timeline yet\n";
  for (const auto& item : (*r)["items"]) {
    if (item.value("type", "") == "ad") {
      std::cout << "[ad " << item.value("impression_id", int64_t{0}) << "] "
                << item.value("title", std::string()) << " - " << item.value("text", std::string()) << " ("
                << item.value("link", std::string()) << "), from " << item.value("advertiser", std::string())
                << "; why: `"
                << ctx.Command(absl::StrCat("timeline why ", item.value("impression_id", int64_t{0})))
                << "`\n";
    } else {
      int64_t at = item["created_at"].is_number() ? item["created_at"].get<int64_t>() : 0;
      std::cout << "[" << LocalTime(at) << "] " << item.value("author_name", std::string()) << ": "
                << item.value("text", std::string()) << "\n";
    }
  }
  return 0;
}

void DefineTimelineShow(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, RunTimelineShow);
  cmd.add_option("--limit", env.o->limit, "Posts (1..100)");
}

int RunWhy(const SocialEnv& env, Session& s) {
  auto r = Call(s, "GET", absl::StrCat("/v1/social/ads/", env.o->impression, "/why"));
  return Done(env, r, "why", r.ok() ? r->value("text", std::string()) : "");
}

void DefineWhy(CLI::App& cmd, const SocialEnv& env) {
  On(cmd, env, RunWhy);
  cmd.add_option("impression", env.o->impression, "The ad's number, as `timeline show` prints it")
      ->required();
}

constexpr CommandSpec<SocialEnv> kTimelineCommands[] = {
    {"post", "Write a post", DefinePost},
    {"show", "Show your timeline: posts, and ads marked as ads", DefineTimelineShow},
    {"why", "Why am I seeing this ad?", DefineWhy},
};

}  // namespace

void AddSocialCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code) {
  SocialEnv env{std::move(ctx), std::make_shared<SocialOptions>(), exit_code};
  CLI::App& social = AddSubcommand(app, "social", "Use the social network: account, friends, suggestions");
  social.add_option("--server", env.o->server,
                    "Server host:port for the social network only (default: --server, $TANDEM_SOCIAL_SERVER, "
                    "$TANDEM_SERVER, the profile's)");
  social.add_option("--token", env.o->token,
                    "Session token (default $TANDEM_SOCIAL_TOKEN, else the profile's)");
  AddCommandGroup(social, kSocialCommands, env);
}

void AddTimelineCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code) {
  SocialEnv env{std::move(ctx), std::make_shared<SocialOptions>(), exit_code};
  env.o->limit = 20;
  CLI::App& timeline =
      AddSubcommand(app, "timeline", "Your social timeline: posts, ads and why you see them");
  timeline.add_option("--server", env.o->server, "Server host:port for the social network only");
  timeline.add_option("--token", env.o->token,
                      "Social session token (default $TANDEM_SOCIAL_TOKEN, else the profile's)");
  AddCommandGroup(timeline, kTimelineCommands, env);
}

}  // namespace tandem::app
