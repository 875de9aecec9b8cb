// Background upkeep of a database that one writer thread fills with group
// commits (the relay's envelopes), kept behind an interface so that the
// writer never names a backend's knobs. On SQLite it is the WAL policy: the
// writer's connection never checkpoints inside a commit, a second
// connection copies the log into the database in small, frequent passes,
// and the log is started over once it is long (see sqlite_maintenance.cc).
// A backend without such upkeep has no Maintenance (callers accept null).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem {
class Clock;
}  // namespace tandem

namespace tandem::store {

class Maintenance {
 public:
  virtual ~Maintenance() = default;
  // Starts the background passes (on a thread of its own). Call once.
  virtual void Start() = 0;
  // Lets the pass in progress finish and ends them. Idempotent. The writer
  // may still call BetweenCommits afterwards (it does nothing then).
  virtual void Stop() = 0;
  // Called by the writer thread between its commits, with the writer's
  // connection: the part of the upkeep that only that connection can do.
  // Returns true if it did some work (the caller may time it), false when
  // none was due, which costs one atomic load. Writer thread only.
  virtual bool BetweenCommits(Database& writer) = 0;
};

struct GroupCommitOptions {
  // How often the background passes run while the log is short.
  absl::Duration interval = absl::Milliseconds(100);
  // The log is started over once it holds this many pages.
  int64_t log_restart_pages = kDefaultLogRestartPages;
  static constexpr int64_t kDefaultLogRestartPages = 32768;  // 128 MiB of 4 KiB pages
  // Gets the pages written to the log since the previous pass, as each
  // pass sees them (for a counter); may be empty. Runs on the maintenance
  // thread.
  std::function<void(uint64_t pages)> count_log_pages;
};

// A database's writer connection, tuned for one thread's group commits, and
// the maintenance that goes with it.
struct GroupCommitDatabase {
  std::unique_ptr<Database> writer;
  std::unique_ptr<Maintenance> maintenance;  // not started
};

// SQLite at `path` (WAL, `options`): the writer has automatic checkpoints
// off and its log file cut back only past twice the restart size; the
// maintenance has its own connection with the same `options`. `clock`
// times the passes and must outlive the maintenance.
absl::StatusOr<GroupCommitDatabase> OpenSqliteForGroupCommit(const std::string& path,
                                                             const SqliteOptions& options,
                                                             GroupCommitOptions group_commit,
                                                             const Clock& clock);

}  // namespace tandem::store
