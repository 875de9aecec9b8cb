// `tandem social ...`: the social network user's commands (register and
// verify, profile, friends, blocks, address book, suggestions), and
// `tandem timeline ...`: posts, and the ads shown among them.
#pragma once

#include <memory>

#include "app/cli_common.h"

namespace CLI {
class App;
}

namespace tandem::app {

// Adds the `social` command group; `*exit_code` receives the result.
void AddSocialCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code);
// Adds the `timeline` command group (post, show, why).
void AddTimelineCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code);

}  // namespace tandem::app
