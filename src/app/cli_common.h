// What every `tandem` command shares: the global options (--profile,
// --server, --json), the profile that keeps sign-in state for every role,
// the server each role talks to, hints that repeat the options the user
// gave, and output for people (aligned tables, local times, "never") or for
// scripts (JSON lines, each with a "kind"; docs/cli.md lists them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "common/status.h"

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's own name
class App;
}

namespace tandem::client {
class ClientStore;
}

namespace tandem::app {

struct CliContext {
  std::string profile;  // --profile as given ("" if not)
  std::string server;   // --server as given ("" if not)
  bool json = false;

  // --profile, else $TANDEM_PROFILE, else ./tandem-profile.db.
  std::string ProfilePath() const;
  // "tandem --profile alice.db --server 127.0.0.1:18080 <rest>": a command
  // to suggest, with the options this invocation was given.
  std::string Command(const std::string& rest) const;
};

// What a command needs when it runs: the global options, and where its
// exit code goes. Commands keep their own options in objects their
// callbacks share, since CLI11 writes options into them while parsing.
struct CliEnv {
  std::shared_ptr<CliContext> ctx;
  int* exit_code = nullptr;
};

// One row of a command table: the subcommand's name and help line as
// `--help` shows them, and the function that gives it its options and
// callback (or, for a group, its own table). `Env` is what the area's
// commands share: CliEnv, or more for a group with options of its own.
template <typename Env>
struct CommandSpec {
  const char* name;
  const char* help;
  void (*define)(CLI::App& cmd, const Env& env);
};

// Adds a subcommand to `parent` (here so that only the files defining
// commands parse CLI11).
CLI::App& AddSubcommand(CLI::App& parent, const char* name, const char* help);
// Makes `group` refuse to run without one of its subcommands.
void RequireSubcommand(CLI::App& group);

// Adds the commands of `table` to `parent`, in the table's order (the
// order `--help` lists them in).
template <typename Env, size_t N>
void AddCommands(CLI::App& parent, const CommandSpec<Env> (&table)[N], const std::type_identity_t<Env>& env) {
  for (const CommandSpec<Env>& spec : table) spec.define(AddSubcommand(parent, spec.name, spec.help), env);
}
// The same for a group such as `privacy` or `ads audience`: one of the
// commands must be given.
template <typename Env, size_t N>
void AddCommandGroup(CLI::App& group, const CommandSpec<Env> (&table)[N],
                     const std::type_identity_t<Env>& env) {
  RequireSubcommand(group);
  AddCommands(group, table, env);
}

// Opens the profile. Commands that start something (registration, sign-in)
// create it; every other command refuses a profile that does not exist, so
// a mistyped or forgotten --profile leaves no stray file.
absl::StatusOr<std::unique_ptr<client::ClientStore>> OpenProfile(const CliContext& ctx, bool create);

// The server a role talks to: the role's own --server, then the global
// --server, then the role's environment variable ($TANDEM_SOCIAL_SERVER,
// $TANDEM_ADS_SERVER), then $TANDEM_SERVER, then what the profile
// remembers for the role (`<role>.server`) or for every role (`server`),
// then 127.0.0.1:8080.
std::string ResolveServer(const CliContext& ctx, const std::string& role_flag, const char* role_env,
                          client::ClientStore* profile, const std::string& role);

// A role's session (the social network's, an advertiser's): the profile
// that keeps it (null when the token came from --token or the environment
// and no profile exists), the server and the token.
struct RoleSession {
  std::unique_ptr<client::ClientStore> profile;
  std::string server;
  std::string token;
};
// `role` is "social" or "ads": the profile keeps `<role>.token` and
// `<role>.server`. Signing in creates the profile and needs no token yet;
// otherwise a missing token is FailedPrecondition saying how to sign in
// (`sign_in_hint`, a command line).
absl::StatusOr<RoleSession> OpenRoleSession(const CliContext& ctx, const std::string& role,
                                            const std::string& flag_server, const std::string& flag_token,
                                            bool signing_in, const std::string& sign_in_hint);

// "tandem: <message>" on stderr; the exit code for the status (2 for a
// usage or state problem the user can fix, 1 otherwise).
int Fail(const absl::Status& status);
void Warn(const std::string& message);

// Times for people: local time with its zone ("2026-12-01 13:30 CET"), or
// "never". FromIso reads the APIs' "2026-12-01T12:30:00Z" (null or "" is
// never).
std::string LocalTime(int64_t unix_seconds);
std::string LocalTimeFromIso(const nlohmann::json& iso);

// A table for people: columns padded to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size() - 1; }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// One JSON line: `fields` with "kind" set to `kind`.
void JsonLine(const std::string& kind, nlohmann::json fields);

// The end of a command whose answer needs no more than a sentence: the
// error (exit code as Fail), or the answer as a JSON line of `kind`, or
// `words` for people. Returns the exit code.
int PrintResult(const CliContext& ctx, const absl::StatusOr<nlohmann::json>& result, const std::string& kind,
                const std::string& words);

// An HTTP call with a bearer token (if any) and a JSON body (if any). The
// error of a non-2xx answer carries the server's message.
absl::StatusOr<nlohmann::json> CallJson(const std::string& server, const std::string& token,
                                        const std::string& method, const std::string& target,
                                        const nlohmann::json* body = nullptr);

}  // namespace tandem::app
