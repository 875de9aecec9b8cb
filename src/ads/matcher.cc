// The matching worker (see matcher.h for what it keeps private).
#include "ads/matcher.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "common/log.h"
#include "social/purpose_view.h"

namespace tandem::ads {
namespace {

using social::Purpose;
using social::PurposeView;
using social::UserId;

// A failed reconcile is retried after this pause: the database is busy or
// failing, and objections must not wait on anything else meanwhile.
constexpr absl::Duration kRetryPause = absl::Milliseconds(100);

// The E.164 digits of a phone key (what the customer-list hash covers).
std::string_view Digits(social::PhoneKey key, std::array<char, 24>& buf) {
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), key);
  return std::string_view(buf.data(), static_cast<size_t>(end - buf.data()));
}

void Mark(std::vector<uint8_t>& set, UserId user) {
  if (user >= set.size()) set.resize(user + 1, 0);
  set[user] = 1;
}

}  // namespace

int SourcesOf(const social::PhoneReach& reach) {
  return (reach.via_social ? kViaSocial : 0) | (reach.via_messenger ? kViaMessenger : 0);
}

Matcher::Matcher(social::SocialDb& social, const Clock& clock, std::function<void()> on_members_changed)
    : social_(social),
      db_(social.database_for_ads()),
      clock_(clock),
      on_members_changed_(std::move(on_members_changed)),
      worker_("ads-matcher", clock, [this] { return Step(); }) {}

Matcher::~Matcher() {
  {
    std::lock_guard lock(signals_->mu);
    signals_->worker = nullptr;
  }
  Stop();
}

absl::Status Matcher::Init() {
  ASSIGN_OR_RETURN(std::vector<UserId> members, db::MatchedUsers(db_));
  for (UserId u : members) Mark(member_, u);
  ASSIGN_OR_RETURN(std::vector<UserId> impressed, db::MessengerImpressedUsers(db_));
  {
    std::lock_guard lock(impressed_mu_);
    for (UserId u : impressed) Mark(messenger_impressed_, u);
  }
  {
    std::lock_guard lock(signals_->mu);
    signals_->worker = &worker_;
  }
  social_.AddCommitListener([signals = signals_] {
    signals->generation.fetch_add(1);
    std::lock_guard lock(signals->mu);
    signals->reconcile_needed = true;
    if (signals->worker) signals->worker->Wake();
  });
  return absl::OkStatus();
}

void Matcher::Start() {
  std::lock_guard lock(signals_->mu);
  if (started_ || stopped_) return;
  started_ = true;
  worker_.Start();
}

void Matcher::Stop() {
  {
    std::lock_guard lock(signals_->mu);
    stopped_ = true;
  }
  worker_.Stop();
  std::lock_guard lock(signals_->mu);
  for (Job& job : jobs_) Wipe(job);
  jobs_.clear();
  idle_.notify_all();
}

void Matcher::Wipe(Job& job) {
  std::fill(job.digests.begin(), job.digests.end(), phone::Digest{});
  job.digests.clear();
  job.digests.shrink_to_fit();
}

absl::Duration Matcher::Step() {
  {
    std::lock_guard lock(signals_->mu);
    if (!signals_->reconcile_needed && jobs_.empty()) return absl::InfiniteDuration();
    busy_ = true;
  }
  Pass pass = RunOne();
  if (pass == Pass::kFailed) worker_.Sleep(kRetryPause);
  std::lock_guard lock(signals_->mu);
  busy_ = false;
  idle_.notify_all();
  return absl::ZeroDuration();  // look again: more may be queued
}

void Matcher::RunPending() {
  while (RunOne() == Pass::kWorked) {
  }
}

void Matcher::WaitIdle() {
  std::unique_lock lock(signals_->mu);
  if (!started_) {
    lock.unlock();
    RunPending();
    return;
  }
  idle_.wait(lock, [&] { return stopped_ || (!busy_ && jobs_.empty() && !signals_->reconcile_needed); });
}

