// Fuzz target for sender keys: the input is parsed as a distribution
// message and as a group message, processed into a record and decrypted
// against a live one. Every failure must leave the record as it was.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "common/random.h"
#include "crypto/sender_keys.h"

namespace {

struct Group {
  tandem::SeededRandom random{20261201};
  tandem::crypto::SenderKeyRecord sender;
  tandem::crypto::SenderKeyRecord member;
  Group() {
    tandem::crypto::DistributionId id{};
    id[0] = 0xD1;
    auto skdm = tandem::crypto::CreateSenderKeyDistributionMessage(sender, id, random);
    (void)tandem::crypto::ProcessSenderKeyDistributionMessage(member, *skdm);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* group = new Group();
  std::span<const uint8_t> input(data, size);
  (void)tandem::crypto::InspectSenderKeyDistributionMessage(input);
  (void)tandem::crypto::InspectSenderKeyMessage(input);

  tandem::crypto::SenderKeyRecord fresh;
  if (!tandem::crypto::ProcessSenderKeyDistributionMessage(fresh, input).ok() && !fresh.empty()) std::abort();

  tandem::crypto::SenderKeyRecord member = group->member;
  auto got = tandem::crypto::GroupDecrypt(member, input);
  if (!got.ok() && !(member == group->member)) std::abort();

  auto parsed = tandem::crypto::SenderKeyRecord::Deserialize(input);
  if (parsed.ok()) {
    auto again = tandem::crypto::SenderKeyRecord::Deserialize(parsed->Serialize());
    if (!again.ok() || !(*again == *parsed)) std::abort();  // a record must survive its own round trip
  }
  return 0;
}
