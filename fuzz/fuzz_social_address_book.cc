// Address books arrive as JSON upload bodies (PUT /v1/social/address-book)
// and as contact files the CLI reads. Neither parser may crash, and every
// accepted row must either normalize or be rejected with a reason.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "social/address_book.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto file = tandem::social::ParseContactFile(text, size % 2 == 0, size % 3, size % 5 == 0 ? "phone" : "");
  if (file.ok()) {
    for (const auto& n : file->numbers) {
      if (n.line == 0) std::abort();
    }
  }
  auto upload = tandem::social::ParseAddressBookUpload(text);
  if (!upload.ok()) return 0;
  if (upload->entries.size() > tandem::social::kMaxAddressBookEntries) std::abort();
  if (upload->entries.size() > 64) return 0;  // keep normalization cheap per input
  auto book = tandem::social::NormalizeAddressBook(*upload);
  // Every row is stored or rejected (stored rows may collapse as duplicates).
  if (book.rejected.size() > upload->entries.size()) std::abort();
  if (book.phones.size() + book.rejected.size() > upload->entries.size()) std::abort();
  if (book.rejected.size() < upload->entries.size() && book.phones.empty()) std::abort();
  for (const auto& r : book.rejected) {
    if (r.index >= upload->entries.size() || r.reason.empty()) std::abort();
  }
  for (auto p : book.phones) {
    if (tandem::social::PhoneKeyFromE164(tandem::social::E164FromPhoneKey(p)) != p) std::abort();
  }
  return 0;
}
