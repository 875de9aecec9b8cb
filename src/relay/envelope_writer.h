// Group commit for the message stream: one thread that takes submitted
// envelopes, acks and usage counts from every connection and writes them in
// one SQLite transaction per batch (synchronous=FULL: one fsync per batch,
// never one per message). Only after the commit does it report each
// submission's outcome, add the envelope to its recipient's queue in the
// Directory and hand it to the delivery callback, so nothing is
// acknowledged or delivered before it is durable.
//
// Acknowledged envelopes leave their queue at once (the Directory) but
// their rows are deleted by the first commit at least `purge_delay` after
// they were stored (or by one of its own after `purge_delay` without
// commits), oldest first: acks arrive in any order, and deleting a
// second's worth of neighbours together rewrites each table page about
// once instead of once per ack. After a crash, envelopes acknowledged in
// that last second or so are delivered again; clients drop them by server
// id.
//
// Operations that must be ordered with the envelope stream (account
// creation, re-registration, deletion) run on the same thread through
// RunExclusive(), each in its own transaction between batches.
//
// Server ids come from a counter persisted in relay_meta in the same
// transaction, so they only grow, across restarts too.
//
// Thread safety: every public method may be called from any thread.
// Callbacks run on the writer thread and must not block for long. Each
// operation, with its callback and whatever that holds, is released as
// soon as it has been answered; after Stop() the writer holds none.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/status.h"
#include "net/metrics.h"
#include "relay/directory.h"
#include "relay/relay_store.h"
#include "store/maintenance.h"
#include "store/store.h"

namespace tandem::relay {

struct SubmitOutcome {
  uint64_t server_id = 0;
  int64_t server_ts_ms = 0;
  bool duplicate = false;
};

class EnvelopeWriter {
 public:
  struct Options {
    size_t max_batch = 4096;  // operations per transaction
    // Least time from the start of one commit to the start of the next:
    // more operations share each fsync and each connection's answers are
    // likelier to share a message, for up to this much more latency.
    absl::Duration commit_gap = absl::Milliseconds(1);
    // How long a client message id is remembered for de-duplication.
    absl::Duration dedup_retention = absl::Hours(24 * 30);
    absl::Duration prune_interval = absl::Hours(1);
    // How long a shared body (a multi-recipient submission) waits for its
    // last device; then it and its undelivered copies are deleted.
    absl::Duration body_retention = absl::Hours(24 * 30);
    // How long after an envelope was stored its row may wait for deletion
    // once acknowledged (see above); zero deletes in the next commit.
    absl::Duration purge_delay = absl::Seconds(1);
    size_t max_purge = 4096;  // rows deleted per commit
  };
  using SubmitDone = std::function<void(absl::StatusOr<SubmitOutcome>)>;
  // Receives each newly stored envelope after its commit, in server id order.
  using OnCommitted = std::function<void(const db::EnvelopeRow&)>;

  // The caller has reserved a queue slot in `directory` for every
  // submission; the writer releases it for duplicates and failures.
  // `metrics` gets the size and duration of every committed batch. The
  // writer runs `maintenance`'s share of the upkeep between batches
  // (store/maintenance.h); null for none. Times and waits come from `clock`.
  EnvelopeWriter(store::Database& db, Directory& directory, const Clock& clock, Options options,
                 net::Metrics& metrics, OnCommitted on_committed, store::Maintenance* maintenance = nullptr);
  ~EnvelopeWriter();  // Stop()s

  // Loads the server id counter and starts the thread.
  absl::Status Start();
  // Finishes everything queued, then stops the thread. Idempotent.
  void Stop();

  // `envelope.server_id` and `server_ts_ms` are assigned here. `done` gets
  // the outcome after the commit: NotFound if the recipient device vanished
  // meanwhile, Unavailable if storage failed.
  void Submit(db::EnvelopeRow envelope, std::string client_message_id, SubmitDone done);
  // A multi-recipient submission in one commit: `copies` (a queue slot
  // reserved for each) are envelopes whose `body` is the shared `body` or
  // null for a copy with its own ciphertext; the shared body is stored once.
  // The outcome's server id is the first copy's. Copies whose device went
  // away meanwhile are dropped; de-duplication is by client message id.
  // `attachments` are the ids of attachments the message carries: once
  // every copy is gone, the OnBodyReleased callback gets them.
  void SubmitMulti(std::vector<db::EnvelopeRow> copies, std::shared_ptr<const std::string> body,
                   std::string client_message_id, SubmitDone done, std::vector<std::string> attachments = {});
  // Called on the writer thread after the commit that deleted the last copy
  // of a submission that carried attachments (or expired it), with the
  // sending account and the ids. Set before Start() or before the first
  // submission that carries attachments.
  using OnBodyReleased = std::function<void(uint64_t owner, std::vector<std::string> attachment_ids)>;
  void SetOnBodyReleased(OnBodyReleased fn) { on_body_released_ = std::move(fn); }
  // Deletes acknowledged envelopes of `recipient_account`, which the caller
  // took from their queue (Directory::TakeQueued).
  void Ack(uint64_t recipient_account, std::vector<uint64_t> server_ids);
  // Counts a session opened (usage metering).
  void CountSession(uint64_t account_id);
  // Runs `fn` in its own transaction after everything queued before it.
  // Blocks until done; returns fn's status (or Unavailable when stopped).
  // A nonzero `forget_account` also deletes, in that transaction, the
  // account's acknowledged envelopes still waiting for deletion, and the
  // envelopes `drop` (of that account, already taken from their queues: a
  // removed device's), each as an acknowledged one, so that a shared body
  // goes with its last copy. If the transaction fails, `drop` waits for the
  // purge like any acknowledged envelope.
  absl::Status RunExclusive(std::function<absl::Status(store::Database&)> fn, uint64_t forget_account = 0,
                            std::vector<uint64_t> drop = {});

