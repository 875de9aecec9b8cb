// The social operator's database (its own SQLite file, social.db) together
// with the in-memory fact index that mirrors it.
//
// Every change goes through Write(): the SQL runs in one transaction and, if
// it commits, the matching index update runs before the next writer starts,
// so the index always reflects a prefix of the committed history. At open,
// migrations run and the index is rebuilt from the tables. The statements
// themselves are social_store.h's; the one read path for facts is View()
// (PurposeView); Read() serves the rest (profiles, lists, sessions).
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
#include <span>
#include <string_view>
#include <utility>
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

  // Runs `read(database, args...)` (a social_store function, usually) for
  // reads that need no consistency with the index: profiles, lists,
  // sessions. Not serialized with writers; the database is thread-safe.
  template <typename Fn, typename... Args>
  auto Read(Fn&& read, Args&&... args) {
    return std::invoke(std::forward<Fn>(read), *db_, std::forward<Args>(args)...);
  }

  // For social's tables that no fact derives from (posts): their
  // component's migrations, and a transaction that touches neither the
  // index nor the commit listeners.
  absl::Status MigrateUnindexed(std::span<const store::Migration> migrations, std::string_view component) {
    return db_->Migrate(migrations, component);
  }
  absl::Status WriteUnindexed(const std::function<absl::Status(store::Database&)>& txn) {
    return db_->InTransaction(txn);
  }

  // Tests inspect and damage the tables directly through this; not for
  // production code.
  store::Database& DatabaseForTesting() { return *db_; }

  // The same database for the ad platform's own tables (ads_*, migration
  // component "ads"), which live in social.db so that audiences and
  // memberships commit with the facts they derive from. Nothing of social's
  // own tables may be read or written through it: those go through Write()
  // and Read() (social_store.h), and the facts through View().
  store::Database& database_for_ads() { return *db_; }

  const FactIndex& index() const { return index_; }
  // For tests and benchmarks that load facts in bulk, bypassing the
  // database; not for production code.
  FactIndex& mutable_index_for_testing() { return index_; }

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
  // Serializes writers; held while the index changes, so that the index
  // follows the order of commits.
  std::mutex write_mu_;
  // Added before the first Write, then only read under write_mu_.
  std::vector<std::function<void()>> commit_listeners_;
};

}  // namespace tandem::social
