#include "app/cli_common.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/client_store.h"
#include "common/encoding.h"
#include "net/client.h"

namespace tandem::app {
namespace {

std::string Env(const char* name) {
  const char* v = name ? std::getenv(name) : nullptr;
  return v && *v ? v : "";
}

// Quotes a word for a shell if it needs it.
std::string ShellWord(const std::string& w) {
  if (!w.empty() &&
      w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-_./:=@,") ==
          std::string::npos) {
    return w;
  }
  std::string out = "'";
  for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

CLI::App& AddSubcommand(CLI::App& parent, const char* name, const char* help) {
  return *parent.add_subcommand(name, help);
}

void RequireSubcommand(CLI::App& group) { group.require_subcommand(1); }

std::string CliContext::ProfilePath() const {
  if (!profile.empty()) return profile;
  std::string env = Env("TANDEM_PROFILE");
  return env.empty() ? "tandem-profile.db" : env;
}

std::string CliContext::Command(const std::string& rest) const {
  std::string out = "tandem";
  if (!profile.empty()) out += " --profile " + ShellWord(profile);
  if (!server.empty()) out += " --server " + ShellWord(server);
  return out + " " + rest;
}

absl::StatusOr<std::unique_ptr<client::ClientStore>> OpenProfile(const CliContext& ctx, bool create) {
  const std::string path = ctx.ProfilePath();
  std::error_code ec;
  if (!create && !std::filesystem::exists(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no profile at ", path,
        (ctx.profile.empty() ? " (the default; give --profile FILE or set $TANDEM_PROFILE to use another)"
                             : ""),
        ": register or sign in first"));
  }
  auto store = client::ClientStore::Open(path);
  if (!store.ok()) {
    return absl::Status(store.status().code(), absl::StrCat(path, ": ", store.status().message()));
  }
  return store;
}

std::string ResolveServer(const CliContext& ctx, const std::string& role_flag, const char* role_env,
                          client::ClientStore* profile, const std::string& role) {
  if (!role_flag.empty()) return role_flag;
  if (!ctx.server.empty()) return ctx.server;
  if (std::string v = Env(role_env); !v.empty()) return v;
  if (std::string v = Env("TANDEM_SERVER"); !v.empty()) return v;
  if (profile) {
    if (std::string v = profile->GetSetting(role + ".server"); !v.empty()) return v;
    if (std::string v = profile->GetSetting("server"); !v.empty()) return v;
    if (auto account = profile->LoadAccount(); account.ok() && !account->server.empty())
      return account->server;
  }
  return "127.0.0.1:8080";
}

absl::StatusOr<RoleSession> OpenRoleSession(const CliContext& ctx, const std::string& role,
                                            const std::string& flag_server, const std::string& flag_token,
                                            bool signing_in, const std::string& sign_in_hint) {
  const std::string upper = role == "social" ? "SOCIAL" : "ADS";
  const std::string token_env = "TANDEM_" + upper + "_TOKEN", server_env = "TANDEM_" + upper + "_SERVER";
  RoleSession s;
  s.token = !flag_token.empty() ? flag_token : Env(token_env.c_str());
  auto profile = OpenProfile(ctx, signing_in);
  if (profile.ok()) {
    s.profile = *std::move(profile);
  } else if (s.token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(profile.status().message(), "; sign in with `", ctx.Command(sign_in_hint), "`"));
  }
  s.server = ResolveServer(ctx, flag_server, server_env.c_str(), s.profile.get(), role);
  if (s.token.empty() && s.profile) s.token = s.profile->GetSetting(role + ".token");
  if (!signing_in && s.token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(ctx.ProfilePath(), " is not signed in to ",
                     role == "social" ? "the social network" : "an advertiser account", ": run `",
                     ctx.Command(sign_in_hint), "`"));
  }
  return s;
}

int Fail(const absl::Status& status) {
  std::cerr << "tandem: " << status.message() << "\n";
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return 2;
    default:
      return 1;
  }
}

void Warn(const std::string& message) { std::cerr << "tandem: warning: " << message << "\n"; }

std::string LocalTime(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "never";
  return LocalTimestamp(absl::FromUnixSeconds(unix_seconds));
}

std::string LocalTimeFromIso(const nlohmann::json& iso) {
  if (!iso.is_string() || iso.get<std::string>().empty()) return "never";
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, iso.get<std::string>(), &t, &err)) return iso.get<std::string>();
  return LocalTime(absl::ToUnixSeconds(t));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

void JsonLine(const std::string& kind, nlohmann::json fields) {
  nlohmann::json line = {{"kind", kind}};
  for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

int PrintResult(const CliContext& ctx, const absl::StatusOr<nlohmann::json>& result, const std::string& kind,
                const std::string& words) {
  if (!result.ok()) return Fail(result.status());
  if (ctx.json) {
    JsonLine(kind, *result);
  } else {
    std::cout << words << "\n";
  }
  return 0;
}

absl::StatusOr<nlohmann::json> CallJson(const std::string& server, const std::string& token,
                                        const std::string& method, const std::string& target,
                                        const nlohmann::json* body) {
  net::HttpClient client(server);
  net::Headers headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  if (body) headers.emplace_back("Content-Type", "application/json");
  auto res = client.Request(method, target, body ? body->dump() : "", headers);
  if (!res.ok()) {
    return absl::Status(res.status().code(), absl::StrCat(server, ": ", res.status().message()));
  }
  if (res->status >= 300) {
    absl::Status st = net::StatusFromResponse(*res);
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (!j.is_discarded() && j.contains("error") && j["error"].contains("invalid_entries")) {
      std::string rows;
      for (const auto& e : j["error"]["invalid_entries"]) {
        rows += absl::StrCat("\n  row ", e.value("index", 0), ": ", e.value("message", std::string()));
      }
      return absl::Status(st.code(), absl::StrCat(st.message(), rows));
    }
    return st;
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

}  // namespace tandem::app
