// The social operator's database (its own SQLite file, social.db) together
// with the in-memory fact index that mirrors it.
//
// Every change goes through Write(): the SQL runs in one transaction and, if
// it commits, the matching index update runs before the next writer starts,
// so the index always reflects a prefix of the committed history. At open,
// migrations run and the index is rebuilt from the tables.
//
// Tables and provenance (see docs/social-api.md):
//   social:    accounts, sessions, verification_codes, friend_requests,
//              friendships, blocks, dismissals, address_book,
//              address_book_budget
//   messenger: messenger_accounts, messenger_usage, messenger_objections
//   feed:      feed_cursor (the consumer's position, same DB)
//
// Thread safety: all methods are thread-safe; writers are serialized.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/status.h"
#include "social/fact_index.h"
#include "social/purpose_view.h"
#include "store/store.h"

namespace tandem::social {

class SocialDb {
 public:
  // Takes an open database, migrates it and loads the index.
  static absl::StatusOr<std::unique_ptr<SocialDb>> Open(std::unique_ptr<store::Database> db);
  // Opens (creating) a SQLite file; ":memory:" for tests.
  static absl::StatusOr<std::unique_ptr<SocialDb>> OpenSqlite(const std::string& path);

  // Runs `txn` in a transaction; after a commit, runs `apply` on the index
  // (may be null). Writers are serialized.
  absl::Status Write(const std::function<absl::Status(store::Database&)>& txn,
                     const std::function<void(FactIndex&)>& apply);

  // For reads that need no consistency with the index (profiles, lists).
  store::Database& db() { return *db_; }
  const FactIndex& index() const { return index_; }
  // Index access for bulk loading in benchmarks.
  FactIndex& mutable_index() { return index_; }

  // A purpose-scoped view of the facts (see purpose_view.h).
  PurposeView View(Purpose purpose) const { return PurposeView(index_, purpose); }

  // Derived data (e.g. ads audience memberships) learns of changes here:
  // `fn` runs after every committed Write, once the index reflects it, on
  // the writer's thread while writers are still serialized. It must be
  // quick and must not call Write (signal a worker instead). Add listeners
  // before the first Write.
  void AddCommitListener(std::function<void()> fn) { commit_listeners_.push_back(std::move(fn)); }

 private:
  explicit SocialDb(std::unique_ptr<store::Database> db) : db_(std::move(db)) {}
  absl::Status LoadIndex();

  std::unique_ptr<store::Database> db_;
  FactIndex index_;
  std::mutex write_mu_;
  std::vector<std::function<void()>> commit_listeners_;
};

}  // namespace tandem::social
