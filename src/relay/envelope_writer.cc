// The group-commit writer thread.
#include "relay/envelope_writer.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/log.h"
#include "relay_protocol/protocol.h"

namespace tandem::relay {
namespace {

// relay_meta holds the first server id not yet reserved. Ids are reserved
// in blocks, so the row is written once per block rather than per commit;
// a restart continues after the block (skipping what it did not use).
constexpr char kNextServerIdKey[] = "next_server_id";
constexpr uint64_t kServerIdBlock = 1 << 16;

}  // namespace

EnvelopeWriter::EnvelopeWriter(store::Database& db, Directory& directory, const Clock& clock, Options options,
                               net::Metrics& metrics, OnCommitted on_committed,
                               store::Maintenance* maintenance)
    : db_(db),
      directory_(directory),
      clock_(clock),
      options_(options),
      on_committed_(std::move(on_committed)),
      batch_ops_(metrics.GetHistogram("tandem_relay_batch_operations",
                                      "Operations (submits, acks, session counts) per group commit", {},
                                      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096})),
      wal_restart_seconds_(metrics.GetHistogram("tandem_relay_wal_restart_seconds",
                                                "Time the writer spent copying the last WAL frames before "
                                                "starting the log over",
                                                {}, {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1})),
      commit_seconds_(
          metrics.GetHistogram("tandem_relay_commit_seconds", "Time to write and fsync one group commit", {},
                               {0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5})),
      maintenance_(maintenance),
      acked_gauge_(metrics.GetGauge("tandem_relay_acked_envelopes_stored",
                                    "Acknowledged envelopes whose rows wait for deletion (purge_delay)")) {}

EnvelopeWriter::~EnvelopeWriter() { Stop(); }

std::string EnvelopeWriter::DayOf(absl::Time t) { return UtcDay(t); }

absl::Status EnvelopeWriter::Start() {
  ASSIGN_OR_RETURN(int64_t stored_next, db::GetMeta(db_, kNextServerIdKey, 1));
  ASSIGN_OR_RETURN(uint64_t max_id, db::MaxServerId(db_));
  next_server_id_ = std::max<uint64_t>(static_cast<uint64_t>(stored_next), max_id + 1);
  reserved_until_ = next_server_id_;
  std::lock_guard lock(mu_);
  started_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void EnvelopeWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    stopping_ = true;
    started_ = false;
  }
  cv_.notify_all();
  gap_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EnvelopeWriter::Enqueue(Op op) {
  {
    std::lock_guard lock(mu_);
    if (started_ && !stopping_) {
      queue_.push_back(std::move(op));
      cv_.notify_one();
      return;
    }
  }
  // Not running: fail what expects an answer.
  if (auto* s = std::get_if<SubmitOp>(&op)) {
    directory_.ReleaseQueueSlot(s->envelope.recipient_account, s->envelope.recipient_device);
    s->done(absl::UnavailableError("the relay is shutting down; resubmit later"));
  } else if (auto* e = std::get_if<ExclusiveOp>(&op)) {
    e->result->set_value(absl::UnavailableError("the relay is shutting down"));
  }
}

void EnvelopeWriter::Submit(db::EnvelopeRow envelope, std::string client_message_id, SubmitDone done) {
  Enqueue(SubmitOp{std::move(envelope), std::move(client_message_id), std::move(done)});
}

void EnvelopeWriter::Ack(uint64_t recipient_account, std::vector<uint64_t> server_ids) {
  Enqueue(AckOp{recipient_account, std::move(server_ids)});
}

void EnvelopeWriter::CountSession(uint64_t account_id) { Enqueue(SessionOp{account_id}); }

absl::Status EnvelopeWriter::RunExclusive(std::function<absl::Status(store::Database&)> fn,
                                          uint64_t forget_account) {
  auto result = std::make_shared<std::promise<absl::Status>>();
  auto future = result->get_future();
  Enqueue(ExclusiveOp{std::move(fn), result, forget_account});
  return future.get();
}

uint64_t EnvelopeWriter::batches_committed() const { return batches_.load(); }
uint64_t EnvelopeWriter::envelopes_committed() const { return envelopes_.load(); }
uint64_t EnvelopeWriter::envelopes_purged() const { return purged_.load(); }