void Matcher::Enqueue(int64_t session_row, int64_t audience_id, SessionKind kind,
                      std::vector<phone::Digest> digests) {
  std::lock_guard lock(signals_->mu);
  Job job;
  job.session_row = session_row;
  job.audience_id = audience_id;
  job.kind = kind;
  job.digests = std::move(digests);
  job.generation = signals_->generation.load();
  jobs_.push_back(std::move(job));
  if (signals_->worker) signals_->worker->Wake();
}

void Matcher::NoteMessengerImpression(UserId user) {
  std::lock_guard lock(impressed_mu_);
  Mark(messenger_impressed_, user);
}

Matcher::Pass Matcher::RunOne() {
  bool reconcile = false;
  {
    std::lock_guard lock(signals_->mu);
    reconcile = signals_->reconcile_needed;
    signals_->reconcile_needed = false;
  }
  if (!reconcile) return MatchOne() ? Pass::kWorked : Pass::kIdle;
  if (absl::Status st = Reconcile(); !st.ok()) {
    log::Error("ads.reconcile_failed", {{"error", std::string(st.message())}});
    std::lock_guard lock(signals_->mu);
    signals_->reconcile_needed = true;
    return Pass::kFailed;
  }
  return Pass::kWorked;
}

// ---------------------------------------------------------------- matching

void Matcher::RebuildIndex() {
  uint64_t generation = signals_->generation.load();
  std::vector<std::pair<social::PhoneKey, UserId>> phones;
  {
    PurposeView view = social_.View(Purpose::kAds);
    view.ForEachReachablePhone([&](social::PhoneKey phone, const social::PhoneReach& reach) {
      phones.emplace_back(phone, reach.user);
    });
  }
  std::vector<MatchIndex::Entry> entries;
  entries.reserve(phones.size());
  phone::PhoneHasher hasher;
  std::array<char, 24> buf;
  for (const auto& [phone, user] : phones) {
    entries.push_back({MatchIndex::KeyOf(hasher.Hash(Digits(phone, buf))), user});
  }
  index_ = MatchIndex::Build(entries);
  index_generation_ = generation;
  log::Debug("ads.index_rebuilt", {{"entries", static_cast<uint64_t>(index_.size())}});
}

std::vector<db::Match> Matcher::Match(const std::vector<phone::Digest>& digests) {
  std::vector<uint64_t> keys(digests.size());
  for (size_t i = 0; i < digests.size(); ++i) keys[i] = MatchIndex::KeyOf(digests[i]);
  std::vector<uint32_t> users(digests.size());
  index_.LookupBatch(keys, users);
  std::vector<db::Match> matches;
  phone::PhoneHasher hasher;
  std::array<char, 24> buf;
  // Every candidate is confirmed against the ads view as it is now: the
  // index proposes, the purpose view decides.
  PurposeView view = social_.View(Purpose::kAds);
  for (size_t i = 0; i < digests.size(); ++i) {
    if (users[i] == 0) continue;
    social::PhoneReach reach = view.ReachOf(users[i]);
    if (!reach.found()) continue;
    if (hasher.Hash(Digits(view.OwnPhone(users[i]), buf)) != digests[i]) continue;
    matches.push_back({users[i], SourcesOf(reach)});
  }
  return matches;
}

bool Matcher::MatchOne() {
  Job job;
  {
    std::lock_guard lock(signals_->mu);
    if (jobs_.empty()) return false;
    job = std::move(jobs_.front());
    jobs_.pop_front();
  }
  if (index_generation_ < job.generation) RebuildIndex();
  std::vector<db::Match> matches = Match(job.digests);
  Wipe(job);
  if (absl::Status st = ApplyMatches(job, matches); !st.ok()) {
    // The batch cannot be retried (its rows are gone): the session is
    // marked interrupted so the advertiser uploads it again.
    log::Error("ads.match_failed", {{"session", job.session_row}, {"error", std::string(st.message())}});
    (void)db::InterruptSession(db_, job.session_row);
  }
  return true;
}

