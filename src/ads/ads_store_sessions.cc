// SQL for upload sessions, their matches and audience memberships.
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ads/ads_store.h"
#include "ads/ads_store_internal.h"

namespace tandem::ads::db {
namespace {

constexpr char kSessionColumns[] =
    "id, client_session_id, kind, state, batches_received, batches_matched, rows_received, rows_invalid";

absl::StatusOr<SessionRow> SessionFrom(const Row& r) {
  SessionRow s;
  s.id = r.Int(0);
  s.client_session_id = r.Text(1);
  ASSIGN_OR_RETURN(s.kind, Parse(kKinds, r.Text(2)));
  ASSIGN_OR_RETURN(s.state, Parse(kStates, r.Text(3)));
  s.batches_received = r.Int(4);
  s.batches_matched = r.Int(5);
  s.rows_received = r.Int(6);
  s.rows_invalid = r.Int(7);
  return s;
}

absl::StatusOr<std::optional<SessionRow>> OneSession(absl::StatusOr<Row> row) {
  if (absl::IsNotFound(row.status())) return std::nullopt;
  RETURN_IF_ERROR(row.status());
  return SessionFrom(*row);
}

std::vector<UserId> UsersFrom(const std::vector<Row>& rows) {
  std::vector<UserId> users;
  users.reserve(rows.size());
  for (const Row& r : rows) users.push_back(static_cast<UserId>(r.Int(0)));
  return users;
}

}  // namespace

// --------------------------------------------------------------- sessions

absl::StatusOr<std::vector<SessionRow>> ListSessions(Database& db, int64_t audience_id) {
  ASSIGN_OR_RETURN(auto rows, db.Query(absl::StrCat("SELECT ", kSessionColumns,
                                                    " FROM ads_sessions WHERE audience_id = $1 ORDER BY id"),
                                       {audience_id}));
  std::vector<SessionRow> out;
  for (const Row& r : rows) {
    ASSIGN_OR_RETURN(SessionRow s, SessionFrom(r));
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::optional<SessionRow>> FindSession(Database& db, int64_t audience_id,
                                                      const std::string& client_session_id) {
  return OneSession(db.QueryOne(absl::StrCat("SELECT ", kSessionColumns,
                                             " FROM ads_sessions WHERE audience_id = $1 AND "
                                             "client_session_id = $2"),
                                {audience_id, client_session_id}));
}

absl::StatusOr<std::optional<SessionRow>> GetSession(Database& db, int64_t session_id) {
  return OneSession(db.QueryOne(absl::StrCat("SELECT ", kSessionColumns, " FROM ads_sessions WHERE id = $1"),
                                {session_id}));
}

absl::StatusOr<int64_t> InsertSession(Database& db, int64_t audience_id, const std::string& client_session_id,
                                      SessionKind kind, absl::Time now) {
  ASSIGN_OR_RETURN(auto row,
                   db.QueryOne("INSERT INTO ads_sessions (audience_id, client_session_id, kind, state, "
                               "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                               {audience_id, client_session_id, Stored(kKinds, kind),
                                Stored(kStates, SessionState::kReceiving), Seconds(now)}));
  return row.Int(0);
}

absl::Status InsertBatch(Database& db, int64_t session_id, int64_t batch_seq) {
  return db
      .Execute("INSERT INTO ads_session_batches (session_id, batch_seq) VALUES ($1, $2)",
               {session_id, batch_seq})
      .status();
}

absl::Status CountBatch(Database& db, int64_t session_id, int64_t rows, int64_t invalid_rows,
                        SessionState state, absl::Time now) {
  return db
      .Execute(
          "UPDATE ads_sessions SET batches_received = batches_received + 1, "
          "rows_received = rows_received + $2, rows_invalid = rows_invalid + $3, "
          "state = $4, updated_at = $5 WHERE id = $1",
          {session_id, rows, invalid_rows, Stored(kStates, state), Seconds(now)})
      .status();
}

absl::Status SetBatchesMatched(Database& db, int64_t session_id, int64_t batches_matched, absl::Time now) {
  return db
      .Execute("UPDATE ads_sessions SET batches_matched = $2, updated_at = $3 WHERE id = $1",
               {session_id, batches_matched, Seconds(now)})
      .status();
}

absl::Status InterruptUnmatchedSessions(Database& db) {
  return db.InTransaction([&](Database& tx) -> absl::Status {
    RETURN_IF_ERROR(
        tx.Execute("UPDATE ads_sessions SET state = $1 "
                   "WHERE state IN ($2, $3) AND batches_matched < batches_received",
                   {Stored(kStates, SessionState::kInterrupted), Stored(kStates, SessionState::kReceiving),
                    Stored(kStates, SessionState::kMatching)})
            .status());
    return tx
        .Execute(
            "DELETE FROM ads_session_matches WHERE session_id IN "
            "(SELECT id FROM ads_sessions WHERE state = $1)",
            {Stored(kStates, SessionState::kInterrupted)})
        .status();
  });
}

absl::Status InterruptSession(Database& db, int64_t session_id) {
  absl::Status st = db.Execute("UPDATE ads_sessions SET state = $2 WHERE id = $1",
                               {session_id, Stored(kStates, SessionState::kInterrupted)})
                        .status();
  absl::Status deleted =
      db.Execute("DELETE FROM ads_session_matches WHERE session_id = $1", {session_id}).status();
  return st.ok() ? deleted : st;
}

// ---------------------------------------------------- matches, memberships

absl::Status AddSessionMatches(Database& db, int64_t session_id, const std::vector<Match>& matches) {
  for (const Match& m : matches) {
    RETURN_IF_ERROR(
        db.Execute("INSERT INTO ads_session_matches (session_id, user_id, source) VALUES ($1, $2, $3) "
                   "ON CONFLICT (session_id, user_id) DO UPDATE SET source = source | excluded.source",
                   {session_id, m.user, m.source})
            .status());
  }
  return absl::OkStatus();
}

absl::Status ApplySession(Database& db, int64_t audience_id, int64_t session_id, SessionKind kind,
                          absl::Time now) {
  if (kind == SessionKind::kReplace) {
    RETURN_IF_ERROR(db.Execute("DELETE FROM ads_memberships WHERE audience_id = $1", {audience_id}).status());
  }
  if (kind == SessionKind::kRemove) {
    RETURN_IF_ERROR(db.Execute("DELETE FROM ads_memberships WHERE audience_id = $1 AND user_id IN "
                               "(SELECT user_id FROM ads_session_matches WHERE session_id = $2)",
                               {audience_id, session_id})
                        .status());
  } else {
    RETURN_IF_ERROR(
        db.Execute("INSERT INTO ads_memberships (audience_id, user_id, source) "
                   "SELECT $1, user_id, source FROM ads_session_matches WHERE session_id = $2 "
                   "ON CONFLICT (audience_id, user_id) DO UPDATE SET source = source | excluded.source",
                   {audience_id, session_id})
            .status());
  }
  RETURN_IF_ERROR(db.Execute("DELETE FROM ads_session_matches WHERE session_id = $1", {session_id}).status());
  RETURN_IF_ERROR(db.Execute("UPDATE ads_sessions SET state = $3, updated_at = $2 WHERE id = $1",
                             {session_id, Seconds(now), Stored(kStates, SessionState::kApplied)})
                      .status());
  // The new version's size is the count as it is now, in this
  // transaction; later membership changes reach serving at once but size
  // reports only with the next version.
  return db
      .Execute(
          "UPDATE ads_audiences SET version = version + 1, updated_at = $2, version_matched = "
          "(SELECT COUNT(*) FROM ads_memberships WHERE audience_id = $1) WHERE id = $1",
          {audience_id, Seconds(now)})
      .status();
}

absl::StatusOr<std::vector<UserId>> MatchedUsers(Database& db) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT user_id FROM ads_memberships UNION "
                                       "SELECT user_id FROM ads_session_matches"));
  return UsersFrom(rows);
}

