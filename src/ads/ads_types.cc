// The API's names of the ads states.
#include "ads/ads_types.h"

#include "absl/strings/str_cat.h"

namespace tandem::ads {

std::string_view SessionKindName(SessionKind kind) {
  switch (kind) {
    case SessionKind::kAdd:
      return "add";
    case SessionKind::kRemove:
      return "remove";
    case SessionKind::kReplace:
      return "replace";
  }
  return "add";
}

std::string_view SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kReceiving:
      return "receiving";
    case SessionState::kMatching:
      return "matching";
    case SessionState::kApplied:
      return "applied";
    case SessionState::kInterrupted:
      return "interrupted";
  }
  return "interrupted";
}

std::string_view AudienceStatusName(AudienceStatus status) {
  switch (status) {
    case AudienceStatus::kEmpty:
      return "empty";
    case AudienceStatus::kUploading:
      return "uploading";
    case AudienceStatus::kMatching:
      return "matching";
    case AudienceStatus::kReady:
      return "ready";
  }
  return "empty";
}

std::string_view CampaignStatusName(CampaignStatus status) {
  switch (status) {
    case CampaignStatus::kActive:
      return "active";
    case CampaignStatus::kPaused:
      return "paused";
    case CampaignStatus::kCompleted:
      return "completed";
    case CampaignStatus::kDeleted:
      return "deleted";
  }
  return "deleted";
}

absl::StatusOr<CampaignStatus> ParseSettableCampaignStatus(std::string_view name) {
  if (name == "active") return CampaignStatus::kActive;
  if (name == "paused") return CampaignStatus::kPaused;
  return absl::InvalidArgumentError("'status' must be active or paused");
}

}  // namespace tandem::ads
