// `tandem phone normalize` and `tandem phone hash`.
#pragma once

#include <CLI/CLI.hpp>

namespace tandem::app {

// Adds the `phone` command group; `*exit_code` receives the result.
void AddPhoneCommands(CLI::App& app, int* exit_code);

}  // namespace tandem::app
