// The feed's wire format (docs/feed.md): the events the messenger operator
// shares with the social operator, and the page that carries them.
//
// Parsing is strict: an event of an unknown type, a missing or mistyped
// field, or a sequence number that does not increase is an error, never
// skipped. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "social/types.h"

namespace tandem::social {

enum class FeedEventType { kAccountLinked, kUsageSummary, kObjectionChanged, kAccountDeleted };
std::string_view FeedEventTypeName(FeedEventType t);

struct FeedEvent {
  int64_t seq = 0;
  FeedEventType type = FeedEventType::kAccountLinked;
  std::string account_id;
  int64_t at = 0;  // unix seconds
  // account_linked
  std::string phone;  // E.164
  // usage_summary
  std::string day;  // YYYY-MM-DD
  int active_days_28 = 0;
  std::string last_active_day;  // YYYY-MM-DD
  // objection_changed
  Purpose purpose = Purpose::kAds;
  bool objected = false;

  bool operator==(const FeedEvent&) const = default;
};

// Parses one event object. InvalidArgument naming the field on error;
// an unknown type is InvalidArgument "unknown event type '...'".
absl::StatusOr<FeedEvent> ParseFeedEvent(const nlohmann::json& j);
nlohmann::json FeedEventToJson(const FeedEvent& e);

struct FeedPage {
  // The valid events, in order; if `error` is set they are the prefix
  // before the first bad event.
  std::vector<FeedEvent> events;
  int64_t next = 0;
  bool has_more = false;
  absl::Status error;  // the first bad event's problem (with its seq)
};

// Parses a 200 response body of GET /v1/feed/events?after=`after`. A body
// that is not a page at all is an error; a bad event ends the page early
// with FeedPage::error set. Sequence numbers must be > after and strictly
// increasing.
absl::StatusOr<FeedPage> ParseFeedPage(std::string_view body, int64_t after);

}  // namespace tandem::social
