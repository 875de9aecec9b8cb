// The matching worker: matches queued upload batches against the people
// the ads view lets be found by phone number, applies finished sessions,
// and reconciles stored memberships and impressions with the facts as they
// are now.
//
// Uploaded digests exist only in this queue, in memory, until their batch
// is matched; then they are wiped. Every commit to the social database
// (objections, deletions, withdrawn discoverability) asks for a reconcile,
// which runs before any further matching: memberships lose the sources the
// ads view no longer shows (well within a second), and impressions of users
// whose messenger account is gone lose what the messenger shared.
//
// Thread safety: Enqueue, NoteMessengerImpression, WaitIdle, Start, Stop
// and reconciles() are thread-safe. The work runs either on the worker
// thread (Start) or, without Start, on the thread that calls RunPending.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "ads/ads_store.h"
#include "ads/ads_types.h"
#include "ads/match_index.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/worker.h"
#include "phone/phone.h"
#include "social/purpose_view.h"
#include "social/social_db.h"

namespace tandem::ads {

// The MatchSource bits of the facts by which the ads view lets `reach`'s
// user be found.
int SourcesOf(const social::PhoneReach& reach);

class Matcher {
 public:
  // `on_members_changed` runs (on the working thread) after memberships
  // changed. `social` and `clock` must outlive this.
  Matcher(social::SocialDb& social, const Clock& clock, std::function<void()> on_members_changed);
  ~Matcher();  // Stop()
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Loads which users have memberships and messenger-based impressions and
  // subscribes to social commits. Once, before any other call.
  absl::Status Init();

  // Starts the worker thread. Does nothing after Stop() or a second time.
  void Start();
  // Stops the worker; queued batches are dropped (their sessions stay
  // unfinished and are interrupted at the next start). Idempotent.
  void Stop();
  // Without Start: matches every queued batch and reconciles on the
  // caller's thread. Returns early if a reconcile fails (it is retried on
  // the next call).
  void RunPending();
  // Waits until nothing is queued or to reconcile (with the worker), or
  // does the work itself (without it).
  void WaitIdle();

  // Queues one stored batch for matching; takes the digests.
  void Enqueue(int64_t session_row, int64_t audience_id, SessionKind kind,
               std::vector<phone::Digest> digests);
  // Serving showed `user` an ad that rests on messenger facts.
  void NoteMessengerImpression(social::UserId user);

  int64_t reconciles() const { return reconciles_.load(); }

 private:
  struct Job {
    int64_t session_row = 0;
    int64_t audience_id = 0;
    SessionKind kind = SessionKind::kAdd;
    std::vector<phone::Digest> digests;  // memory only; wiped after matching
    uint64_t generation = 0;             // social commits seen when queued
  };

  // Shared with the commit listener, which may outlive the matcher (the
  // social database keeps its listeners); `worker` is cleared first.
  struct Signals {
    std::mutex mu;
    bool reconcile_needed ABSL_GUARDED_BY(mu) = true;
    Worker* worker ABSL_GUARDED_BY(mu) = nullptr;
    std::atomic<uint64_t> generation{1};  // bumped by every social commit
  };

  enum class Pass { kIdle, kWorked, kFailed };
  // One piece of work: a reconcile if one is needed (objections first:
  // they must take effect within a second), otherwise one queued batch.
  Pass RunOne();
  // The worker's step.
  absl::Duration Step();

  bool MatchOne();
  absl::Status Reconcile();
  absl::Status ForgetDeletedMessengerFacts();
  void RebuildIndex();
  std::vector<db::Match> Match(const std::vector<phone::Digest>& digests);
  absl::Status ApplyMatches(const Job& job, const std::vector<db::Match>& matches);
  static void Wipe(Job& job);

  social::SocialDb& social_;
  store::Database& db_;
  const Clock& clock_;
  const std::function<void()> on_members_changed_;
  const std::shared_ptr<Signals> signals_ = std::make_shared<Signals>();
  Worker worker_;

  std::condition_variable idle_;  // with signals_->mu
  std::deque<Job> jobs_ ABSL_GUARDED_BY(signals_->mu);
  bool busy_ ABSL_GUARDED_BY(signals_->mu) = false;
  bool started_ ABSL_GUARDED_BY(signals_->mu) = false;
  bool stopped_ ABSL_GUARDED_BY(signals_->mu) = false;

  // The working thread's only (the worker, or RunPending's caller).
  uint64_t index_generation_ = 0;
  MatchIndex index_;
  // Users that appear (or appeared) in memberships, and a superset of the
  // match sources stored for each (kUnknownReach: all).
  static constexpr uint8_t kUnknownReach = kViaSocial | kViaMessenger;
  std::vector<uint8_t> member_;
  std::vector<uint8_t> reach_cache_;

  // Users with impressions that rest on messenger facts (a messenger match
  // or the active-messenger segment). When such a user's messenger account
  // is gone, the worker rewrites those impressions, so that no stored
  // explanation still names what the messenger shared.
  std::mutex impressed_mu_;
  std::vector<uint8_t> messenger_impressed_ ABSL_GUARDED_BY(impressed_mu_);

  std::atomic<int64_t> reconciles_{0};
};

}  // namespace tandem::ads
