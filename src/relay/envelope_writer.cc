// The group-commit writer thread.
#include "relay/envelope_writer.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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
  RETURN_IF_ERROR(LoadBodies());
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
  } else if (auto* m = std::get_if<MultiSubmitOp>(&op)) {
    ReleaseSlots(*m);
    m->done(absl::UnavailableError("the relay is shutting down; resubmit later"));
  } else if (auto* e = std::get_if<ExclusiveOp>(&op)) {
    e->result->set_value(absl::UnavailableError("the relay is shutting down"));
  }
}

void EnvelopeWriter::Submit(db::EnvelopeRow envelope, std::string client_message_id, SubmitDone done) {
  Enqueue(SubmitOp{std::move(envelope), std::move(client_message_id), std::move(done)});
}

void EnvelopeWriter::SubmitMulti(std::vector<db::EnvelopeRow> copies, std::shared_ptr<const std::string> body,
                                 std::string client_message_id, SubmitDone done,
                                 std::vector<std::string> attachments) {
  // The shared body's copies first: they take consecutive server ids, so
  // that the body is found from any of them (BodyOf).
  std::stable_partition(copies.begin(), copies.end(),
                        [](const db::EnvelopeRow& e) { return e.body != nullptr; });
  Enqueue(MultiSubmitOp{std::move(copies), std::move(body), std::move(client_message_id), std::move(done),
                        std::move(attachments)});
}

bool EnvelopeWriter::Settle(const db::EnvelopeRow& e, bool stored) {
  if (!stored) {
    directory_.ReleaseQueueSlot(e.recipient_account, e.recipient_device);
    return false;
  }
  if (directory_.CommitQueued(e.recipient_account, e.recipient_device, e.server_id)) {
    on_committed_(e);
    return true;
  }
  // The device went away after the check in the transaction (re-registration,
  // deletion): nobody can fetch the row, so it goes with the next purge.
  acked_.emplace(e.server_id, e.recipient_account);
  return false;
}

size_t EnvelopeWriter::SettleCopies(const std::vector<db::EnvelopeRow>& copies,
                                    const std::vector<bool>* kept) {
  std::vector<const db::EnvelopeRow*> queued;
  queued.reserve(copies.size());
  {
    Directory::Batch dir(directory_);
    for (size_t i = 0; i < copies.size(); ++i) {
      const db::EnvelopeRow& e = copies[i];
      if (kept == nullptr || !(*kept)[i]) {
        dir.ReleaseQueueSlot(e.recipient_account, e.recipient_device);
      } else if (dir.CommitQueued(e.recipient_account, e.recipient_device, e.server_id)) {
        queued.push_back(&e);
      } else {
        acked_.emplace(e.server_id, e.recipient_account);  // as in Settle
      }
    }
  }
  for (const db::EnvelopeRow* e : queued) on_committed_(*e);
  return queued.size();
}

void EnvelopeWriter::Release(const BodyRefs& refs) {
  if (refs.attachments.empty() || !on_body_released_) return;
  on_body_released_(refs.owner, absl::StrSplit(refs.attachments, ' ', absl::SkipEmpty()));
}

void EnvelopeWriter::ReleaseSlots(const MultiSubmitOp& op) {
  for (const db::EnvelopeRow& e : op.copies)
    directory_.ReleaseQueueSlot(e.recipient_account, e.recipient_device);
}

void EnvelopeWriter::Ack(uint64_t recipient_account, std::vector<uint64_t> server_ids) {
  Enqueue(AckOp{recipient_account, std::move(server_ids)});
}

void EnvelopeWriter::CountSession(uint64_t account_id) { Enqueue(SessionOp{account_id}); }

absl::Status EnvelopeWriter::RunExclusive(std::function<absl::Status(store::Database&)> fn,
                                          uint64_t forget_account, std::vector<uint64_t> drop) {
  auto result = std::make_shared<std::promise<absl::Status>>();
  auto future = result->get_future();
  Enqueue(ExclusiveOp{std::move(fn), result, forget_account, std::move(drop)});
  return future.get();
}

uint64_t EnvelopeWriter::batches_committed() const { return batches_.load(); }
uint64_t EnvelopeWriter::envelopes_committed() const { return envelopes_.load(); }
uint64_t EnvelopeWriter::envelopes_purged() const { return purged_.load(); }
uint64_t EnvelopeWriter::bodies_stored() const { return bodies_stored_.load(); }

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
  RETURN_IF_ERROR(DeleteAcked(tx, ids));
  return ids;
}

absl::btree_map<uint64_t, EnvelopeWriter::BodyRefs>::iterator EnvelopeWriter::BodyOf(uint64_t server_id) {
  auto it = bodies_.upper_bound(server_id);
  if (it == bodies_.begin()) return bodies_.end();
  --it;
  return server_id < it->second.end ? it : bodies_.end();
}