  // "YYYY-MM-DD" (UTC) of `t`, the day key of usage_daily.
  static std::string DayOf(absl::Time t);

  // For tests and metrics.
  uint64_t batches_committed() const;
  uint64_t envelopes_committed() const;
  uint64_t envelopes_purged() const;
  uint64_t bodies_stored() const;  // shared bodies not yet deleted

 private:
  struct SubmitOp {
    db::EnvelopeRow envelope;
    std::string client_message_id;
    SubmitDone done;
  };
  struct MultiSubmitOp {
    std::vector<db::EnvelopeRow> copies;
    std::shared_ptr<const std::string> body;
    std::string client_message_id;
    SubmitDone done;
    std::vector<std::string> attachments;
  };
  struct AckOp {
    uint64_t recipient_account;
    std::vector<uint64_t> server_ids;
  };
  struct SessionOp {
    uint64_t account_id;
  };
  struct ExclusiveOp {
    std::function<absl::Status(store::Database&)> fn;
    std::shared_ptr<std::promise<absl::Status>> result;
    uint64_t forget_account = 0;
    std::vector<uint64_t> drop;
  };
  using Op = std::variant<SubmitOp, MultiSubmitOp, AckOp, SessionOp, ExclusiveOp>;

  void Enqueue(Op op);
  void Run();
  bool CommitBatch(std::vector<Op>& batch);  // false if storage failed
  void RunExclusiveOp(ExclusiveOp& op);
  void MaybePrune();
  // Ids below the horizon were stored at least purge_delay ago.
  // `now` is the clock's Monotonic() time.
  uint64_t PurgeHorizon(absl::Duration now);
  bool PurgeDue(absl::Duration now) { return !acked_.empty() && acked_.begin()->first < PurgeHorizon(now); }
  // A purge due with no other work since purge_delay.
  bool IdlePurgeDue(absl::Duration now) {
    return now >= last_commit_ + options_.purge_delay && PurgeDue(now);
  }
  // Deletes acknowledged envelopes below the horizon (at most max_purge);
  // returns their ids, to be forgotten once the transaction commits.
  absl::StatusOr<std::vector<uint64_t>> PurgeIn(store::Database& tx, absl::Duration now);
  // Deletes the rows of these acknowledged envelopes, and the shared bodies
  // whose last copies they are.
  absl::Status DeleteAcked(store::Database& tx, std::span<const uint64_t> ids);
  // After the commit that deleted them.
  void Forget(std::span<const uint64_t> ids);
  void ReleaseSlots(const MultiSubmitOp& op);
  // After a commit: a copy that was `stored` joins its device's queue and
  // is pushed (true), or its queue slot is given back.
  bool Settle(const db::EnvelopeRow& e, bool stored);
  // Settle for a submission's copies under one lock of the directory; `kept`
  // says which were stored (nullptr: none). Returns how many were queued.
  size_t SettleCopies(const std::vector<db::EnvelopeRow>& copies, const std::vector<bool>* kept);
  // Loads the shared bodies' copy counts (Start) and deletes bodies whose
  // copies are all gone or that expired (MaybePrune).
  absl::Status LoadBodies();
  void ExpireBodies(absl::Time now);

  // A shared body: its copies have server ids [first, end); `remaining` of
  // them are not yet deleted.
  struct BodyRefs {
    uint64_t end = 0;
    uint32_t remaining = 0;
    uint64_t owner = 0;
    std::string attachments;  // space-separated ids; empty: none
  };
  void Release(const BodyRefs& refs);
  // The body whose copy `server_id` is, if any.
  absl::btree_map<uint64_t, BodyRefs>::iterator BodyOf(uint64_t server_id);

  store::Database& db_;
  Directory& directory_;
  const Clock& clock_;
  const Options options_;
  OnCommitted on_committed_;
  OnBodyReleased on_body_released_;
  net::Histogram& batch_ops_;
  net::Histogram& wal_restart_seconds_;
  net::Histogram& commit_seconds_;
  store::Maintenance* const maintenance_;

  std::mutex mu_;
  std::condition_variable cv_;  // work was queued, or Stop()
  // Stop() only: the wait for the commit gap is not cut short by every
  // submission that arrives meanwhile.
  std::condition_variable gap_cv_;
  std::deque<Op> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  // Writer-thread state.
  uint64_t next_server_id_ = 1;
  uint64_t reserved_until_ = 1;  // ids below this are covered by relay_meta
  absl::Time last_prune_ = absl::InfinitePast();
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> envelopes_{0};
  std::atomic<uint64_t> purged_{0};
  // Acknowledged (or orphaned) envelopes whose rows are still stored:
  // server id -> recipient account.
  absl::btree_map<uint64_t, uint64_t> acked_;
  // (when, next server id) after each commit, for PurgeHorizon.
  std::deque<std::pair<absl::Duration, uint64_t>> stored_by_;
  uint64_t horizon_ = 0;
  absl::Duration last_commit_ = -absl::InfiniteDuration();  // end of the last successful commit
  bool purge_all_ = false;                                  // stopping: delete every acknowledged row
  absl::btree_map<uint64_t, BodyRefs> bodies_;              // by body id
  std::atomic<uint64_t> bodies_stored_{0};
  net::Gauge& acked_gauge_;
};

}  // namespace tandem::relay
