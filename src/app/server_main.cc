// tandemd: the tandem server. `tandemd serve` runs every service on one
// machine with SQLite files under the data directory (the embedded default);
// `tandemd config` prints the configuration it would run with.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/config_command.h"
#include "app/serve.h"
#include "common/config.h"
#include "common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"tandemd - the tandem messenger and social network server"};
  app.require_subcommand(1);
  tandem::app::ServeFlags flags;
  CLI::App* serve = app.add_subcommand("serve", "Serve the messenger and social network APIs");
  serve->footer(
      "Every configuration key, its type, default and range is listed by `tandemd config --markdown` and in\n"
      "docs/configuration.md; `tandemd config --config F --set k=v` prints the effective configuration with\n"
      "the source of each value. An unknown key or a bad value is refused with exit code 2. SIGHUP re-reads\n"
      "the --config file and applies log.level and log.json.\n");
  serve->add_option("--config", flags.config_path, "TOML configuration file");
  serve->add_option("--listen", flags.listen, "Address to listen on, host:port (port 0: any free port)");
  serve->add_option("--data-dir", flags.data_dir, "Directory for the database files");
  serve->add_option("--threads", flags.threads, "Server threads (0: one per core)");
  serve->add_option("--log-level", flags.log_level, "debug, info, warn, error or off");
  serve->add_flag("--log-json", flags.log_json, "Write logs as JSON lines");
  serve
      ->add_option("--set", flags.overrides,
                   "Override any config key: --set key=value (see `tandemd config`)")
      ->take_all();
  serve->add_option("--ready-file", flags.ready_file,
                    "Write the bound address to this file once serving (for scripts and tests)");
  serve->add_flag(
      "--demo", flags.demo,
      "Create a demo world on first start (300 messenger users, 250 social accounts, an advertiser "
      "with a campaign, profiles in <data-dir>/demo/; see docs/demo.md); later starts reuse it");

  tandem::app::ConfigFlags config_flags;
  CLI::App* config = app.add_subcommand(
      "config",
      "Print the effective configuration: every key, its value and its source (docs/configuration.md)");
  config->add_option("--config", config_flags.serve.config_path, "TOML configuration file");
  config->add_option("--set", config_flags.serve.overrides, "Override a config key: --set key=value")
      ->take_all();
  config->add_flag("--json", config_flags.json, "One JSON object per key");
  config->add_flag("--markdown", config_flags.markdown, "Print the key reference (docs/configuration.md)");
  CLI11_PARSE(app, argc, argv);
  if (serve->parsed()) return tandem::app::Serve(flags);
  if (config->parsed()) return tandem::app::PrintConfig(config_flags);
  return 2;
}
