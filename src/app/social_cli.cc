// The social network's command-line client. It talks to the HTTP API
// (docs/social-api.md); the server comes from --server or
// TANDEM_SOCIAL_SERVER and the session token from --token or
// TANDEM_SOCIAL_TOKEN (`tandem social verify` prints it).
#include "app/social_cli.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "net/client.h"
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
  unsigned long user = 0;
  int limit = 10;
};

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// Sends one request; prints the error and returns nullopt on failure.
std::optional<json> Call(const SocialOptions& o, const std::string& method, const std::string& target,
                         const json* body = nullptr) {
  net::HttpClient client(o.server.empty() ? EnvOr("TANDEM_SOCIAL_SERVER", "127.0.0.1:8080") : o.server);
  net::Headers headers;
  std::string token = o.token.empty() ? EnvOr("TANDEM_SOCIAL_TOKEN", "") : o.token;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  if (body) headers.emplace_back("Content-Type", "application/json");
  auto res = client.Request(method, target, body ? body->dump() : "", headers);
  if (!res.ok()) {
    std::cerr << "tandem social: " << res.status().message() << "\n";
    return std::nullopt;
  }
  if (res->status >= 300) {
    absl::Status st = net::StatusFromResponse(*res);
    std::cerr << "tandem social: " << st.message() << "\n";
    return std::nullopt;
  }
  json j = json::parse(res->body, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

int Print(const std::optional<json>& j) {
  if (!j) return 1;
  std::cout << j->dump() << "\n";
  return 0;
}

int UploadAddressBook(const SocialOptions& o) {
  std::ifstream in(o.file);
  if (!in) {
    std::cerr << "tandem social: cannot open " << o.file << "\n";
    return 2;
  }
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
  if (!file.ok()) {
    std::cerr << "tandem social: " << o.file << ": " << file.status().message() << "\n";
    return 2;
  }
  for (const auto& [line, problem] : file->errors) std::cerr << "line " << line << ": " << problem << "\n";
  if (file->numbers.size() > social::kMaxAddressBookEntries) {
    std::cerr << "tandem social: an address book holds at most " << social::kMaxAddressBookEntries << " numbers\n";
    return 2;
  }
  json body = {{"region", o.region}, {"entries", json::array()}};
  for (const auto& n : file->numbers) body["entries"].push_back(n.number);
  auto res = Call(o, "PUT", "/v1/social/address-book", &body);
  if (!res) return 1;
  for (const auto& r : (*res)["rejected"]) {
    size_t index = r["index"].get<size_t>();
    size_t line = index < file->numbers.size() ? file->numbers[index].line : 0;
    std::cerr << "line " << line << ": " << r["message"].get<std::string>() << " ("
              << r["reason"].get<std::string>() << ")\n";
  }
  std::cout << "stored: " << (*res)["stored"] << ", rejected: " << (*res)["rejected"].size() + file->errors.size()
            << ", budget remaining: " << res->value("budget_remaining", 0) << "\n";
  return 0;
}

int ShowSuggestions(const SocialOptions& o) {
  auto res = Call(o, "GET", "/v1/social/suggestions?limit=" + std::to_string(o.limit));
  if (!res) return 1;
  for (const auto& s : (*res)["suggestions"]) {
    std::string reasons;
    for (const auto& r : s["reasons"]) reasons += (reasons.empty() ? "" : ",") + r.get<std::string>();
    std::cout << s["account_id"] << "\t" << s["display_name"].get<std::string>() << "\t" << s["score"] << "\t"
              << reasons << "\n";
  }
  return 0;
}

}  // namespace

void AddSocialCommands(CLI::App& app, int* exit_code) {
  CLI::App* social = app.add_subcommand("social", "Use the social network: account, friends, suggestions");
  social->require_subcommand(1);
  auto o = std::make_shared<SocialOptions>();
  social->add_option("--server", o->server, "Server address host:port (default $TANDEM_SOCIAL_SERVER or 127.0.0.1:8080)");
  social->add_option("--token", o->token, "Session token (default $TANDEM_SOCIAL_TOKEN)");
  auto add = [&](const std::string& name, const std::string& help, std::function<int()> run) {
    CLI::App* cmd = social->add_subcommand(name, help);
    cmd->callback([exit_code, run] { *exit_code = run(); });
    return cmd;
  };
  auto user_arg = [o](CLI::App* cmd) { cmd->add_option("user", o->user, "Account id")->required(); };

  CLI::App* reg = add("register", "Send a verification code to a phone number", [o] {
    json body = {{"phone", o->phone}, {"region", o->region}};
    return Print(Call(*o, "POST", "/v1/social/register", &body));
  });
  reg->add_option("--phone", o->phone, "Phone number")->required();
  reg->add_option("--region", o->region, "Region for numbers without +country code (e.g. US)");

  CLI::App* verify = add("verify", "Check the code; prints the account id and session token", [o] {
    json body = {{"phone", o->phone}, {"region", o->region}, {"code", o->code}, {"display_name", o->name}};
    return Print(Call(*o, "POST", "/v1/social/verify", &body));
  });
  verify->add_option("--phone", o->phone, "Phone number")->required();
  verify->add_option("--region", o->region, "Region for numbers without +country code");
  verify->add_option("--code", o->code, "The code that was sent")->required();
  verify->add_option("--name", o->name, "Display name for a new account");

  CLI::App* profile = add("profile", "Show or change your profile", [o] {
    if (o->name.empty() && o->discoverable.empty()) return Print(Call(*o, "GET", "/v1/social/me"));
    json body = json::object();
    if (!o->name.empty()) body["display_name"] = o->name;
    if (!o->discoverable.empty()) body["discoverable_by_phone"] = o->discoverable == "true";
    return Print(Call(*o, "PUT", "/v1/social/me", &body));
  });
  profile->add_option("--name", o->name, "New display name");
  profile->add_option("--discoverable", o->discoverable, "Let people who have your number find you: true|false")
      ->check(CLI::IsMember({"true", "false"}));

  CLI::App* facts = add("facts", "What the social network may use about you, per purpose", [o] {
    return Print(Call(*o, "GET", "/v1/social/me/facts?purpose=" + (o->name.empty() ? "friend_suggestions" : o->name)));
  });
  facts->add_option("--purpose", o->name, "ads, friend_suggestions or security");

  CLI::App* fr = social->add_subcommand("friend", "Friend requests and friendships");
  fr->require_subcommand(1);
  auto fadd = [&](const std::string& name, const std::string& help, std::function<int()> run) {
    CLI::App* cmd = fr->add_subcommand(name, help);
    cmd->callback([exit_code, run] { *exit_code = run(); });
    return cmd;
  };
  user_arg(fadd("request", "Ask someone to be your friend", [o] {
    json body = {{"to", o->user}};
    return Print(Call(*o, "POST", "/v1/social/friend-requests", &body));
  }));
  user_arg(fadd("accept", "Accept a friend request", [o] {
    return Print(Call(*o, "POST", "/v1/social/friend-requests/" + std::to_string(o->user) + "/accept"));
  }));
  user_arg(fadd("decline", "Decline a friend request", [o] {
    return Print(Call(*o, "POST", "/v1/social/friend-requests/" + std::to_string(o->user) + "/decline"));
  }));
  user_arg(fadd("remove", "End a friendship", [o] {
    return Print(Call(*o, "DELETE", "/v1/social/friends/" + std::to_string(o->user)));
  }));
  fadd("list", "List your friends", [o] { return Print(Call(*o, "GET", "/v1/social/friends")); });
  fadd("requests", "List pending requests", [o] { return Print(Call(*o, "GET", "/v1/social/friend-requests")); });

  user_arg(add("block", "Block someone (ends friendship and requests)", [o] {
    return Print(Call(*o, "PUT", "/v1/social/blocks/" + std::to_string(o->user)));
  }));
  user_arg(add("unblock", "Lift a block", [o] {
    return Print(Call(*o, "DELETE", "/v1/social/blocks/" + std::to_string(o->user)));
  }));

  CLI::App* book = social->add_subcommand("address-book", "Your uploaded address book");
  book->require_subcommand(1);
  CLI::App* upload = book->add_subcommand("upload", "Replace your address book with the numbers in a file");
  upload->add_option("file", o->file, "One number per line, or CSV")->required();
  upload->add_option("--region", o->region, "Region for numbers without +country code (e.g. US)");
  upload->add_option("--column", o->column, "CSV column: 1-based number or header name");
  upload->add_flag("--header", o->header, "The first line is a header");
  upload->callback([o, exit_code] { *exit_code = UploadAddressBook(*o); });
  book->add_subcommand("show", "List the stored numbers")->callback([o, exit_code] {
    *exit_code = Print(Call(*o, "GET", "/v1/social/address-book"));
  });
  book->add_subcommand("delete", "Delete your address book")->callback([o, exit_code] {
    *exit_code = Print(Call(*o, "DELETE", "/v1/social/address-book"));
  });

  CLI::App* sugg = add("suggestions", "People you may know: id, name, score, reasons", [o] { return ShowSuggestions(*o); });
  sugg->add_option("--limit", o->limit, "How many (1..100)");
  user_arg(add("dismiss", "Stop suggesting someone", [o] {
    return Print(Call(*o, "POST", "/v1/social/suggestions/" + std::to_string(o->user) + "/dismiss"));
  }));
}

}  // namespace tandem::app
