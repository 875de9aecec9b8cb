// The purpose-scoped read path over the fact index. Visible() is the only
// place an objection is enforced.
#include "social/purpose_view.h"

#include <algorithm>

namespace tandem::social {

PurposeView::PurposeView(const FactIndex& index, Purpose purpose)
    : index_(index), purpose_(purpose), lock_(index.mu_) {}

bool PurposeView::Visible(const FactIndex::MessengerSlot& slot) const {
  if (!IsObjectable(purpose_)) return true;
  return (slot.objections & (1u << static_cast<int>(purpose_))) == 0;
}

bool PurposeView::Exists(UserId u) const {
  return u < index_.users_.size() && (index_.users_[u].flags & FactIndex::kExists) != 0;
}

PhoneKey PurposeView::OwnPhone(UserId u) const { return Exists(u) ? index_.users_[u].phone : 0; }

bool PurposeView::DiscoverableByPhone(UserId u) const {
  return Exists(u) && (index_.users_[u].flags & FactIndex::kDiscoverable) != 0;
}

std::span<const UserId> PurposeView::Friends(UserId u) const {
  if (u >= index_.friends_.size()) return {};
  return index_.friends_[u];
}

std::span<const PhoneKey> PurposeView::AddressBook(UserId u) const {
  auto it = index_.books_.find(u);
  if (it == index_.books_.end()) return {};
  return it->second;
}

std::span<const UserId> PurposeView::AddressBookOwners(PhoneKey phone) const {
  auto it = index_.book_owners_.find(phone);
  if (it == index_.book_owners_.end()) return {};
  return it->second;
}

bool PurposeView::Blocked(UserId a, UserId b) const {
  auto it = index_.blocks_.find(a);
  if (it == index_.blocks_.end()) return false;
  return std::find(it->second.begin(), it->second.end(), b) != it->second.end();
}

std::span<const UserId> PurposeView::BlockedEitherWay(UserId u) const {
  auto it = index_.blocks_.find(u);
  if (it == index_.blocks_.end()) return {};
  return it->second;
}

std::span<const UserId> PurposeView::Dismissed(UserId u) const {
  auto it = index_.dismissed_.find(u);
  if (it == index_.dismissed_.end()) return {};
  return it->second;
}

PhoneReach PurposeView::UserAtPhone(PhoneKey phone) const {
  PhoneReach reach;
  if (phone == 0) return reach;
  auto user = index_.user_at_phone_.find(phone);
  if (user == index_.user_at_phone_.end()) return reach;
  reach.via_social = (index_.users_[user->second].flags & FactIndex::kDiscoverable) != 0;
  if (auto head = index_.slots_at_phone_.find(phone); head != index_.slots_at_phone_.end()) {
    for (uint32_t s = head->second; s != 0; s = index_.slots_[s - 1].next_at_phone) {
      if (Visible(index_.slots_[s - 1])) {
        reach.via_messenger = true;
        break;
      }
    }
  }
  if (reach.via_social || reach.via_messenger) reach.user = user->second;
  return reach;
}

PhoneReach PurposeView::ReachOf(UserId u) const {
  PhoneKey phone = OwnPhone(u);
  PhoneReach reach = UserAtPhone(phone);
  if (reach.user != u) return PhoneReach{};
  return reach;
}

bool PurposeView::MessengerLinked(UserId u) const { return ReachOf(u).via_messenger; }

std::optional<MessengerUsage> PurposeView::Usage(UserId u) const {
  PhoneKey phone = OwnPhone(u);
  if (phone == 0) return std::nullopt;
  auto head = index_.slots_at_phone_.find(phone);
  if (head == index_.slots_at_phone_.end()) return std::nullopt;
  std::optional<MessengerUsage> best;
  for (uint32_t s = head->second; s != 0; s = index_.slots_[s - 1].next_at_phone) {
    const auto& slot = index_.slots_[s - 1];
    if (!slot.has_usage || !Visible(slot)) continue;
    if (!best || slot.active_days_28 > best->active_days_28 ||
        (slot.active_days_28 == best->active_days_28 && slot.last_active_day > best->last_active_day)) {
      best = MessengerUsage{slot.active_days_28, slot.last_active_day};
    }
  }
  return best;
}

std::vector<Fact> PurposeView::FactsAbout(UserId u) const {
  std::vector<Fact> facts;
  if (!Exists(u)) return facts;
  facts.push_back({"phone", E164FromPhoneKey(OwnPhone(u)), Provenance::kSocial});
  facts.push_back({"discoverable_by_phone", DiscoverableByPhone(u) ? "true" : "false", Provenance::kSocial});
  facts.push_back({"friends", std::to_string(Friends(u).size()), Provenance::kSocial});
  facts.push_back({"address_book_entries", std::to_string(AddressBook(u).size()), Provenance::kSocial});
  if (MessengerLinked(u))
    facts.push_back({"messenger_link", E164FromPhoneKey(OwnPhone(u)), Provenance::kMessenger});
  if (auto usage = Usage(u)) {
    facts.push_back({"messenger_usage",
                     "active_days_28=" + std::to_string(usage->active_days_28) +
                         " last_active_day=" + FormatDay(usage->last_active_day),
                     Provenance::kMessenger});
  }
  return facts;
}

void PurposeView::ForEachReachablePhone(const std::function<void(PhoneKey, const PhoneReach&)>& fn) const {
  for (const auto& [phone, user] : index_.user_at_phone_) {
    PhoneReach reach = UserAtPhone(phone);
    if (reach.found()) fn(phone, reach);
  }
}

}  // namespace tandem::social
