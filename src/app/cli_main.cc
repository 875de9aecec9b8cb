// tandem: the command-line client for every role (messenger user, business,
// social network user, advertiser, operator). Each area adds its commands.
#include <CLI/CLI.hpp>

#include "app/ads_cli.h"
#include "app/messenger_cli.h"
#include "app/phone_cli.h"
#include "app/social_cli.h"

int main(int argc, char** argv) {
  CLI::App app{"tandem - command-line client"};
  app.require_subcommand(1);
  int exit_code = 0;
  tandem::app::AddMessengerCommands(app, &exit_code);
  tandem::app::AddPhoneCommands(app, &exit_code);
  tandem::app::AddSocialCommands(app, &exit_code);
  tandem::app::AddAdsCommands(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