void EnvelopeWriter::Run() {
  std::vector<Op> taken;
  std::vector<Op> batch;
  const absl::Duration gap = options_.commit_gap;
  absl::Duration last_start = clock_.Monotonic() - gap;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      // Wakes for work. Purges ride on the commits that work brings; a
      // commit of its own only deletes what is left after purge_delay
      // without any (then everything acknowledged is old enough).
      while (queue_.empty() && !stopping_ && !IdlePurgeDue(clock_.Monotonic())) {
        clock_.WaitUntil(lock, cv_,
                         acked_.empty() ? absl::InfiniteDuration() : last_commit_ + options_.purge_delay,
                         [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return !queue_.empty() || stopping_; });
      }
      if (queue_.empty() && stopping_) break;
      if (gap > absl::ZeroDuration() && !stopping_) {
        const absl::Duration due = last_start + gap;
        if (clock_.Monotonic() < due) {
          clock_.WaitUntil(lock, gap_cv_, due, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return stopping_; });
        }
      }
      last_start = clock_.Monotonic();
      size_t n = std::min(queue_.size(), options_.max_batch);
      taken.clear();
      for (size_t i = 0; i < n; ++i) {
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    batch.clear();
    for (Op& op : taken) {
      if (auto* ex = std::get_if<ExclusiveOp>(&op)) {
        if (!batch.empty()) {
          CommitBatch(batch);
          batch.clear();
        }
        RunExclusiveOp(*ex);
      } else {
        batch.push_back(std::move(op));
      }
    }
    if (!batch.empty() || IdlePurgeDue(clock_.Monotonic())) {
      // A purge alone that fails is retried later (or with the next work),
      // not in a tight loop.
      if (!CommitBatch(batch) && batch.empty()) {
        std::unique_lock lock(mu_);
        clock_.WaitFor(lock, cv_, absl::Milliseconds(100),
                       [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return !queue_.empty() || stopping_; });
      }
    }
    // Every operation taken has been answered: let go of it now, with what
    // its callback holds (a submit's holds its connection), instead of
    // keeping it until the next wake-up, which may come only at Stop().
    batch.clear();
    taken.clear();
    acked_gauge_.Set(static_cast<int64_t>(acked_.size()));
    MaybePrune();
    if (maintenance_) {
      const absl::Duration started = clock_.Monotonic();
      if (maintenance_->BetweenCommits(db_)) {
        wal_restart_seconds_.Observe(absl::ToDoubleSeconds(clock_.Monotonic() - started));
      }
    }
  }
  // Stopping: nothing acknowledged is left behind.
  purge_all_ = true;
  while (!acked_.empty()) {
    batch.clear();
    if (!CommitBatch(batch)) break;  // storage failed; the next start delivers them again
  }
}

uint64_t EnvelopeWriter::PurgeHorizon(absl::Duration now) {
  if (purge_all_) return UINT64_MAX;
  while (!stored_by_.empty() && stored_by_.front().first + options_.purge_delay <= now) {
    horizon_ = stored_by_.front().second;
    stored_by_.pop_front();
  }
  return horizon_;
}

absl::StatusOr<std::vector<uint64_t>> EnvelopeWriter::PurgeIn(store::Database& tx, absl::Duration now) {
  std::vector<uint64_t> ids;
  const uint64_t horizon = PurgeHorizon(now);
  for (auto it = acked_.begin(); it != acked_.end() && it->first < horizon && ids.size() < options_.max_purge;
       ++it) {
    ids.push_back(it->first);
  }
  RETURN_IF_ERROR(db::DeleteEnvelopes(tx, ids).status());
  return ids;
}

void EnvelopeWriter::Forget(std::span<const uint64_t> ids) {
  for (uint64_t id : ids) acked_.erase(id);
  purged_.fetch_add(ids.size(), std::memory_order_relaxed);
}

void EnvelopeWriter::RunExclusiveOp(ExclusiveOp& op) {
  std::vector<uint64_t> forgotten;
  absl::Status st = db_.InTransaction([&](store::Database& tx) -> absl::Status {
    forgotten.clear();
    if (op.forget_account != 0) {
      for (const auto& [id, account] : acked_) {
        if (account == op.forget_account) forgotten.push_back(id);
      }
      RETURN_IF_ERROR(db::DeleteEnvelopes(tx, forgotten).status());
    }
    return op.fn(tx);
  });
  if (st.ok()) Forget(forgotten);
  op.result->set_value(st);
}

