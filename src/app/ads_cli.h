// `tandem ads ...`: the advertiser's commands (audiences from customer
// lists, uploads hashed on this machine, sizes, campaigns). A social user
// sees the ads in `tandem timeline` (social_cli.h).
#pragma once

#include <memory>

#include "app/cli_common.h"

namespace CLI {
class App;
}

namespace tandem::app {

// Adds the `ads` command group; `*exit_code` receives the result.
void AddAdsCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code);

}  // namespace tandem::app
