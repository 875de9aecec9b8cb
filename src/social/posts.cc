// Posts: one table, read with the friendships table.
#include "social/posts.h"

#include <array>
#include <optional>

#include "common/text.h"

namespace tandem::social {
namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE posts (
  id INTEGER PRIMARY KEY,
  author_id INTEGER NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX posts_author ON posts(author_id, id);
)sql";

const std::array<store::Migration, 1> kMigrations = {{{1, "posts", kSchemaV1}}};

// The posts table's statements (it is read with social's accounts and
// friendships, so it lives in social.db).
absl::StatusOr<std::optional<std::string>> DisplayNameOf(store::Database& db, UserId id) {
  ASSIGN_OR_RETURN(auto rows, db.Query("SELECT display_name FROM accounts WHERE id = $1", {id}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows[0].Text(0));
}

absl::StatusOr<int64_t> InsertPost(store::Database& db, UserId author, const std::string& text,
                                   absl::Time at) {
  ASSIGN_OR_RETURN(auto row,
                   db.QueryOne("INSERT INTO posts (author_id, text, created_at) VALUES ($1, $2, $3) "
                               "RETURNING id",
                               {author, text, absl::ToUnixSeconds(at)}));
  return row.Int(0);
}

// The newest `limit` posts by `user` and their friends, below id `before`
// (0: from the newest).
absl::StatusOr<std::vector<Post>> TimelineOf(store::Database& db, UserId user, int limit, int64_t before) {
  ASSIGN_OR_RETURN(
      auto rows,
      db.Query("SELECT p.id, p.author_id, a.display_name, p.text, p.created_at FROM posts p "
               "JOIN accounts a ON a.id = p.author_id "
               "WHERE (p.author_id = $1 OR p.author_id IN (SELECT b FROM friendships WHERE a = $1) "
               "OR p.author_id IN (SELECT a FROM friendships WHERE b = $1)) "
               "AND ($3 = 0 OR p.id < $3) ORDER BY p.id DESC LIMIT $2",
               {user, limit, before}));
  std::vector<Post> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    out.push_back({r.Int(0), static_cast<UserId>(r.Int(1)), r.Text(2), r.Text(3), r.Int(4)});
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Posts>> Posts::Create(SocialDb& db, const Clock& clock) {
  RETURN_IF_ERROR(db.MigrateUnindexed(kMigrations, "posts"));
  return std::unique_ptr<Posts>(new Posts(db, clock));
}

absl::StatusOr<Post> Posts::Create(UserId author, std::string_view text) {
  RETURN_IF_ERROR(ValidateText("text", text, TextRules{1, 5000, true}));
  Post p;
  p.author = author;
  p.text = std::string(text);
  const absl::Time now = clock_.Now();
  p.created_at = absl::ToUnixSeconds(now);
  RETURN_IF_ERROR(db_.WriteUnindexed([&](store::Database& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> name, DisplayNameOf(tx, author));
    if (!name) return absl::NotFoundError("no such user");
    p.author_name = *std::move(name);
    ASSIGN_OR_RETURN(p.id, InsertPost(tx, author, p.text, now));
    return absl::OkStatus();
  }));
  return p;
}

absl::StatusOr<std::vector<Post>> Posts::Timeline(UserId user, int limit, int64_t before) {
  if (limit < 1 || limit > 100) return absl::InvalidArgumentError("limit must be 1 to 100");
  return db_.Read([&](store::Database& d) { return TimelineOf(d, user, limit, before); });
}

}  // namespace tandem::social
