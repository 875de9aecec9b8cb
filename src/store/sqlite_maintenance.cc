// The SQLite WAL policy for a group-commit writer.
#include <atomic>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/worker.h"
#include "store/maintenance.h"

namespace tandem::store {
namespace {

// Checkpoints on a connection of its own (the writer's has automatic
// checkpoints off, so a checkpoint never stalls a batch).
class SqliteCheckpointer final : public Maintenance {
 public:
  SqliteCheckpointer(std::unique_ptr<Database> connection, GroupCommitOptions options, const Clock& clock)
      : connection_(std::move(connection)),
        options_(std::move(options)),
        clock_(clock),
        worker_("checkpointer", clock, [this] { return Pass(); }) {}
  ~SqliteCheckpointer() override { Stop(); }

  void Start() override { worker_.Start(); }
  void Stop() override { worker_.Stop(); }

  bool BetweenCommits(Database& writer) override {
    if (!restart_asked_.exchange(false, std::memory_order_relaxed)) return false;
    // PASSIVE: it copies what the background passes have not, so that the
    // writer's next transaction starts the log over instead of growing it.
    if (absl::Status st = writer.ExecuteScript("PRAGMA wal_checkpoint(PASSIVE)"); !st.ok()) {
      log::Warn("relay.checkpoint_failed", {{"error", std::string(st.message())}});
    }
    restarts_done_.fetch_add(1, std::memory_order_release);
    return true;
  }

 private:
  // One pass; returns the delay to the next.
  absl::Duration Pass() {
    bool behind = false;
    if (asked_after_ && restarts_done_.load(std::memory_order_acquire) == *asked_after_ &&
        clock_.Monotonic() - asked_at_ < absl::Seconds(1)) {
      behind = true;  // still waiting for the writer
    } else {
      asked_after_.reset();
      // PASSIVE never waits for the writer or readers; what it cannot copy
      // now it copies next time. It answers (busy, frames in the WAL,
      // frames copied).
      auto r = connection_->Query("PRAGMA wal_checkpoint(PASSIVE)");
      if (!r.ok()) {
        log::Warn("relay.checkpoint_failed", {{"error", std::string(r.status().message())}});
      } else if (!r->empty()) {
        const int64_t frames = (*r)[0].Int(1), copied = (*r)[0].Int(2);
        const int64_t restart = options_.log_restart_pages;
        // A log that shrank was started over since the last pass.
        if (options_.count_log_pages) {
          options_.count_log_pages(
              static_cast<uint64_t>(frames >= frames_seen_ ? frames - frames_seen_ : frames));
        }
        frames_seen_ = frames;
        if (frames >= restart) {
          // Under steady writes the WAL would only grow: the log starts
          // over only when a write begins with every frame copied. The
          // writer copies the few frames added since this pass, between
          // batches (it waits for that copy and its fsync, so the fewer
          // the better). Past four times the size it copies whatever is
          // left, however long.
          if (frames - copied <= restart / 64 || frames >= 4 * restart) {
            // Set while the writer has a restart to do: no pass of our own
            // until it did (a pass holding the checkpoint lock would make
            // the writer's copy fail, and it would have to be asked again).
            asked_after_ = restarts_done_.load(std::memory_order_acquire);
            asked_at_ = clock_.Monotonic();
            restart_asked_.store(true, std::memory_order_relaxed);
          }
          behind = true;
        }
      }
    }
    // Small, frequent passes: each one's fsync of the database is short, so
    // the writer's fdatasync of the WAL seldom queues behind a long one
    // (passes every 250 ms or 1 s made the commits' tail longer).
    return behind ? absl::Milliseconds(5) : options_.interval;
  }

  const std::unique_ptr<Database> connection_;
  const GroupCommitOptions options_;
  const Clock& clock_;
  // Set by a pass, taken by the writer's BetweenCommits.
  std::atomic<bool> restart_asked_{false};
  std::atomic<uint64_t> restarts_done_{0};
  // Maintenance-thread state.
  std::optional<uint64_t> asked_after_;
  absl::Duration asked_at_;
  int64_t frames_seen_ = 0;  // in the current log at the last pass
  Worker worker_;            // last: its thread uses the members above
};

}  // namespace

absl::StatusOr<GroupCommitDatabase> OpenSqliteForGroupCommit(const std::string& path,
                                                             const SqliteOptions& options,
                                                             GroupCommitOptions group_commit,
                                                             const Clock& clock) {
  GroupCommitDatabase out;
  ASSIGN_OR_RETURN(out.writer, OpenSqlite(path, options));
  // The WAL file is cut back only past twice the restart size: cutting it
  // to the restart size itself would shorten and regrow it in every cycle
  // (an ftruncate and block allocations the next fdatasyncs have to commit).
  RETURN_IF_ERROR(out.writer->ExecuteScript(absl::StrCat(
      "PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=", 2 * group_commit.log_restart_pages * 4096)));
  ASSIGN_OR_RETURN(auto connection, OpenSqlite(path, options));
  out.maintenance =
      std::make_unique<SqliteCheckpointer>(std::move(connection), std::move(group_commit), clock);
  return out;
}

}  // namespace tandem::store
