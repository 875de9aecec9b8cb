// Audiences and their upload sessions.
#include "ads/audiences.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ads/ads_store.h"
#include "common/text.h"

namespace tandem::ads {

absl::Status Audiences::CheckOwned(AdvertiserId adv, int64_t audience_id) {
  ASSIGN_OR_RETURN(std::optional<AdvertiserId> owner, db::AudienceOwner(db_, audience_id));
  if (!owner || *owner != adv) return absl::NotFoundError(absl::StrCat("no audience ", audience_id));
  return absl::OkStatus();
}

absl::StatusOr<Audience> Audiences::Create(AdvertiserId adv, std::string_view name,
                                           std::string_view description) {
  Audience a;
  a.name = std::string(name);
  a.description = std::string(description);
  RETURN_IF_ERROR(ValidateText("name", a.name, 200));
  RETURN_IF_ERROR(ValidateText("description", a.description, TextRules{0, 2000, true}));
  absl::Time now = clock_.Now();
  RETURN_IF_ERROR(db_.InTransaction([&](store::Database& tx) -> absl::Status {
    RETURN_IF_ERROR(advertisers_.Charge(tx, adv, BudgetKind::kAudiences));
    ASSIGN_OR_RETURN(a.id, db::InsertAudience(tx, adv, a.name, a.description, now));
    return absl::OkStatus();
  }));
  a.status = AudienceStatus::kEmpty;
  return a;
}

absl::StatusOr<std::vector<Audience>> Audiences::List(AdvertiserId adv) {
  ASSIGN_OR_RETURN(std::vector<db::AudienceRow> rows, db::ListAudiences(db_, adv));
  std::vector<Audience> out;
  for (db::AudienceRow& r : rows) {
    Audience a;
    a.id = r.id;
    a.name = std::move(r.name);
    a.description = std::move(r.description);
    a.version = r.version;
    ASSIGN_OR_RETURN(std::vector<db::SessionRow> sessions, db::ListSessions(db_, a.id));
    bool uploading = false, matching = false;
    for (db::SessionRow& s : sessions) {
      a.sessions.push_back({std::move(s.client_session_id), s.kind, s.state, s.batches_received,
                            s.rows_received, s.rows_invalid});
      uploading |= s.state == SessionState::kReceiving;
      matching |= s.state == SessionState::kMatching;
    }
    a.status = matching         ? AudienceStatus::kMatching
               : uploading      ? AudienceStatus::kUploading
               : a.version == 0 ? AudienceStatus::kEmpty
                                : AudienceStatus::kReady;
    a.size_note = "ask for one audience to see its size";
    out.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<Audience> Audiences::Get(AdvertiserId adv, int64_t audience_id) {
  RETURN_IF_ERROR(CheckOwned(adv, audience_id));
  ASSIGN_OR_RETURN(std::vector<Audience> all, List(adv));
  for (Audience& a : all) {
    if (a.id != audience_id) continue;
    a.size_note.clear();
    absl::StatusOr<SizeReport> size = sizes_.Observe(adv, audience_id);
    if (size.ok()) {
      a.size = *size;
    } else if (absl::IsResourceExhausted(size.status())) {
      a.size_note = std::string(size.status().message());
    } else {
      return size.status();
    }
    return a;
  }
  return absl::NotFoundError(absl::StrCat("no audience ", audience_id));
}

absl::Status Audiences::Delete(AdvertiserId adv, int64_t audience_id) {
  RETURN_IF_ERROR(CheckOwned(adv, audience_id));
  RETURN_IF_ERROR(db::DeleteAudience(db_, audience_id, clock_.Now()));
  sizes_.InvalidateCounts();
  return absl::OkStatus();
}

absl::StatusOr<BatchResult> Audiences::Upload(AdvertiserId adv, int64_t audience_id, SessionKind kind,
                                              const UploadRequest& request,
                                              std::vector<InvalidRow>* rejected) {
  RETURN_IF_ERROR(CheckOwned(adv, audience_id));
  ASSIGN_OR_RETURN(ParsedBatch batch, ValidateBatch(request, rejected));
  BatchResult result;
  result.session_id = request.session_id;
  result.received = request.rows.size();
  result.invalid = std::move(batch.invalid);
  const SessionState next = request.last_batch ? SessionState::kMatching : SessionState::kReceiving;
  std::lock_guard upload_lock(upload_mu_);
  absl::Time now = clock_.Now();
  int64_t session_row = 0;
  absl::Status st = db_.InTransaction([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<db::SessionRow> session,
                     db::FindSession(tx, audience_id, request.session_id));
    if (!session) {
      ASSIGN_OR_RETURN(session_row, db::InsertSession(tx, audience_id, request.session_id, kind, now));
    } else {
      session_row = session->id;
      if (session->kind != kind) {
        return absl::FailedPreconditionError(absl::StrCat(
            "session '", request.session_id, "' is a ", std::string(SessionKindName(session->kind)),
            " session, not ", std::string(SessionKindName(kind))));
      }
      if (session->state != SessionState::kReceiving) {
        return absl::FailedPreconditionError(absl::StrCat(
            "session '", request.session_id, "' is ", std::string(SessionStateName(session->state)),
            " and takes no more batches; start a new session_id"));
      }
    }
    absl::Status inserted = db::InsertBatch(tx, session_row, request.batch_seq);
    if (absl::IsAlreadyExists(inserted)) {
      return absl::AlreadyExistsError(absl::StrCat("batch ", request.batch_seq, " of session '",
                                                   request.session_id, "' was already received"));
    }
    RETURN_IF_ERROR(inserted);
    RETURN_IF_ERROR(db::CountBatch(tx, session_row, static_cast<int64_t>(result.received),
                                   static_cast<int64_t>(result.invalid.size()), next, now));
    return db::TouchAudience(tx, audience_id, now);
  });
  if (!st.ok()) {
    std::fill(batch.digests.begin(), batch.digests.end(), phone::Digest{});
    return st;
  }
  result.session_state = next;
  matcher_.Enqueue(session_row, audience_id, kind, std::move(batch.digests));
  return result;
}

}  // namespace tandem::ads
