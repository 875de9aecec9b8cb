// Posts: one table, read with the friendships table.
#include "social/posts.h"

#include <array>

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

}  // namespace

absl::StatusOr<std::unique_ptr<Posts>> Posts::Create(SocialDb& db, Clock& clock) {
  RETURN_IF_ERROR(db.db().Migrate(kMigrations, "posts"));
  return std::unique_ptr<Posts>(new Posts(db, clock));
}

absl::StatusOr<Post> Posts::Create(UserId author, std::string_view text) {
  RETURN_IF_ERROR(ValidateText("text", text, TextRules{1, 5000, true}));
  Post p;
  p.author = author;
  p.text = std::string(text);
  p.created_at = absl::ToUnixSeconds(clock_.Now());
  store::Database& db = db_.db();
  RETURN_IF_ERROR(db.InTransaction([&](store::Database& tx) -> absl::Status {
    auto name = tx.QueryOne("SELECT display_name FROM accounts WHERE id = $1", {author});
    if (absl::IsNotFound(name.status())) return absl::NotFoundError("no such user");
    RETURN_IF_ERROR(name.status());
    p.author_name = name->Text(0);
    ASSIGN_OR_RETURN(auto row,
                     tx.QueryOne("INSERT INTO posts (author_id, text, created_at) VALUES ($1, $2, $3) "
                                 "RETURNING id",
                                 {author, p.text, p.created_at}));
    p.id = row.Int(0);
    return absl::OkStatus();
  }));
  return p;
}

absl::StatusOr<std::vector<Post>> Posts::Timeline(UserId user, int limit, int64_t before) {
  if (limit < 1 || limit > 100) return absl::InvalidArgumentError("limit must be 1 to 100");
  ASSIGN_OR_RETURN(
      auto rows,
      db_.db().Query("SELECT p.id, p.author_id, a.display_name, p.text, p.created_at FROM posts p "
                     "JOIN accounts a ON a.id = p.author_id "
                     "WHERE (p.author_id = $1 OR p.author_id IN (SELECT b FROM friendships WHERE a = $1) "
                     "OR p.author_id IN (SELECT a FROM friendships WHERE b = $1)) "
                     "AND ($3 = 0 OR p.id < $3) ORDER BY p.id DESC LIMIT $2",
                     {user, limit, before}));
  std::vector<Post> out;
  for (const auto& r : rows) {
    out.push_back({r.Int(0), static_cast<UserId>(r.Int(1)), r.Text(2), r.Text(3), r.Int(4)});
  }
  return out;
}

}  // namespace tandem::social