bool EnvelopeWriter::CommitBatch(std::vector<Op>& batch) {
  struct Result {
    SubmitOp* op;
    absl::StatusOr<SubmitOutcome> outcome;
    bool stored = false;
  };
  std::vector<Result> results;
  std::map<uint64_t, std::pair<int64_t, int64_t>> usage;  // account -> (sessions, messages)
  std::vector<uint64_t> purged;
  absl::Time now = clock_.Now();
  int64_t now_ms = absl::ToUnixMillis(now);
  std::string day = DayOf(now);
  uint64_t next_id = next_server_id_;
  uint64_t reserving = 0;
  const absl::Duration started = clock_.Monotonic();
  // Acks touch no row now: their ids wait in acked_ for PurgeIn.
  for (Op& op : batch) {
    if (auto* a = std::get_if<AckOp>(&op)) {
      for (uint64_t id : a->server_ids) acked_.emplace(id, a->recipient_account);
    }
  }

  absl::Status st = db_.InTransaction([&](store::Database& tx) -> absl::Status {
    results.clear();
    reserving = 0;
    usage.clear();
    next_id = next_server_id_;
    for (Op& op : batch) {
      if (auto* s = std::get_if<SubmitOp>(&op)) {
        db::EnvelopeRow& e = s->envelope;
        if (!directory_.HasDevice(e.recipient_account, e.recipient_device)) {
          results.push_back({s, absl::NotFoundError("the recipient's account was deleted or re-registered")});
          continue;
        }
        e.server_id = next_id++;
        e.server_ts_ms = now_ms;
        ASSIGN_OR_RETURN(auto prior, db::InsertSubmission(tx, e.sender_account, e.sender_device,
                                                          s->client_message_id, {e.server_id, now_ms}));
        if (prior.has_value()) {
          results.push_back({s, SubmitOutcome{prior->server_id, prior->server_ts_ms, true}});
          continue;
        }
        RETURN_IF_ERROR(db::InsertEnvelope(tx, e));
        results.push_back({s, SubmitOutcome{e.server_id, now_ms, false}, true});
        if (e.type != pb::ENVELOPE_TYPE_RECEIPT) ++usage[e.sender_account].second;
      } else if (auto* sess = std::get_if<SessionOp>(&op)) {
        ++usage[sess->account_id].first;
      }
    }
    for (const auto& [account, counts] : usage) {
      RETURN_IF_ERROR(db::AddUsage(tx, account, day, counts.first, counts.second));
    }
    if (next_id > reserved_until_) {
      reserving = next_id + kServerIdBlock;
      RETURN_IF_ERROR(db::SetMeta(tx, kNextServerIdKey, static_cast<int64_t>(reserving)));
    }
    ASSIGN_OR_RETURN(purged, PurgeIn(tx, started));
    return absl::OkStatus();
  });
  if (st.ok() && reserving > 0) reserved_until_ = reserving;
  const absl::Duration finished = clock_.Monotonic();
  commit_seconds_.Observe(absl::ToDoubleSeconds(finished - started));
  batch_ops_.Observe(static_cast<double>(batch.size()));
  // Ids handed out in a failed transaction are skipped, never reused.
  next_server_id_ = std::max(next_server_id_, next_id);

  if (!st.ok()) {
    log::Error("relay.batch_failed",
               {{"error", std::string(st.message())}, {"ops", static_cast<int64_t>(batch.size())}});
    for (Op& op : batch) {
      if (auto* s = std::get_if<SubmitOp>(&op)) {
        directory_.ReleaseQueueSlot(s->envelope.recipient_account, s->envelope.recipient_device);
        s->done(absl::UnavailableError("the relay could not store the envelope; resubmit it"));
      }
    }
    return false;
  }
  Forget(purged);
  stored_by_.emplace_back(finished, next_server_id_);
  last_commit_ = finished;
  batches_.fetch_add(1, std::memory_order_relaxed);
  uint64_t stored = 0;
  for (Result& r : results) {
    const db::EnvelopeRow& e = r.op->envelope;
    if (!r.stored) {
      directory_.ReleaseQueueSlot(e.recipient_account, e.recipient_device);
    } else if (directory_.CommitQueued(e.recipient_account, e.recipient_device, e.server_id)) {
      ++stored;
      on_committed_(e);
    } else {
      // The device went away after the check above (re-registration or
      // deletion): nobody can fetch the row, so it goes with the next purge.
      acked_.emplace(e.server_id, e.recipient_account);
    }
    r.op->done(std::move(r.outcome));
  }
  envelopes_.fetch_add(stored, std::memory_order_relaxed);
  return true;
}

void EnvelopeWriter::MaybePrune() {
  absl::Time now = clock_.Now();
  if (now - last_prune_ < options_.prune_interval) return;
  last_prune_ = now;
  auto pruned = db::DeleteSubmissionsBefore(db_, absl::ToUnixMillis(now - options_.dedup_retention));
  absl::Status codes = db::DeleteExpiredCodes(db_, absl::ToUnixMillis(now));
  if (!pruned.ok() || !codes.ok()) {
    log::Warn("relay.prune_failed",
              {{"error", std::string(!pruned.ok() ? pruned.status().message() : codes.message())}});
  }
}

}  // namespace tandem::relay
