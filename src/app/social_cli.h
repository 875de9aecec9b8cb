// `tandem social ...`: the social network user's commands (register and
// verify, profile, friends, blocks, address book, suggestions).
#pragma once

#include <CLI/CLI.hpp>

namespace tandem::app {

// Adds the `social` command group; `*exit_code` receives the result.
void AddSocialCommands(CLI::App& app, int* exit_code);

}  // namespace tandem::app