absl::Status EnvelopeWriter::DeleteAcked(store::Database& tx, std::span<const uint64_t> ids) {
  RETURN_IF_ERROR(db::DeleteEnvelopes(tx, ids).status());
  // Bodies whose remaining copies are all among `ids` go too. The counts
  // change only in Forget, after the commit.
  std::map<uint64_t, uint32_t> gone;  // body id -> copies deleted here
  for (uint64_t id : ids) {
    if (auto it = BodyOf(id); it != bodies_.end()) ++gone[it->first];
  }
  std::vector<uint64_t> last;
  for (const auto& [body, n] : gone) {
    if (bodies_[body].remaining <= n) last.push_back(body);
  }
  return db::DeleteBodies(tx, last);
}

void EnvelopeWriter::Forget(std::span<const uint64_t> ids) {
  for (uint64_t id : ids) {
    acked_.erase(id);
    auto it = BodyOf(id);
    if (it == bodies_.end()) continue;
    if (--it->second.remaining == 0) {
      Release(it->second);
      bodies_.erase(it);
      bodies_stored_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  purged_.fetch_add(ids.size(), std::memory_order_relaxed);
}

absl::Status EnvelopeWriter::LoadBodies() {
  ASSIGN_OR_RETURN(std::vector<db::BodyRow> rows, db::ListBodies(db_));
  bodies_.clear();
  std::vector<uint64_t> orphans;
  for (const db::BodyRow& b : rows) {
    if (b.stored_copies == 0) {
      orphans.push_back(b.body_id);
    } else {
      bodies_[b.body_id] = {b.body_id + b.copies, static_cast<uint32_t>(b.stored_copies), b.owner,
                            b.attachments};
    }
  }
  bodies_stored_.store(bodies_.size());
  if (orphans.empty()) return absl::OkStatus();
  return db_.InTransaction([&](store::Database& tx) { return db::DeleteBodies(tx, orphans); });
}

void EnvelopeWriter::ExpireBodies(absl::Time now) {
  // The hourly check also finds bodies whose copies went without passing
  // through here (an account's deletion removes its queue directly).
  auto rows = db::ListBodies(db_);
  if (!rows.ok()) {
    log::Warn("relay.body_expiry_failed", {{"error", std::string(rows.status().message())}});
    return;
  }
  const int64_t cutoff_ms = absl::ToUnixMillis(now - options_.body_retention);
  std::vector<uint64_t> expired;
  std::vector<uint64_t> copies;
  for (const db::BodyRow& b : *rows) {
    if (b.stored_copies > 0 && b.created_ms >= cutoff_ms) continue;
    expired.push_back(b.body_id);
    if (b.stored_copies == 0) continue;
    auto queued = db::EnvelopesBetween(db_, b.body_id, b.body_id + b.copies);
    if (!queued.ok()) return;
    for (const db::QueuedCopy& c : *queued) {
      const uint64_t id = c.server_id;
      directory_.TakeQueued(c.recipient_account, c.recipient_device, std::span(&id, 1));
      copies.push_back(id);
    }
  }
  if (expired.empty()) return;
  absl::Status st = db_.InTransaction([&](store::Database& tx) -> absl::Status {
    RETURN_IF_ERROR(db::DeleteEnvelopes(tx, copies).status());
    return db::DeleteBodies(tx, expired);
  });
  if (!st.ok()) {
    // The copies left their queues already; the next pass deletes the rows.
    log::Warn("relay.body_expiry_failed", {{"error", std::string(st.message())}});
    return;
  }
  for (const db::BodyRow& b : *rows) {
    if (std::find(expired.begin(), expired.end(), b.body_id) == expired.end()) continue;
    Release(BodyRefs{0, 0, b.owner, b.attachments});
    if (bodies_.erase(b.body_id) > 0) bodies_stored_.fetch_sub(1, std::memory_order_relaxed);
  }
  log::Info("relay.bodies_expired", {{"bodies", static_cast<int64_t>(expired.size())},
                                     {"copies", static_cast<int64_t>(copies.size())}});
}

void EnvelopeWriter::RunExclusiveOp(ExclusiveOp& op) {
  std::vector<uint64_t> forgotten;
  absl::Status st = db_.InTransaction([&](store::Database& tx) -> absl::Status {
    forgotten.clear();
    if (op.forget_account != 0) {
      for (const auto& [id, account] : acked_) {
        if (account == op.forget_account) forgotten.push_back(id);
      }
      forgotten.insert(forgotten.end(), op.drop.begin(), op.drop.end());
      std::sort(forgotten.begin(), forgotten.end());
      forgotten.erase(std::unique(forgotten.begin(), forgotten.end()), forgotten.end());
      RETURN_IF_ERROR(DeleteAcked(tx, forgotten));
    }
    return op.fn(tx);
  });
  if (st.ok()) {
    Forget(forgotten);
  } else if (op.forget_account != 0) {
    for (uint64_t id : op.drop) acked_.emplace(id, op.forget_account);
  }
  op.result->set_value(st);
}

bool EnvelopeWriter::CommitBatch(std::vector<Op>& batch) {
  struct Result {
    SubmitOp* op;
    absl::StatusOr<SubmitOutcome> outcome;
    bool stored = false;
  };
  std::vector<Result> results;
  struct MultiResult {
    MultiSubmitOp* op;
    absl::StatusOr<SubmitOutcome> outcome;
    bool stored = false;
    uint32_t shared = 0;
    uint32_t copies = 0;
    std::string attachments;
    std::vector<bool> kept;  // per copy: its device still exists
  };
  std::vector<MultiResult> multi_results;
  // Results in batch order (true: multi_results), which is server id order.
  std::vector<std::pair<bool, size_t>> order;
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
    multi_results.clear();
    order.clear();
    reserving = 0;
    usage.clear();
    next_id = next_server_id_;
    for (Op& op : batch) {
      if (auto* s = std::get_if<SubmitOp>(&op)) {
        order.emplace_back(false, results.size());
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
      } else if (auto* m = std::get_if<MultiSubmitOp>(&op)) {
        order.emplace_back(true, multi_results.size());
        MultiResult& r = multi_results.emplace_back(MultiResult{m, SubmitOutcome{}, false, 0, 0, "", {}});
        r.kept.assign(m->copies.size(), false);
        size_t kept = 0;
        {
          Directory::Batch dir(directory_);
          for (size_t i = 0; i < m->copies.size(); ++i) {
            const db::EnvelopeRow& e = m->copies[i];
            r.kept[i] = dir.HasDevice(e.recipient_account, e.recipient_device);
            kept += r.kept[i] ? 1 : 0;
          }
        }
        if (kept == 0) {
          r.outcome = absl::NotFoundError("every recipient device was deleted or re-registered meanwhile");
          continue;
        }
        const db::EnvelopeRow& head = m->copies.front();
        const uint64_t first = next_id;
        ASSIGN_OR_RETURN(auto prior, db::InsertSubmission(tx, head.sender_account, head.sender_device,
                                                          m->client_message_id, {first, now_ms}));
        if (prior.has_value()) {
          r.outcome = SubmitOutcome{prior->server_id, prior->server_ts_ms, true};
          continue;
        }
        // Copies in their order (the shared ones first, SubmitMulti). The
        // shared ones are listed in the body row; the others are rows.
        db::BodyRow body;
        body.body_id = first;
        body.created_ms = now_ms;
        body.owner = head.sender_account;
        body.sender_device = head.sender_device;
        body.sender_number = head.sender_number;
        body.type = head.type;
        body.recipients.reserve(m->copies.size() * db::kPackedDeviceSize);
        std::vector<const db::EnvelopeRow*> rows;
        for (size_t i = 0; i < m->copies.size(); ++i) {
          db::EnvelopeRow& e = m->copies[i];
          if (!r.kept[i]) continue;
          e.server_id = next_id++;
          e.server_ts_ms = now_ms;
          if (e.body != nullptr) {
            e.body_id = first;
            ++r.shared;
            db::AppendSharedCopy(body.recipients, e.recipient_account, e.recipient_device);
          } else {
            rows.push_back(&e);
          }
        }
        // The record covers every copy, so that attachments go only when
        // the last of them was acknowledged.
        r.copies = static_cast<uint32_t>(next_id - first);
        r.attachments = absl::StrJoin(m->attachments, " ");
        if (r.shared > 0 || !r.attachments.empty()) {
          body.copies = r.copies;
          body.shared = r.shared;
          body.attachments = r.attachments;
          RETURN_IF_ERROR(db::InsertBody(tx, body, r.shared > 0 ? *m->body : std::string()));
        }
        RETURN_IF_ERROR(db::InsertEnvelopes(tx, rows));
        r.outcome = SubmitOutcome{first, now_ms, false};
        r.stored = true;
        if (head.type != pb::ENVELOPE_TYPE_RECEIPT) ++usage[head.sender_account].second;
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
      } else if (auto* m = std::get_if<MultiSubmitOp>(&op)) {
        ReleaseSlots(*m);
        m->done(absl::UnavailableError("the relay could not store the submission; resubmit it"));
      }
    }
    return false;
  }
  Forget(purged);
  stored_by_.emplace_back(finished, next_server_id_);
  last_commit_ = finished;
  batches_.fetch_add(1, std::memory_order_relaxed);
  uint64_t stored = 0;
  for (const auto& [multi, index] : order) {
    if (!multi) {
      Result& r = results[index];
      stored += Settle(r.op->envelope, r.stored) ? 1 : 0;
      r.op->done(std::move(r.outcome));
      continue;
    }
    MultiResult& r = multi_results[index];
    std::vector<db::EnvelopeRow>& copies = r.op->copies;
    if (r.stored && (r.shared > 0 || !r.attachments.empty())) {
      const uint64_t first = r.outcome->server_id;
      bodies_[first] = {first + r.copies, r.copies, copies.front().sender_account, r.attachments};
      bodies_stored_.fetch_add(1, std::memory_order_relaxed);
    }
    stored += SettleCopies(copies, r.stored ? &r.kept : nullptr);
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
  ExpireBodies(now);
  if (!pruned.ok() || !codes.ok()) {
    log::Warn("relay.prune_failed",
              {{"error", std::string(!pruned.ok() ? pruned.status().message() : codes.message())}});
  }
}

}  // namespace tandem::relay
