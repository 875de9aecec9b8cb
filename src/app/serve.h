// The `serve` command: loads configuration, opens the data directory,
// assembles the services and runs the HTTP/WebSocket server until SIGTERM.
// SIGHUP reads the configuration file again and applies the keys the
// schema marks as runtime (common/config_keys.cc).
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace tandem::app {

struct ServeFlags {
  std::string config_path;
  std::string listen;
  std::string data_dir;
  int threads = -1;  // -1: not given on the command line
  std::string log_level;
  bool log_json = false;
  std::vector<std::string> overrides;
  std::string ready_file;
  // Build (or reuse) the demo world before reporting ready (app/demo.h).
  bool demo = false;
};

// The file, then --set, then the dedicated flags (--listen, ...), each value
// with its source. InvalidArgument names the offending key.
absl::StatusOr<Config> LoadServeConfig(const ServeFlags& flags);

// The embedded default runs both operators in one process: unless told
// otherwise, the social side consumes this server's own feed, with a token
// that lives only in this process. Sets feed.url and feed.token so.
void ApplyEmbeddedDefaults(Config& config);

// Returns the process exit code: 0 after a clean shutdown, 1 if start-up
// failed (the reason is logged), 2 for bad configuration.
int Serve(const ServeFlags& flags);

}  // namespace tandem::app
