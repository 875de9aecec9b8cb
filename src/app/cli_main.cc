// tandem: the command-line client for every role (messenger user, social
// network user, advertiser, operator). The global options come before or
// after the command; each area adds its commands.
#include <CLI/CLI.hpp>

#include "app/ads_cli.h"
#include "app/cli_common.h"
#include "app/messenger_cli.h"
#include "app/phone_cli.h"
#include "app/social_cli.h"

int main(int argc, char** argv) {
  CLI::App app{"tandem - command-line client for the messenger, the social network and its ads"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command
  auto ctx = std::make_shared<tandem::app::CliContext>();
  app.add_option(
      "--profile", ctx->profile,
      "Profile file: this device's messenger keys and history, and the social and advertiser sign-ins "
      "(default $TANDEM_PROFILE or ./tandem-profile.db)");
  app.add_option(
      "--server", ctx->server,
      "Server host:port for every role (default $TANDEM_SERVER, else what the profile remembers, else "
      "127.0.0.1:8080)");
  app.add_flag("--json", ctx->json, "Print JSON lines for scripts (docs/cli.md) instead of text for people");
  int exit_code = 0;
  tandem::app::AddMessengerCommands(app, ctx, &exit_code);
  tandem::app::AddPhoneCommands(app, ctx, &exit_code);
  tandem::app::AddSocialCommands(app, ctx, &exit_code);
  tandem::app::AddTimelineCommands(app, ctx, &exit_code);
  tandem::app::AddAdsCommands(app, ctx, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
