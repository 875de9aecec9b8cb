// `tandem phone normalize` and `tandem phone hash`.
#pragma once

#include <memory>

#include "app/cli_common.h"

namespace CLI {
class App;
}

namespace tandem::app {

// Adds the `phone` command group; `*exit_code` receives the result.
void AddPhoneCommands(CLI::App& app, std::shared_ptr<CliContext> ctx, int* exit_code);

}  // namespace tandem::app