absl::Status Matcher::ApplyMatches(const Job& job, const std::vector<db::Match>& matches) {
  bool applied = false;
  absl::Time now = clock_.Now();
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<db::SessionRow> session, db::GetSession(tx, job.session_row));
    if (!session) return absl::OkStatus();  // audience deleted meanwhile
    if (session->state != SessionState::kReceiving && session->state != SessionState::kMatching) {
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(db::AddSessionMatches(tx, job.session_row, matches));
    int64_t matched = session->batches_matched + 1;
    RETURN_IF_ERROR(db::SetBatchesMatched(tx, job.session_row, matched, now));
    if (session->state != SessionState::kMatching || matched != session->batches_received) {
      return absl::OkStatus();
    }
    // The last batch is matched: apply the whole session at once.
    RETURN_IF_ERROR(db::ApplySession(tx, job.audience_id, job.session_row, job.kind, now));
    applied = true;
    return absl::OkStatus();
  }));
  for (const db::Match& m : matches) {
    Mark(member_, m.user);
    if (m.user >= reach_cache_.size()) reach_cache_.resize(m.user + 1, kUnknownReach);
    reach_cache_[m.user] |= static_cast<uint8_t>(m.source);
  }
  if (applied) {
    on_members_changed_();
    log::Info("ads.session_applied", {{"audience", job.audience_id},
                                      {"session", job.session_row},
                                      {"kind", std::string(SessionKindName(job.kind))}});
  }
  return absl::OkStatus();
}

// ----------------------------------------------------------- reconciling

absl::Status Matcher::ForgetDeletedMessengerFacts() {
  std::vector<UserId> gone;
  {
    std::lock_guard lock(impressed_mu_);
    // The security view sees messenger facts whatever the user objected
    // to: only a deleted messenger account makes them disappear there.
    PurposeView view = social_.View(Purpose::kSecurity);
    for (size_t u = 1; u < messenger_impressed_.size(); ++u) {
      if (messenger_impressed_[u] && !view.MessengerLinked(static_cast<UserId>(u))) {
        gone.push_back(static_cast<UserId>(u));
      }
    }
  }
  if (gone.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    for (UserId u : gone) RETURN_IF_ERROR(db::ForgetMessengerFacts(tx, u));
    return absl::OkStatus();
  }));
  std::lock_guard lock(impressed_mu_);
  for (UserId u : gone) messenger_impressed_[u] = 0;
  log::Info("ads.impressions_rewritten", {{"users", static_cast<uint64_t>(gone.size())}});
  return absl::OkStatus();
}

absl::Status Matcher::Reconcile() {
  RETURN_IF_ERROR(ForgetDeletedMessengerFacts());
  // Which members lost a fact their membership rests on. reach_cache_ holds
  // a superset of every stored source per user, so only users whose reach
  // shrank since the last pass need a database write.
  std::vector<std::pair<UserId, int>> shrunk;
  {
    PurposeView view = social_.View(Purpose::kAds);
    if (reach_cache_.size() < member_.size()) reach_cache_.resize(member_.size(), kUnknownReach);
    for (size_t u = 1; u < member_.size(); ++u) {
      if (!member_[u]) continue;
      int bits = SourcesOf(view.ReachOf(static_cast<UserId>(u)));
      if (reach_cache_[u] & ~bits) {
        shrunk.emplace_back(static_cast<UserId>(u), bits);
      } else {
        reach_cache_[u] = static_cast<uint8_t>(bits);
      }
    }
  }
  reconciles_.fetch_add(1);
  if (shrunk.empty()) return absl::OkStatus();
  int64_t removed = 0;
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    for (const auto& [user, bits] : shrunk) {
      ASSIGN_OR_RETURN(int64_t n, db::RestrictSources(tx, user, bits));
      removed += n;
    }
    return absl::OkStatus();
  }));
  for (const auto& [user, bits] : shrunk) reach_cache_[user] = static_cast<uint8_t>(bits);
  on_members_changed_();
  log::Info("ads.memberships_reconciled",
            {{"users", static_cast<uint64_t>(shrunk.size())}, {"removed", removed}});
  return absl::OkStatus();
}

}  // namespace tandem::ads
