// The `serve` command: loads configuration, opens the data directory,
// assembles the services and runs the HTTP/WebSocket server until SIGTERM.
#pragma once

#include <string>
#include <vector>

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

// Returns the process exit code: 0 after a clean shutdown, 1 if start-up
// failed (the reason is logged), 2 for bad configuration.
int Serve(const ServeFlags& flags);

}  // namespace tandem::app
