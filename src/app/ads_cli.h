// `tandem ads ...`: the advertiser's commands (audiences from customer
// lists, uploads hashed on this machine, sizes, campaigns), and
// `tandem feed ...`: a social user's feed with its ads and explanations.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "app/cli_common.h"

namespace tandem::app {

// Adds the `ads` and `feed` command groups; `*exit_code` receives the result.
void AddAdsCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code);

}  // namespace tandem::app
