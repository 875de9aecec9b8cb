// Strict parsing of feed pages and events.
#include "social/feed_event.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "phone/phone.h"

namespace tandem::social {
namespace {

using nlohmann::json;

absl::Status Bad(int64_t seq, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("feed event ", seq, ": ", std::string(what)));
}

bool GetString(const json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool GetInt(const json& j, const char* key, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  *out = it->get<int64_t>();
  return true;
}

}  // namespace

std::string_view FeedEventTypeName(FeedEventType t) {
  switch (t) {
    case FeedEventType::kAccountLinked:
      return "account_linked";
    case FeedEventType::kUsageSummary:
      return "usage_summary";
    case FeedEventType::kObjectionChanged:
      return "objection_changed";
    case FeedEventType::kAccountDeleted:
      return "account_deleted";
  }
  return "unknown";
}

absl::StatusOr<FeedEvent> ParseFeedEvent(const json& j) {
  FeedEvent e;
  if (!j.is_object()) return absl::InvalidArgumentError("feed event is not an object");
  if (!GetInt(j, "seq", &e.seq) || e.seq < 1)
    return absl::InvalidArgumentError("feed event without a valid seq");
  std::string type;
  if (!GetString(j, "type", &type)) return Bad(e.seq, "missing type");
  if (type == "account_linked") {
    e.type = FeedEventType::kAccountLinked;
  } else if (type == "usage_summary") {
    e.type = FeedEventType::kUsageSummary;
  } else if (type == "objection_changed") {
    e.type = FeedEventType::kObjectionChanged;
  } else if (type == "account_deleted") {
    e.type = FeedEventType::kAccountDeleted;
  } else {
    return Bad(e.seq, absl::StrCat("unknown event type '", type.substr(0, 64), "'"));
  }
  if (!GetString(j, "account_id", &e.account_id) || e.account_id.empty() || e.account_id.size() > 128) {
    return Bad(e.seq, "account_id must be a non-empty string of at most 128 bytes");
  }
  if (!GetInt(j, "at", &e.at) || e.at < 0) return Bad(e.seq, "at must be unix seconds");
  switch (e.type) {
    case FeedEventType::kAccountLinked:
      if (!GetString(j, "phone", &e.phone) || !phone::LooksLikeE164(e.phone) ||
          PhoneKeyFromE164(e.phone) == 0) {
        return Bad(e.seq, "account_linked needs phone in E.164 form");
      }
      break;
    case FeedEventType::kUsageSummary: {
      int64_t active = -1;
      if (!GetString(j, "day", &e.day) || !ParseDay(e.day).ok()) return Bad(e.seq, "day must be YYYY-MM-DD");
      if (!GetInt(j, "active_days_28", &active) || active < 0 || active > 28) {
        return Bad(e.seq, "active_days_28 must be an integer 0..28");
      }
      e.active_days_28 = static_cast<int>(active);
      if (!GetString(j, "last_active_day", &e.last_active_day) || !ParseDay(e.last_active_day).ok()) {
        return Bad(e.seq, "last_active_day must be YYYY-MM-DD");
      }
      break;
    }
    case FeedEventType::kObjectionChanged: {
      std::string name;
      absl::StatusOr<Purpose> purpose = absl::InvalidArgumentError("no purpose");
      if (GetString(j, "purpose", &name)) purpose = ParsePurpose(name);
      if (!purpose.ok() || !IsObjectable(*purpose)) {
        return Bad(e.seq, "purpose must be \"ads\" or \"friend_suggestions\"");
      }
      e.purpose = *purpose;
      auto it = j.find("objected");
      if (it == j.end() || !it->is_boolean()) return Bad(e.seq, "objected must be a boolean");
      e.objected = it->get<bool>();
      break;
    }
    case FeedEventType::kAccountDeleted:
      break;
  }
  return e;
}

json FeedEventToJson(const FeedEvent& e) {
  json j = {{"seq", e.seq},
            {"type", std::string(FeedEventTypeName(e.type))},
            {"account_id", e.account_id},
            {"at", e.at}};
  switch (e.type) {
    case FeedEventType::kAccountLinked:
      j["phone"] = e.phone;
      break;
    case FeedEventType::kUsageSummary:
      j["day"] = e.day;
      j["active_days_28"] = e.active_days_28;
      j["last_active_day"] = e.last_active_day;
      break;
    case FeedEventType::kObjectionChanged:
      j["purpose"] = std::string(PurposeName(e.purpose));
      j["objected"] = e.objected;
      break;
    case FeedEventType::kAccountDeleted:
      break;
  }
  return j;
}

absl::StatusOr<FeedPage> ParseFeedPage(std::string_view body, int64_t after) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("feed page is not a JSON object");
  auto events = j.find("events");
  if (events == j.end() || !events->is_array())
    return absl::InvalidArgumentError("feed page has no events array");
  FeedPage page;
  if (!GetInt(j, "next", &page.next)) return absl::InvalidArgumentError("feed page has no integer next");
  auto more = j.find("has_more");
  if (more == j.end() || !more->is_boolean())
    return absl::InvalidArgumentError("feed page has no boolean has_more");
  page.has_more = more->get<bool>();
  int64_t last = after;
  for (const json& item : *events) {
    auto event = ParseFeedEvent(item);
    if (!event.ok()) {
      page.error = event.status();
      break;
    }
    if (event->seq <= last) {
      page.error = Bad(event->seq, absl::StrCat("sequence number does not increase (previous ", last, ")"));
      break;
    }
    last = event->seq;
    page.events.push_back(std::move(*event));
  }
  if (page.error.ok() && page.next != last) {
    return absl::InvalidArgumentError(
        absl::StrCat("feed page next=", page.next, " but last event is ", last));
  }
  return page;
}

}  // namespace tandem::social