absl::StatusOr<int64_t> RestrictSources(Database& db, UserId user, int sources) {
  int64_t removed = 0;
  for (std::string_view table : {"ads_memberships", "ads_session_matches"}) {
    RETURN_IF_ERROR(
        db.Execute(absl::StrCat("UPDATE ", std::string(table),
                                " SET source = source & $2 WHERE user_id = $1 AND (source & $2) != source"),
                   {user, sources})
            .status());
    ASSIGN_OR_RETURN(int64_t n, db.Execute(absl::StrCat("DELETE FROM ", std::string(table),
                                                        " WHERE user_id = $1 AND source = 0"),
                                           {user}));
    if (table == "ads_memberships") removed += n;
  }
  return removed;
}

absl::StatusOr<int64_t> CountMembers(Database& db, int64_t audience_id) {
  ASSIGN_OR_RETURN(auto row,
                   db.QueryOne("SELECT COUNT(*) FROM ads_memberships WHERE audience_id = $1", {audience_id}));
  return row.Int(0);
}

absl::StatusOr<std::vector<std::pair<int64_t, int>>> MembershipsOf(Database& db, UserId user) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Query("SELECT audience_id, source FROM ads_memberships WHERE user_id = $1", {user}));
  std::vector<std::pair<int64_t, int>> out;
  for (const Row& r : rows) out.emplace_back(r.Int(0), static_cast<int>(r.Int(1)));
  return out;
}

absl::StatusOr<std::vector<Membership>> AudienceMembersForTesting(Database& db, int64_t audience_id) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT audience_id, user_id, source FROM ads_memberships "
                                       "WHERE audience_id = $1 ORDER BY user_id",
                                       {audience_id}));
  std::vector<Membership> out;
  for (const Row& r : rows)
    out.push_back({r.Int(0), static_cast<UserId>(r.Int(1)), static_cast<int>(r.Int(2))});
  return out;
}

}  // namespace tandem::ads::db
