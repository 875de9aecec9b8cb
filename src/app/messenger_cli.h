// The messenger user's commands: register, verify, send, inbox, history,
// discover, safety-number, delete-account.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "app/cli_common.h"

namespace tandem::app {

void AddMessengerCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code);

}  // namespace tandem::app
