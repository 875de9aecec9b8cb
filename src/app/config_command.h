// The `config` command: prints the effective configuration, every key of
// the schema with its value and where the value came from, or the
// reference that is committed as docs/configuration.md.
#pragma once

#include "app/serve.h"

namespace tandem::app {

struct ConfigFlags {
  ServeFlags serve;  // --config and --set, as `serve` reads them
  bool json = false;
  bool markdown = false;
};

// Returns the exit code: 0, or 2 for bad configuration.
int PrintConfig(const ConfigFlags& flags);

}  // namespace tandem::app
