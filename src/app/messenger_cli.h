// The messenger user's commands: register, verify, send, inbox, history,
// discover, safety-number, delete-account.
#pragma once

#include <CLI/CLI.hpp>

namespace tandem::app {

void AddMessengerCommands(CLI::App& app, int* exit_code);

}  // namespace tandem::app
