// The messenger user's commands: register, verify, send, inbox, history,
// discover, safety-number, delete-account.
#pragma once

#include <memory>

#include "app/cli_common.h"

namespace CLI {
class App;
}

namespace tandem::app {

void AddMessengerCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code);

}  // namespace tandem::app
