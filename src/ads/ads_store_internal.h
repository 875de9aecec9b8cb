// Inside the ads store only (ads_store*.cc): the stored text of the ads
// states and the time units of the rows, defined once for its files.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ads/ads_types.h"
#include "common/status.h"
#include "store/store.h"

namespace tandem::ads::db::internal {

// Rows keep unix seconds, and UTC days as unix seconds / 86400.
inline int64_t Seconds(absl::Time t) { return absl::ToUnixSeconds(t); }
inline int64_t Day(absl::Time t) { return absl::ToUnixSeconds(t) / 86400; }

// The stored text of the states: the same words as the API's today, but
// kept here so that renaming either never rewrites the other.
inline constexpr std::array<std::pair<SessionKind, std::string_view>, 3> kKinds = {{
    {SessionKind::kAdd, "add"},
    {SessionKind::kRemove, "remove"},
    {SessionKind::kReplace, "replace"},
}};
inline constexpr std::array<std::pair<SessionState, std::string_view>, 4> kStates = {{
    {SessionState::kReceiving, "receiving"},
    {SessionState::kMatching, "matching"},
    {SessionState::kApplied, "applied"},
    {SessionState::kInterrupted, "interrupted"},
}};
inline constexpr std::array<std::pair<CampaignStatus, std::string_view>, 4> kStatuses = {{
    {CampaignStatus::kActive, "active"},
    {CampaignStatus::kPaused, "paused"},
    {CampaignStatus::kCompleted, "completed"},
    {CampaignStatus::kDeleted, "deleted"},
}};
inline constexpr std::array<std::pair<BudgetKind, std::string_view>, 2> kBudgets = {{
    {BudgetKind::kAudiences, "audiences"},
    {BudgetKind::kSizes, "sizes"},
}};

template <typename E, size_t N>
inline std::string Stored(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [e, text] : table) {
    if (e == value) return std::string(text);
  }
  return std::string(table[0].second);
}

template <typename E, size_t N>
inline absl::StatusOr<E> Parse(const std::array<std::pair<E, std::string_view>, N>& table,
                               const std::string& text) {
  for (const auto& [e, t] : table) {
    if (t == text) return e;
  }
  return absl::DataLossError(absl::StrCat("unknown stored state '", text.substr(0, 40), "'"));
}

}  // namespace tandem::ads::db::internal

namespace tandem::ads::db {
// The store's files name these unqualified.
using internal::Day;
using internal::kBudgets;
using internal::kKinds;
using internal::kStates;
using internal::kStatuses;
using internal::Parse;
using internal::Seconds;
using internal::Stored;
using store::Row;
using store::Value;
}  // namespace tandem::ads::db
