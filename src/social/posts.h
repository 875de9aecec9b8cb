// Posts on the social network: a person writes short text posts; their
// timeline shows their own and their friends' posts, newest first. Posts are
// the social users' own data (provenance social).
//
// Tables live in social.db under the migration component "posts".
// Thread safety: all methods are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "social/social_db.h"

namespace tandem::social {

struct Post {
  int64_t id = 0;
  UserId author = kNoUser;
  std::string author_name;
  std::string text;
  int64_t created_at = 0;  // unix seconds
};

class Posts {
 public:
  static absl::StatusOr<std::unique_ptr<Posts>> Create(SocialDb& db, const Clock& clock);

  // InvalidArgument unless text has 1..5000 bytes and passes ValidateText
  // (common/text.h) as multi-line text: line breaks (LF) and tabs are
  // kept, other control characters are refused.
  absl::StatusOr<Post> Create(UserId author, std::string_view text);
  // Own and friends' posts, newest first; `before` (a post id, 0: none)
  // pages backwards. limit 1..100.
  absl::StatusOr<std::vector<Post>> Timeline(UserId user, int limit, int64_t before = 0);

 private:
  Posts(SocialDb& db, const Clock& clock) : db_(db), clock_(clock) {}
  SocialDb& db_;
  const Clock& clock_;
};

}  // namespace tandem::social
