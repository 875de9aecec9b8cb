// The one shape of a component as tandemd runs it (relay, social, ads):
// created from the configuration and what the process shares, attached to
// the server before it serves, started once it serves, and stopped in two
// steps around the server's drain. tandemd (app/serve.cc) holds the modules
// it created and walks them in order; it is the only place that chooses
// the real clock and randomness.
#pragma once

#include <filesystem>
#include <string>

#include "absl/status/status.h"

namespace tandem {
class Clock;
class Config;
class Random;
}  // namespace tandem

namespace tandem::net {

class Metrics;
class Router;
class Server;

// What every module is created with. References outlive the module.
struct ModuleEnv {
  const Config& config;
  std::filesystem::path data_dir;  // server.data_dir, created
  Router& router;                  // add routes during Create only
  Metrics& metrics;
  const Clock& clock;
  Random& random;
};

// A module is made by its own `static absl::StatusOr<std::unique_ptr<X>>
// Create(const ModuleEnv&, ...)` (nullptr when the configuration disables
// it; InvalidArgument for bad configuration), which takes the other modules
// it needs after the env.
class Module {
 public:
  virtual ~Module() = default;
  // Before the server serves: endpoints beyond the router (WebSockets).
  virtual void AttachTo(Server& server) {}
  // Once the server serves at `self_address` (host:port): background work.
  virtual absl::Status Start(const std::string& self_address) = 0;
  // Before the server drains: stop work that is a client of this server.
  // Idempotent.
  virtual void BeginStop() {}
  // After the server drained and no handler runs: everything else.
  // Idempotent.
  virtual void Stop() = 0;
};

}  // namespace tandem::net
